package imagedef

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const good = `# syntax=ghcr.io/hadron-linux/frontend:v1
name: base
description: Minimal bootable system
packages: [musl, systemd, busybox]
arches: [amd64, arm64]
boot: trusted
hostname: hadron
kernel: linux
cmdline: console=ttyS0 rdinit=/init
`

func TestLoadGood(t *testing.T) {
	fsys := fstest.MapFS{"images/base.yaml": {Data: []byte(good)}}
	img, err := Load(fsys, "images/base.yaml")
	require.NoError(t, err)
	assert.Equal(t, "base", img.Name)
	assert.Equal(t, 2, img.Line)
	assert.Equal(t, []string{"musl", "systemd", "busybox"}, img.Packages)
	assert.Equal(t, BootTrusted, img.Boot)
	assert.True(t, img.SupportsArch(recipe.ArchARM64))
	assert.Equal(t, 4, img.LineOf("packages[1]"))
	assert.Equal(t, "linux", img.Kernel)
	assert.Equal(t, "console=ttyS0 rdinit=/init", img.Cmdline)
	assert.True(t, img.HasBoot())
	assert.False(t, img.HasDisk(), "no initrd: the root filesystem is the UKI's initramfs")
	assert.Equal(t, recipe.Ref{Recipe: "systemd", Output: "efi"}, img.EFIRef(), "default")

	all, err := LoadAll(fsys)
	require.NoError(t, err)
	require.Len(t, all, 1)
}

func TestLoadRPi(t *testing.T) {
	src := "name: pi\npackages: [busybox]\narches: [arm64]\nboot: rpi\nkernel: linux@rpi4\ninitrd: rd\nfirmware: rpi-firmware\n"
	img, err := Load(fstest.MapFS{"images/pi.yaml": {Data: []byte(src)}}, "images/pi.yaml")
	require.NoError(t, err)
	assert.True(t, img.HasBoot(), "pi/boot: the boot partition tree")
	assert.True(t, img.HasDisk(), "pi/disk: the SD card image")
	assert.False(t, img.HasUKI(), "the Pi firmware boots no UKI")
	assert.Equal(t, "rpi-firmware", img.Firmware)
}

