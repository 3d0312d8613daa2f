package convert_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grubFS is the real tree (images/base-standard and base-initrd among it)
// plus std, a small boot: grub image on the qemu-amd64 kernel board.
func grubFS(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := repoFS(t)
	fsys["images/stdrd.yaml"] = &fstest.MapFile{Data: []byte("name: stdrd\nkind: initrd\npackages: [busybox]\narches: [amd64]\n")}
	fsys["images/std.yaml"] = &fstest.MapFile{Data: []byte("name: std\npackages: [busybox]\narches: [amd64]\n" +
		"boot: grub\nkernel: linux@qemu-amd64\ninitrd: stdrd\ncmdline: console=ttyS0 rootfstype=erofs\n")}
	fsys["images/stdrd64.yaml"] = &fstest.MapFile{Data: []byte("name: stdrd64\nkind: initrd\npackages: [busybox]\narches: [arm64]\n")}
	fsys["images/std64.yaml"] = &fstest.MapFile{Data: []byte("name: std64\npackages: [busybox]\narches: [arm64]\n" +
		"boot: grub\nkernel: linux@qemu-arm64\ninitrd: stdrd64\ncmdline: console=ttyAMA0 rootfstype=erofs\n")}
	fsys["images/stdd.yaml"] = &fstest.MapFile{Data: []byte("name: stdd\npackages: [busybox]\narches: [amd64]\n" +
		"boot: grub\nkernel: linux@qemu-amd64\ninitramfs: dracut\ncmdline: console=ttyS0 rootfstype=erofs\n")}
	fsys["images/stdd64.yaml"] = &fstest.MapFile{Data: []byte("name: stdd64\npackages: [busybox]\narches: [arm64]\n" +
		"boot: grub\nkernel: linux@qemu-arm64\ninitramfs: dracut\ncmdline: console=ttyAMA0 rootfstype=erofs\n")}
	return fsys
}

// execStep returns the script and mounts of the exec step called name
// in vs, which must run without network.
func execStep(t *testing.T, vs []vertex, name string) (string, map[string]bool) {
	t.Helper()
	for _, v := range vs {
		if e, ok := v.op.Op.(*pb.Op_Exec); ok && v.name == name {
			mounts := map[string]bool{}
			for _, m := range e.Exec.Mounts {
				mounts[m.Dest] = true
			}
			assert.Equal(t, pb.NetMode_NONE, e.Exec.Network, name)
			return strings.Join(e.Exec.Meta.Args, " "), mounts
		}
	}
	t.Fatalf("no step %q", name)
	return "", nil
}

// TestGrubDiskDracut: initramfs: dracut makes the disk's initramfs with
// the dracut recipe's dracut against the image's own root (with dracut
// merged in for that step), the build machine's dracut-install run
// through musl's loader, and no root= baked in (GRUB names the slot).
// The image's initrd image steps are gone.
func TestGrubDiskDracut(t *testing.T) {
	vs := marshal(t, grubFS(t), "stdd/disk", opts())
	script, mounts := execStep(t, vs, "stdd: dracut")
	assert.Contains(t, script, "dracut build --root '' --tool /sysroot/usr/bin/dracut --sysroot /sysroot --modules /sysroot/usr/lib/modules "+
		"--kver-file /kernel/boot/kernel.release --output /out/initrd.img")
	assert.Contains(t, script, "exec /dracut/usr/lib/libc.so --library-path /dracut/usr/lib /dracut/usr/lib/dracut/dracut-install")
	assert.Contains(t, script, "export DRACUT_INSTALL=/tmp/dracut-install")
	for _, m := range []string{"/kernel", "/sysroot", "/dracut", "/out"} {
		assert.True(t, mounts[m], "mount %s", m)
	}
	n := names(vs)
	for _, want := range []string{"stdd: root with dracut", "dracut: elf gate", "dracut: install"} {
		assert.Contains(t, n, want)
	}
	assert.NotContains(t, n, "stdd: initrd", "no initrd image is packed")
	assert.Equal(t, 1, countNamed(vs, "dracut: compile"), "one dracut build: the image's is the build machine's")
	disk, _ := execStep(t, vs, "stdd: disk")
	assert.Contains(t, disk, "--initrd /initrd/initrd.img ")
}

// TestGrubDiskDracutArm64: an arm64 image's initramfs holds the arm64
// dracut package (merged into its root) and runs the build machine's
// (amd64) dracut-install: two dracut builds, no emulation.
func TestGrubDiskDracutArm64(t *testing.T) {
	vs := marshal(t, grubFS(t), "stdd64/disk", arm64Opts())
	script, _ := execStep(t, vs, "stdd64: dracut")
	assert.Contains(t, script, "--tool /sysroot/usr/bin/dracut --sysroot /sysroot")
	assert.Equal(t, 2, countNamed(vs, "dracut: compile"), "dracut for arm64 (in the initramfs) and for the build machine (dracut-install)")
}

