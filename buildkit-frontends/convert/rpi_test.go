package convert_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/bootchain/rpi"
	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rpiFS is the real tree (kernel boards included) plus an initrd image
// and Pi images: pi5 (Hadron's rpi5 kernel board, no closed firmware),
// pi4 (the rpi4 board, firmware from a fixture package) and pi4nofw.
func rpiFS(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := repoFS(t)
	projecttest.Add(fsys, projecttest.Spec{Name: "pi-firmware", Style: recipe.StyleCustom})
	fsys["images/prd.yaml"] = &fstest.MapFile{Data: []byte("name: prd\nkind: initrd\npackages: [busybox]\narches: [arm64]\n")}
	fsys["images/pi5.yaml"] = &fstest.MapFile{Data: []byte("name: pi5\npackages: [busybox, xz]\narches: [arm64]\n" +
		"boot: rpi\nkernel: linux@rpi5\ninitrd: prd\ncmdline: console=ttyAMA10,115200 rootfstype=erofs ro\n")}
	fsys["images/pi4.yaml"] = &fstest.MapFile{Data: []byte("name: pi4\npackages: [busybox]\narches: [arm64]\n" +
		"boot: rpi\nkernel: linux@rpi4\nfirmware: pi-firmware\ncmdline: console=ttyS0,115200 root=/dev/mmcblk0p2 rootwait\n")}
	fsys["images/pi4nofw.yaml"] = &fstest.MapFile{Data: []byte("name: pi4nofw\npackages: [busybox]\narches: [arm64]\n" +
		"boot: rpi\nkernel: linux@rpi4\ncmdline: console=ttyS0,115200\n")}
	fsys["images/piqemu.yaml"] = &fstest.MapFile{Data: []byte("name: piqemu\npackages: [busybox]\narches: [arm64]\n" +
		"boot: rpi\nkernel: linux@qemu-arm64\ncmdline: console=ttyAMA0\n")}
	return fsys
}

func arm64Opts() convert.Options {
	o := opts()
	o.Arch = recipe.ArchARM64
	return o
}

// fileActions returns the copies of the named file step ("src -> dest")
// and the contents of the files it makes, by path.
func fileActions(t *testing.T, vs []vertex, name string) (copies []string, files map[string]string) {
	t.Helper()
	files = map[string]string{}
	for _, v := range vs {
		f, ok := v.op.Op.(*pb.Op_File)
		if !ok || v.name != name {
			continue
		}
		for _, a := range f.File.Actions {
			if mk := a.GetMkfile(); mk != nil {
				files[mk.Path] = string(mk.Data)
			}
			if cp := a.GetCopy(); cp != nil {
				copies = append(copies, cp.Src+" -> "+cp.Dest)
			}
		}
		return copies, files
	}
	t.Fatalf("no file step %q", name)
	return nil, nil
}

// TestRPi5Boot: the boot partition of a Pi 5 image holds config.txt
// naming the kernel and the initramfs, cmdline.txt with the root
// partition's PARTUUID (derived from the image name and the epoch), the
// kernel board's Image, the packed initrd and the board's device tree,
// and no closed firmware; no step sees a secret.
func TestRPi5Boot(t *testing.T) {
	vs := marshal(t, rpiFS(t), "pi5/boot", arm64Opts())
	copies, files := fileActions(t, vs, "pi5: boot partition")
	assert.ElementsMatch(t, []string{
		"/boot/vmlinuz -> /kernel8.img",
		"/initrd.cpio.gz -> /initramfs.img",
		"/boot/dtbs/broadcom/bcm2712-rpi-5-b.dtb -> /bcm2712-rpi-5-b.dtb",
		"/ -> /", // restamp: every time at the epoch
	}, copies)
	cfg := files["/config.txt"]
	for _, want := range []string{"arm_64bit=1\n", "kernel=kernel8.img\n", "initramfs initramfs.img followkernel\n", "enable_uart=1\n", "[pi5]\n"} {
		assert.Contains(t, cfg, want)
	}
	assert.NotContains(t, cfg, "[pi4]")
	assert.Equal(t, "console=ttyAMA10,115200 rootfstype=erofs ro root=PARTUUID="+rpi.RootPartUUID("pi5", 1700000000)+"\n", files["/cmdline.txt"])
	n := names(vs)
	for _, want := range []string{"pi5: initrd", "pi5: initrd with the kernel's modules", "pi5: kernel modules", "linux@rpi5: compile"} {
		assert.Contains(t, n, want)
	}
	for _, v := range vs {
		if e, ok := v.op.Op.(*pb.Op_Exec); ok {
			assert.Equal(t, pb.NetMode_NONE, e.Exec.Network, v.name)
			for _, m := range e.Exec.Mounts {
				assert.NotEqual(t, pb.MountType_SECRET, m.MountType, "%s: a Pi image signs nothing", v.name)
			}
		}
	}
}