func TestLoadGrub(t *testing.T) {
	src := "name: std\npackages: [busybox]\narches: [amd64]\nboot: grub\nkernel: linux@qemu-amd64\ninitrd: rd\n"
	img, err := Load(fstest.MapFS{"images/std.yaml": {Data: []byte(src)}}, "images/std.yaml")
	require.NoError(t, err)
	assert.True(t, img.HasDisk(), "std/disk: the GRUB disk")
	assert.True(t, img.HasBoot(), "std/boot: the ESP's files, as on the disk")
	assert.False(t, img.HasUKI(), "GRUB boots no UKI")
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key", strings.Replace(good, "hostname:", "hostnme:", 1), []string{"images/base.yaml:7: unknown key `hostnme`; did you mean `hostname`?"}},
		{"wrong type", strings.Replace(good, "packages: [musl, systemd, busybox]", "packages: musl", 1), []string{`images/base.yaml:4: packages: expected a list, got "musl"`}},
		{"duplicate key", good + "boot: grub\n", []string{"images/base.yaml:10: duplicate key `boot` (first set on line 6)"}},
		{"name mismatch", strings.Replace(good, "name: base", "name: desktop", 1), []string{`images/base.yaml:2: name "desktop" does not match the file name base.yaml`}},
		{"no packages", strings.Replace(good, "packages: [musl, systemd, busybox]\n", "", 1), []string{"packages: at least one package is required"}},
		{"duplicate package", strings.Replace(good, "busybox]", "musl]", 1), []string{`images/base.yaml:4: packages: "musl" listed twice`}},
		{"bad arch", strings.Replace(good, "arm64]", "aarch64]", 1), []string{`images/base.yaml:5: unsupported arch "aarch64"`}},
		{"bad boot", strings.Replace(good, "boot: trusted", "boot: trustd", 1), []string{"images/base.yaml:6: unknown boot variant \"trustd\"; did you mean `trusted`?"}},
		{"bad boot no hint", strings.Replace(good, "boot: trusted", "boot: uboot-legacy", 1), []string{"one of trusted, grub, rpi, or leave it out"}},
		{"trusted without kernel", strings.Replace(good, "kernel: linux\n", "", 1), []string{"images/base.yaml:6: boot: trusted needs a kernel"}},
		{"bad kernel name", strings.Replace(good, "kernel: linux", "kernel: Linux/6", 1), []string{`images/base.yaml:8: kernel: invalid recipe name "Linux/6"`}},
		{"kernel typo key", strings.Replace(good, "kernel: linux", "kernle: linux", 1), []string{"images/base.yaml:8: unknown key `kernle`; did you mean `kernel`?"}},
		{"bad initrd name", good + "initrd: Rd\n", []string{`images/base.yaml:10: initrd: invalid image name "Rd"`}},
		{"initrd without trusted boot", strings.Replace(good, "boot: trusted\n", "", 1) + "initrd: rd\n", []string{"images/base.yaml:9: initrd: only a boot: trusted, grub or rpi image is booted through an initrd image"}},
		{"grub without kernel and initrd", strings.Replace(strings.Replace(strings.Replace(good, "boot: trusted", "boot: grub", 1), "kernel: linux\n", "", 1), "[amd64, arm64]", "[amd64]", 1),
			[]string{"images/base.yaml:6: boot: grub needs a kernel", "images/base.yaml:6: boot: grub needs an initramfs that mounts root=PARTLABEL=root-<slot>: initramfs: dracut"}},
		{"unknown initramfs generator", strings.Replace(good, "boot: trusted", "boot: grub", 1) + "initramfs: mkinitcpio\n",
			[]string{`images/base.yaml:10: initramfs: unknown generator "mkinitcpio" (the one there is: dracut)`}},
		{"initramfs on a trusted image", good + "initramfs: dracut\n",
			[]string{"images/base.yaml:10: initramfs: only a boot: grub image has its initramfs generated"}},
		{"initramfs and initrd", strings.Replace(good, "boot: trusted", "boot: grub", 1) + "initrd: rd\ninitramfs: dracut\n",
			[]string{"images/base.yaml:11: initramfs: dracut and initrd: rd both name the initramfs: keep one"}},

		{"rpi without a board kernel", strings.Replace(strings.Replace(good, "boot: trusted", "boot: rpi", 1), "[amd64, arm64]", "[arm64]", 1),
			[]string{"images/base.yaml:8: boot: rpi needs kernel: <recipe>@<board>"}},
		{"rpi for amd64", strings.Replace(strings.Replace(good, "boot: trusted", "boot: rpi", 1), "kernel: linux", "kernel: linux@rpi5", 1),
			[]string{"images/base.yaml:5: boot: rpi images are arm64 only: set arches: [arm64]"}},
		{"firmware without rpi boot", good + "firmware: rpi-firmware\n", []string{"images/base.yaml:10: firmware: only a boot: rpi image carries the Raspberry Pi firmware"}},
		{"bad firmware ref", strings.Replace(strings.Replace(strings.Replace(good, "boot: trusted", "boot: rpi", 1), "kernel: linux", "kernel: linux@rpi4", 1), "[amd64, arm64]", "[arm64]", 1) + "firmware: Fw\n",
			[]string{`images/base.yaml:10: firmware: invalid recipe name "Fw"`}},
		{"own initrd", good + "initrd: base\n", []string{"images/base.yaml:10: initrd: image base cannot be its own initrd"}},
		{"bad efi ref", good + "efi: systemd:EFI\n", []string{`images/base.yaml:10: efi: "systemd:EFI": invalid output name "EFI"`}},
		{"efi without trusted boot", strings.Replace(good, "boot: trusted\n", "", 1) + "efi: systemd:efi\n", []string{"images/base.yaml:9: efi: only a boot: trusted image uses systemd-boot and systemd-stub"}},
		{"kernel wrong type", strings.Replace(good, "kernel: linux", "kernel: [linux]", 1), []string{"images/base.yaml:8: kernel: expected a string"}},
		{"multi-line cmdline", strings.Replace(good, "cmdline: console=ttyS0 rdinit=/init", "cmdline: \"console=ttyS0\\nquiet\"", 1), []string{"images/base.yaml:9: cmdline: must be one line"}},
		{"bad hostname", strings.Replace(good, "hostname: hadron", "hostname: Hadron_1", 1), []string{`invalid hostname "Hadron_1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"images/base.yaml": {Data: []byte(tt.src)}}, "images/base.yaml")
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, lines[i], w)
			}
		})
	}
}

func TestLoadNoBoot(t *testing.T) {
	src := strings.Replace(good, "boot: trusted\n", "", 1)
	img, err := Load(fstest.MapFS{"images/base.yaml": {Data: []byte(src)}}, "images/base.yaml")
	require.NoError(t, err)
	assert.Equal(t, BootNone, img.Boot)
	assert.False(t, img.HasBoot())

	// A kernel without a boot variant is allowed (and unused).
	src = strings.Replace(src, "kernel: linux\n", "", 1)
	img, err = Load(fstest.MapFS{"images/base.yaml": {Data: []byte(src)}}, "images/base.yaml")
	require.NoError(t, err)
	assert.Empty(t, img.Kernel)
}

const sysext = `name: debug-tools
description: debugging tools
kind: sysext
extends: base
packages: [libcap]
arches: [amd64, arm64]
`

func TestLoadSysext(t *testing.T) {
	fsys := fstest.MapFS{"images/debug-tools.yaml": {Data: []byte(sysext)}, "images/base.yaml": {Data: []byte(good)}}
	img, err := Load(fsys, "images/debug-tools.yaml")
	require.NoError(t, err)
	assert.True(t, img.IsSysext())
	assert.Equal(t, "base", img.Extends)
	assert.False(t, img.HasBoot())
	all, err := LoadAll(fsys)
	require.NoError(t, err)
	images := map[string]*Image{}
	for _, i := range all {
		images[i.Name] = i
	}
	assert.Empty(t, img.CheckExtends(images))
}

func TestLoadSysextProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"bad kind", strings.Replace(sysext, "kind: sysext", "kind: sysxt", 1), []string{"images/debug-tools.yaml:3: unknown image kind \"sysxt\"; did you mean `sysext`?"}},
		{"no extends", strings.Replace(sysext, "extends: base\n", "", 1), []string{"images/debug-tools.yaml:3: kind: sysext needs extends: the base image"}},
		{"extends itself", strings.Replace(sysext, "extends: base", "extends: debug-tools", 1), []string{"images/debug-tools.yaml:4: extends: image debug-tools cannot extend itself"}},
		{"bad extends", strings.Replace(sysext, "extends: base", "extends: Base!", 1), []string{`images/debug-tools.yaml:4: extends: invalid image name "Base!"`}},
		{"extends without kind", strings.Replace(sysext, "kind: sysext\n", "", 1), []string{"images/debug-tools.yaml:3: extends: only a system extension (kind: sysext) extends a base image"}},
		{"boot settings", sysext + "boot: trusted\nkernel: linux\nhostname: x\n", []string{
			"images/debug-tools.yaml:7: boot: a system extension boots with its base image",
			"images/debug-tools.yaml:8: kernel: a system extension boots with its base image",
			"images/debug-tools.yaml:9: hostname: a system extension boots with its base image",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"images/debug-tools.yaml": {Data: []byte(tt.src)}}, "images/debug-tools.yaml")
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, lines[i], w)
			}
		})
	}
}

// TestLoadInitrd: kind: initrd is a root filesystem the boot of another
// image starts; it has no boot settings of its own and extends nothing.
func TestLoadInitrd(t *testing.T) {
	src := "name: base-initrd\nkind: initrd\npackages: [systemd]\n"
	img, err := Load(fstest.MapFS{"images/base-initrd.yaml": {Data: []byte(src)}}, "images/base-initrd.yaml")
	require.NoError(t, err)
	assert.True(t, img.IsInitrd())
	assert.False(t, img.IsSysext())
	assert.False(t, img.HasBoot())

	bad := src + "boot: trusted\nkernel: linux@qemu-amd64\nextends: base\n"
	_, err = Load(fstest.MapFS{"images/base-initrd.yaml": {Data: []byte(bad)}}, "images/base-initrd.yaml")
	require.Error(t, err)
	for _, want := range []string{
		"images/base-initrd.yaml:4: boot: an initrd is started by the boot of another image and has no boot of its own",
		"images/base-initrd.yaml:5: kernel: an initrd is started by the boot of another image and has no kernel of its own",
		"images/base-initrd.yaml:6: extends: only a system extension (kind: sysext) extends a base image",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestCheckExtends(t *testing.T) {
	load := func(file, src string) *Image {
		img, err := Load(fstest.MapFS{file: {Data: []byte(src)}}, file)
		require.NoError(t, err)
		return img
	}
	dbg := load("images/debug-tools.yaml", sysext)
	base := load("images/base.yaml", strings.Replace(good, "arches: [amd64, arm64]", "arches: [amd64]", 1))
	other := load("images/other.yaml", strings.Replace(sysext, "name: debug-tools", "name: other", 1))

	errs := dbg.CheckExtends(map[string]*Image{"bsae": base})
	require.Len(t, errs, 1)
	assert.Contains(t, errs.Err().Error(), "images/debug-tools.yaml:4: extends: no image images/base.yaml; did you mean `bsae`?")

	errs = dbg.CheckExtends(map[string]*Image{"base": base})
	require.Len(t, errs, 1)
	assert.Contains(t, errs.Err().Error(), "images/debug-tools.yaml:4: extends: base image base is not built for arm64")

	errs = dbg.CheckExtends(map[string]*Image{"base": other})
	require.Len(t, errs, 1)
	assert.Contains(t, errs.Err().Error(), "extends: base is itself a system extension")
}

func TestCheckInitrd(t *testing.T) {
	rd := &Image{Name: "rd", Kind: KindInitrd, Arches: []recipe.Arch{recipe.ArchAMD64}, File: "images/rd.yaml"}
	img := &Image{Name: "tb", Boot: BootTrusted, Initrd: "rd", File: "images/tb.yaml", Arches: []recipe.Arch{recipe.ArchAMD64}}
	assert.Empty(t, img.CheckInitrd(map[string]*Image{"rd": rd, "tb": img}))
	assert.True(t, img.HasDisk())

	img.Arches = nil // every arch, the initrd amd64 only
	errs := img.CheckInitrd(map[string]*Image{"rd": rd, "tb": img})
	require.Len(t, errs, 1)
	assert.Contains(t, errs.Error(), "initrd: image rd is not built for arm64; limit arches: to the initrd's")

	errs = img.CheckInitrd(map[string]*Image{"r": rd, "tb": img})
	assert.Contains(t, errs.Error(), "initrd: no image images/rd.yaml")
	errs = img.CheckInitrd(map[string]*Image{"rd": {Name: "rd", File: "images/rd.yaml"}})
	assert.Contains(t, errs.Error(), "initrd: image rd is not an initrd (images/rd.yaml has no kind: initrd)")
}