// TestGrubDisk: std/disk runs `hadron disk standard` over the kernel, the
// packed initrd and the root with the kernel's modules, with GRUB's
// platform files and grub-mkimage from the grub package's runtime closure
// (run through musl's loader), on no network and with no secret.
func TestGrubDisk(t *testing.T) {
	vs := marshal(t, grubFS(t), "std/disk", opts())
	var script string
	var mounts []string
	for _, v := range vs {
		e, ok := v.op.Op.(*pb.Op_Exec)
		if !ok {
			continue
		}
		assert.Equal(t, pb.NetMode_NONE, e.Exec.Network, v.name)
		for _, m := range e.Exec.Mounts {
			assert.NotEqual(t, pb.MountType_SECRET, m.MountType, "%s: a standard image signs nothing", v.name)
		}
		if v.name == "std: disk" {
			script = strings.Join(e.Exec.Meta.Args, " ")
			for _, m := range e.Exec.Mounts {
				mounts = append(mounts, m.Dest)
			}
		}
	}
	require.NotEmpty(t, script, "no disk step")
	assert.Contains(t, script, "disk standard --name std --arch amd64 --kernel /kernel/boot/vmlinuz --initrd /initrd/initrd.cpio.gz "+
		"--rootfs-dir /rootfs --fill-slots --cmdline 'console=ttyS0 rootfstype=erofs' --grub-lib /grub/usr/lib/grub "+
		"--grub-mkimage /tmp/grub-mkimage --esp-tree /esp-tree --output /out/std.raw")
	assert.Contains(t, script, "exec /grub-tools/usr/lib/libc.so --library-path /grub-tools/usr/lib /grub-tools/usr/bin/grub-mkimage")
	assert.Contains(t, script, "test -d /grub/usr/lib/grub/i386-pc")
	assert.Subset(t, mounts, []string{"/kernel", "/initrd", "/rootfs", "/grub", "/grub-tools", "/out", "/esp-tree"})
	assert.Equal(t, 1, countNamed(vs, "grub: compile"), "one GRUB build: the image's is the build machine's")
	n := names(vs)
	for _, want := range []string{"std: initrd", "std: root with the kernel's modules", "grub: install", "grub: elf gate", "grub: runtime closure", "linux@qemu-amd64: compile"} {
		assert.Contains(t, n, want)
	}
}

// TestGrubDiskArm64: an arm64 image's disk packs GRUB's arm64-efi files
// (no BIOS) with the grub-mkimage of the build machine's (amd64) grub
// package: two GRUB builds, no emulation.
func TestGrubDiskArm64(t *testing.T) {
	vs := marshal(t, grubFS(t), "std64/disk", arm64Opts())
	script, _ := execStep(t, vs, "std64: disk")
	assert.Contains(t, script, "disk standard --name std64 --arch arm64 ")
	assert.Contains(t, script, "test -d /grub/usr/lib/grub/arm64-efi")
	assert.NotContains(t, script, "i386-pc")
	assert.Equal(t, 2, countNamed(vs, "grub: compile"), "GRUB for arm64 and for the build machine")
}

// countNamed counts the vertices called name.
func countNamed(vs []vertex, name string) int {
	n := 0
	for _, v := range vs {
		if v.name == name {
			n++
		}
	}
	return n
}

// TestGrubErrors: a standard image has a disk and an ESP tree, not a UKI.
func TestGrubErrors(t *testing.T) {
	for target, want := range map[string]string{
		"std/uki": "image std boots with GRUB, which loads no UKI: build std/boot (the ESP's files) or std/disk (images/std.yaml)",
	} {
		t.Run(target, func(t *testing.T) {
			tree, err := project.Load(grubFS(t))
			require.NoError(t, err)
			c, err := convert.New(tree, opts(), roots(t, tree, target)...)
			require.NoError(t, err)
			_, err = c.Target(target)
			assert.ErrorContains(t, err, want)
		})
	}
}

// TestGrubBootIsTheDiskStepsESPTree: std/boot is the disk step's second
// output (the ESP's files), so boot and disk come from one step: planned
// together they hold one disk step, and std/boot alone runs the same one.
func TestGrubBootIsTheDiskStepsESPTree(t *testing.T) {
	tree, err := project.Load(grubFS(t))
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), roots(t, tree, "std/disk")...)
	require.NoError(t, err)
	boot, err := c.Target("std/boot")
	require.NoError(t, err)
	disk, err := c.Target("std/disk")
	require.NoError(t, err)
	ctx := context.Background()
	bootIn, err := boot.Output().ToInput(ctx, &llb.Constraints{})
	require.NoError(t, err)
	diskIn, err := disk.Output().ToInput(ctx, &llb.Constraints{})
	require.NoError(t, err)
	assert.Equal(t, diskIn.Digest, bootIn.Digest, "one step makes both")
	assert.NotEqual(t, diskIn.Index, bootIn.Index, "different mounts of it")

	vs := marshal(t, grubFS(t), "std/boot", opts())
	assert.Equal(t, 1, countNamed(vs, "std: disk"))
}
