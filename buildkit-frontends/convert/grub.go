package convert

import (
	"fmt"
	"path"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/moby/buildkit/client/llb"
)

// Paths inside the disk step of a boot: grub image.
const (
	// grubMount is where the grub package's runtime closure (GRUB and
	// musl) is mounted.
	grubMount = "/grub"
	// grubMkimageWrapper runs the closure's grub-mkimage, a musl program,
	// through musl's dynamic loader: the step runs on stage 0, whose
	// /lib holds glibc's loader, not musl's.
	grubMkimageWrapper = "/tmp/grub-mkimage"
)

// grubDisk is the disk image of a boot: grub image: hadron's `disk
// standard` on stage 0 with network disabled packs GRUB's EFI image and
// BIOS core image from the grub package's platform files, writes grub.cfg
// and grubenv for slots a and b, and puts the kernel, the initrd (the
// image's initrd image with the kernel's modules, packed) and the root
// file system (the image with the kernel's modules, as erofs) into both
// slots. The kernel boots with root=PARTLABEL=root-<slot> ro and the
// image's command line.
func (c *Converter) grubDisk(img *imagedef.Image) (llb.State, error) {
	root, kernel, err := c.bootRoot(img)
	if err != nil {
		return llb.State{}, err
	}
	tree, err := c.initrdTree(img, kernel)
	if err != nil {
		return llb.State{}, err
	}
	initrd := c.packInitrd(img, tree)
	grub, err := c.runtimeClosure(imagedef.GrubRecipe)
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: grub: %w", img.Name, err)
	}
	gates, err := c.gatesOf([]string{imagedef.GrubRecipe})
	if err != nil {
		return llb.State{}, fmt.Errorf("image %s: grub: %w", img.Name, err)
	}
	if len(gates) > 0 {
		grub = grub.File(requireGates(nil, gates), llb.WithCustomNamef("%s: gated", imagedef.GrubRecipe))
	}
	lib := path.Join(grubMount, "usr/lib/grub")
	check := fmt.Sprintf("test -f /kernel/%[1]s || { echo 'kernel recipe %[2]s has no %[1]s in its package' >&2; exit 1; }\n",
		KernelImage, img.Kernel) +
		fmt.Sprintf("for p in %s/x86_64-efi %s/i386-pc; do test -d \"$p\" || { echo \"package %s has no $p\" >&2; exit 1; }; done\n",
			lib, lib, imagedef.GrubRecipe) +
		fmt.Sprintf("printf '#!/bin/sh\\nexec %[1]s/usr/lib/libc.so --library-path %[1]s/usr/lib %[1]s/usr/bin/grub-mkimage \"$@\"\\n' > %[2]s\n"+
			"chmod 0755 %[2]s\n", grubMount, grubMkimageWrapper)
	run := c.toolRun(img.Name+": disk", check,
		toolcmd.StandardDisk{
			Name: img.Name, Kernel: "/kernel/" + KernelImage, Initrd: "/initrd/initrd.cpio.gz",
			RootfsDir: "/rootfs", Cmdline: img.Cmdline, FillSlots: true,
			GrubLib: lib, GrubMkimage: grubMkimageWrapper, Out: "/out/" + img.Name + ".raw",
		},
		llb.AddMount("/kernel", kernel, llb.Readonly),
		llb.AddMount("/initrd", initrd, llb.Readonly),
		llb.AddMount("/rootfs", root, llb.Readonly),
		llb.AddMount(grubMount, grub, llb.Readonly))
	return outMount(run), nil
}