// TestRPiDisk: pi5/disk runs `hadron disk rpi` over the boot partition
// and the root with the kernel's modules.
func TestRPiDisk(t *testing.T) {
	vs := marshal(t, rpiFS(t), "pi5/disk", arm64Opts())
	var script string
	for _, v := range vs {
		if e, ok := v.op.Op.(*pb.Op_Exec); ok && v.name == "pi5: disk" {
			script = strings.Join(e.Exec.Meta.Args, " ")
		}
	}
	assert.Contains(t, script, "disk rpi --name pi5 --board pi5 --boot /boot --root /rootfs --output /out/pi5.raw")
	assert.Contains(t, names(vs), "pi5: root with the kernel's modules")
}

// TestRPi4Firmware: a Pi 4 image copies its firmware package's
// boot/firmware files to the partition root, and keeps a root= it names.
func TestRPi4Firmware(t *testing.T) {
	vs := marshal(t, rpiFS(t), "pi4/boot", arm64Opts())
	copies, files := fileActions(t, vs, "pi4: boot partition")
	assert.ElementsMatch(t, []string{
		"/boot/vmlinuz -> /kernel8.img",
		"/boot/dtbs/broadcom/bcm2711-rpi-4-b.dtb -> /bcm2711-rpi-4-b.dtb",
		"/boot/firmware/* -> /", // the firmware files to the root
		"/ -> /",
	}, copies, "no initramfs: the image has no initrd:")
	assert.Equal(t, "console=ttyS0,115200 root=/dev/mmcblk0p2 rootwait\n", files["/cmdline.txt"])
	assert.Contains(t, files["/config.txt"], "[pi4]\n")
	assert.NotContains(t, files["/config.txt"], "initramfs")
}

func TestRPiErrors(t *testing.T) {
	tests := []struct {
		target string
		arch   recipe.Arch
		want   string
	}{
		{"pi4nofw/boot", recipe.ArchARM64, "image pi4nofw: board pi4 needs the Raspberry Pi firmware files start4.elf, fixup4.dat on its boot partition: name the package that holds them in boot/firmware with firmware: (images/pi4nofw.yaml)"},
		{"piqemu/disk", recipe.ArchARM64, "image piqemu: kernel linux@qemu-arm64: board qemu-arm64 ships no Raspberry Pi device tree (bcm2711-rpi-4-b.dtb, bcm2712-rpi-5-b.dtb) (images/piqemu.yaml:5)"},
		{"pi5/uki", recipe.ArchARM64, "image pi5 boots with the Raspberry Pi firmware, which loads no UKI: build pi5/boot (the boot partition) or pi5/disk"},
		{"pi5/disk", recipe.ArchAMD64, "image pi5 is not built for amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tree, err := project.Load(rpiFS(t))
			require.NoError(t, err)
			o := opts()
			o.Arch = tt.arch
			c, err := convert.New(tree, o, roots(t, tree, tt.target)...)
			require.NoError(t, err)
			_, err = c.Target(tt.target)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

// TestBoardKernelModules: a trusted disk on a kernel board carries that
// kernel's modules in its root and in its initrd (a defconfig board builds
// its storage drivers as modules); a plain kernel recipe's package is
// taken as it is.
func TestBoardKernelModules(t *testing.T) {
	n := names(marshal(t, repoFS(t), "base-trusted/disk", opts()))
	assert.Contains(t, n, "base-trusted: root with the kernel's modules")
	assert.Contains(t, n, "base-trusted: initrd with the kernel's modules")
	plain := names(marshal(t, diskFS(t), "tdisk/disk", opts()))
	assert.NotContains(t, plain, "tdisk: kernel modules")
}
