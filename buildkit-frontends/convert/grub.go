package convert

import (
	"fmt"
	"path"

	"github.com/hadron-linux/hadron/bootchain/disk/standard"
	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
)

// Paths inside the disk step of a boot: grub image.
const (
	// grubMount is where the grub package's runtime closure (GRUB and
	// musl) for the image's architecture is mounted: its platform files.
	grubMount = "/grub"
	// grubToolsMount holds the grub package's runtime closure for the
	// build machine (amd64), whose grub-mkimage the step runs; for an
	// amd64 image it is the same closure.
	grubToolsMount = "/grub-tools"
	// grubMkimageWrapper runs the closure's grub-mkimage, a musl program,
	// through musl's dynamic loader: the step runs on stage 0, whose
	// /lib holds glibc's loader, not musl's.
	grubMkimageWrapper = "/tmp/grub-mkimage"
	// espTreeDir is the disk step's second output: a copy of the ESP's
	// files, the `<image>/boot` target of a boot: grub image.
	espTreeDir = "/esp-tree"
)

// grubBuild is what the disk step of a boot: grub image makes: the disk
// (its /out) and the ESP's files as a tree (its espTreeDir), one step for
// both so the tree is the disk's ESP byte for byte.
type grubBuild struct {
	disk, esp llb.State
}

// grubDisk is the disk image of a boot: grub image: hadron's `disk
// standard` on stage 0 with network disabled packs GRUB's EFI image and
// BIOS core image from the grub package's platform files, writes grub.cfg
// and grubenv for slots a and b, and puts the kernel, the initrd (the
// image's initrd image with the kernel's modules, packed) and the root
// file system (the image with the kernel's modules, as erofs) into both
// slots. The kernel boots with root=PARTLABEL=root-<slot> ro and the
// image's command line. The step also copies the ESP's files out as a
// tree (see grubBuild); both are memoised per image.
func (c *Converter) grubDisk(img *imagedef.Image) (*grubBuild, error) {
	if b, ok := c.grubBuilds[img.Name]; ok {
		return b, nil
	}
	b, err := c.buildGrubDisk(img)
	if err != nil {
		return nil, err
	}
	c.grubBuilds[img.Name] = b
	return b, nil
}

func (c *Converter) buildGrubDisk(img *imagedef.Image) (*grubBuild, error) {
	root, kernel, err := c.bootRoot(img)
	if err != nil {
		return nil, err
	}
	tree, err := c.initrdTree(img, kernel)
	if err != nil {
		return nil, err
	}
	initrd := c.packInitrd(img, tree)
	platforms, err := standard.Platforms(c.target.Arch)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	grub, err := c.grubClosure()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	tools := grub
	if !c.target.Native() {
		// grub-mkimage runs on the build machine: the amd64 package's,
		// packing the image architecture's platform files.
		native, err := c.buildPlatform()
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Name, err)
		}
		if tools, err = native.grubClosure(); err != nil {
			return nil, fmt.Errorf("image %s: build machine's %w", img.Name, err)
		}
	}
	lib := path.Join(grubMount, "usr/lib/grub")
	check := needKernel(img)
	for _, p := range platforms {
		check += fmt.Sprintf("test -d %[1]s/%[2]s || { echo 'package %[3]s has no usr/lib/grub/%[2]s' >&2; exit 1; }\n",
			lib, p, imagedef.GrubRecipe)
	}
	check += fmt.Sprintf("printf '#!/bin/sh\\nexec %[1]s/usr/lib/libc.so --library-path %[1]s/usr/lib %[1]s/usr/bin/grub-mkimage \"$@\"\\n' > %[2]s\n"+
		"chmod 0755 %[2]s\n", grubToolsMount, grubMkimageWrapper)
	run := c.toolRun(img.Name+": disk", check,
		toolcmd.StandardDisk{
			Name: img.Name, Arch: string(c.target.Arch), Kernel: "/kernel/" + KernelImage, Initrd: "/initrd/initrd.cpio.gz",
			RootfsDir: "/rootfs", Cmdline: img.Cmdline, FillSlots: true,
			GrubLib: lib, GrubMkimage: grubMkimageWrapper, ESPTree: espTreeDir, Out: "/out/" + img.Name + ".raw",
		},
		llb.AddMount("/kernel", kernel, llb.Readonly),
		llb.AddMount("/initrd", initrd, llb.Readonly),
		llb.AddMount("/rootfs", root, llb.Readonly),
		llb.AddMount(grubMount, grub, llb.Readonly),
		llb.AddMount(grubToolsMount, tools, llb.Readonly))
	esp := run.AddMount(espTreeDir, llb.Scratch())
	return &grubBuild{disk: outMount(run), esp: esp}, nil
}

// grubClosure is the runtime closure of the grub package (GRUB and musl)
// once its ELF gate has passed.
func (c *Converter) grubClosure() (llb.State, error) {
	grub, err := c.runtimeClosure(imagedef.GrubRecipe)
	if err == nil {
		grub, err = c.afterGate(grub, imagedef.GrubRecipe, imagedef.GrubRecipe)
	}
	if err != nil {
		return llb.State{}, fmt.Errorf("%s: %w", imagedef.GrubRecipe, err)
	}
	return grub, nil
}

// buildPlatform returns a converter of the same tree for the build
// machine (amd64), for packages whose programs a step of a foreign-arch
// image runs (grub-mkimage); its sources count as this converter's.
func (c *Converter) buildPlatform() (*Converter, error) {
	if c.native != nil {
		return c.native, nil
	}
	o := c.opts
	o.Arch = recipe.ArchAMD64
	n, err := New(c.tree, o, imagedef.GrubRecipe)
	if err != nil {
		return nil, fmt.Errorf("build machine (amd64): %w", err)
	}
	c.native = n
	return n, nil
}
