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
	initrd, initrdFile, err := c.grubInitramfs(img, root, kernel)
	if err != nil {
		return nil, err
	}
	platforms, err := standard.Platforms(c.target.Arch)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	grub, err := c.gatedClosure(imagedef.GrubRecipe)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	// grub-mkimage runs on the build machine: the amd64 package's,
	// packing the image architecture's platform files.
	tools, err := c.buildMachineClosure(imagedef.GrubRecipe)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
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
			Name: img.Name, Arch: string(c.target.Arch), Kernel: "/kernel/" + KernelImage, Initrd: "/initrd/" + initrdFile,
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

// gatedClosure is the runtime closure of package name once its ELF gate
// has passed.
func (c *Converter) gatedClosure(name string) (llb.State, error) {
	st, err := c.runtimeClosure(name)
	if err == nil {
		st, err = c.afterGate(st, name, name)
	}
	if err != nil {
		return llb.State{}, fmt.Errorf("%s: %w", name, err)
	}
	return st, nil
}

// buildMachineClosure is the gated runtime closure of package name built
// for the build machine (amd64), whose programs a step runs on stage 0
// (grub-mkimage, dracut): this converter's own for an amd64 image.
func (c *Converter) buildMachineClosure(name string) (llb.State, error) {
	if c.target.Native() {
		return c.gatedClosure(name)
	}
	native, err := c.buildPlatform()
	if err != nil {
		return llb.State{}, err
	}
	st, err := native.gatedClosure(name)
	if err != nil {
		return llb.State{}, fmt.Errorf("build machine's %w", err)
	}
	return st, nil
}

// buildPlatform returns a converter of the same tree for the build
// machine (amd64), for packages whose programs a step of a foreign-arch
// image runs (grub-mkimage, dracut); its sources count as this
// converter's.
func (c *Converter) buildPlatform() (*Converter, error) {
	if c.native != nil {
		return c.native, nil
	}
	o := c.opts
	o.Arch = recipe.ArchAMD64
	roots := []string{imagedef.GrubRecipe}
	if _, ok := c.tree.Recipes[imagedef.DracutRecipe]; ok {
		roots = append(roots, imagedef.DracutRecipe)
	}
	n, err := New(c.tree, o, roots...)
	if err != nil {
		return nil, fmt.Errorf("build machine (amd64): %w", err)
	}
	c.native = n
	return n, nil
}

// Paths inside the dracut step of an initramfs: dracut image.
const (
	// dracutMount is where the dracut package's runtime closure for the
	// build machine (dracut-install, libkmod, musl) is mounted.
	dracutMount = "/dracut"
	// dracutInstallWrapper runs that closure's dracut-install through
	// musl's loader (DRACUT_INSTALL).
	dracutInstallWrapper = "/tmp/dracut-install"
)

// grubInitramfs is the initramfs of a boot: grub image and its file name
// in that state: dracut's, made from the image's root (initramfs:
// dracut), or the image's initrd image packed as a cpio.
func (c *Converter) grubInitramfs(img *imagedef.Image, root, kernel llb.State) (llb.State, string, error) {
	if img.Initramfs != imagedef.InitramfsDracut {
		tree, err := c.initrdTree(img, kernel)
		if err != nil {
			return llb.State{}, "", err
		}
		return c.packInitrd(img, tree), "initrd.cpio.gz", nil
	}
	// dracut runs against the image's root with the image
	// architecture's dracut package merged in (for this step only): its
	// scripts and modules.d are dracut's default dracutbasedir there, and
	// the programs it puts into the initramfs (dracut-util) are the
	// image's architecture. dracut-install is the one program dracut runs
	// itself: the build machine's, a musl program on a glibc stage 0, so
	// it runs through musl's loader with the closure's libraries (libkmod).
	pkg, err := c.gatedClosure(imagedef.DracutRecipe)
	if err != nil {
		return llb.State{}, "", fmt.Errorf("image %s: initramfs: %w", img.Name, err)
	}
	tools, err := c.buildMachineClosure(imagedef.DracutRecipe)
	if err != nil {
		return llb.State{}, "", fmt.Errorf("image %s: initramfs: %w", img.Name, err)
	}
	sysroot := llb.Merge([]llb.State{root, pkg}, llb.WithCustomNamef("%s: root with dracut", img.Name))
	setup := needKernel(img) + fmt.Sprintf(
		"test -x /sysroot/usr/bin/dracut || { echo 'package %[2]s has no usr/bin/dracut' >&2; exit 1; }\n"+
			"printf '#!/bin/sh\\nexec %[1]s/usr/lib/libc.so --library-path %[1]s/usr/lib %[1]s/usr/lib/dracut/dracut-install \"$@\"\\n' >%[3]s\n"+
			"chmod 0755 %[3]s\n"+
			"export DRACUT_INSTALL=%[3]s\n", dracutMount, imagedef.DracutRecipe, dracutInstallWrapper)
	run := c.toolRun(img.Name+": dracut", setup,
		toolcmd.DracutBuild{Tool: "/sysroot/usr/bin/dracut", SysRoot: "/sysroot", Modules: "/sysroot/usr/lib/modules",
			KverFile: "/kernel/boot/kernel.release", Out: "/out/initrd.img"},
		llb.AddMount("/kernel", kernel, llb.Readonly),
		llb.AddMount("/sysroot", sysroot, llb.Readonly),
		llb.AddMount(dracutMount, tools, llb.Readonly))
	return outMount(run), "initrd.img", nil
}
