// Package imagedef reads image definitions, images/<name>.yaml: which
// packages go into a root filesystem, for which architectures, and how it
// boots. The first line may be a BuildKit "# syntax=" directive so that the
// file can be passed to `docker buildx build` directly.
package imagedef

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// Dir is the folder holding image definitions, relative to the tree root.
const Dir = "images"

// Boot variants an image may ask for.
const (
	BootNone    = ""        // root filesystem / OCI image only
	BootTrusted = "trusted" // signed UKI with systemd-boot
	BootGRUB    = "grub"    // GRUB (EFI and BIOS), A/B root slots, an initrd image
	BootRPi     = "rpi"     // the Raspberry Pi firmware: config.txt, kernel, DTB, initramfs
)

// Image kinds.
const (
	// KindRootfs is a root filesystem (the default, left out in YAML).
	KindRootfs = ""
	// KindSysext is a system extension: the image's packages that its
	// base image (Extends) does not hold, as a signed image that
	// systemd-sysext merges over the base's /usr.
	KindSysext = "sysext"
	// KindInitrd is an initrd: a root filesystem that systemd recognises
	// as one (/etc/initrd-release), started by the kernel as /init, which
	// finds the real root file system and switches into it.
	KindInitrd = "initrd"
)

// Kinds lists the valid non-empty kinds.
var Kinds = []string{KindSysext, KindInitrd}

// IsSysext reports whether the image is a system extension.
func (img *Image) IsSysext() bool { return img.Kind == KindSysext }

// IsInitrd reports whether the image is an initrd.
func (img *Image) IsInitrd() bool { return img.Kind == KindInitrd }

// HasBoot reports whether the image asks for boot artifacts that a
// "<image>/boot" target can build: the ESP tree of a trusted or a GRUB
// image, the boot partition tree of a Raspberry Pi image.
func (img *Image) HasBoot() bool {
	return img.Boot == BootTrusted || img.Boot == BootGRUB || img.Boot == BootRPi
}

// HasUKI reports whether the image boots through a UKI that a
// "<image>/uki" target can build.
func (img *Image) HasUKI() bool { return img.Boot == BootTrusted }

// DefaultEFI is the recipe output a trusted image takes systemd-boot and
// systemd-stub from when its definition names none.
const DefaultEFI = "systemd:efi"

// EFIDir is where a package holding systemd-boot and systemd-stub has
// them: systemd-boot<arch>.efi and linux<arch>.efi.stub.
const EFIDir = "usr/lib/systemd/boot/efi"

// FirmwareDir is where a package holding the Raspberry Pi firmware
// (an image's firmware:) has its files; they go to the root of the boot
// partition.
const FirmwareDir = "boot/firmware"

// EFIRef is the recipe output the image takes systemd-boot and
// systemd-stub from.
func (img *Image) EFIRef() recipe.Ref {
	if img.EFI == "" {
		return recipe.ParseRef(DefaultEFI)
	}
	return recipe.ParseRef(img.EFI)
}

// HasDisk reports whether the image asks for a disk image that a
// "<image>/disk" target can build: a trusted image booted through its
// own initrd, a standard (GRUB) image, or a Raspberry Pi image.
func (img *Image) HasDisk() bool {
	return (img.Boot == BootTrusted && img.Initrd != "") || img.Boot == BootGRUB || img.Boot == BootRPi
}

// GrubRecipe is the recipe whose package holds GRUB (its tools and its
// platform files under usr/lib/grub) for boot: grub images.
const GrubRecipe = "grub"

// InitramfsDracut is the initramfs: value of a boot: grub image whose
// initramfs dracut makes from the image's own root at build time.
const InitramfsDracut = "dracut"

// DracutRecipe is the recipe whose package holds dracut (its scripts and
// dracut-install) for images with initramfs: dracut.
const DracutRecipe = "dracut"

// Boots lists the valid non-empty boot variants.
var Boots = []string{BootTrusted, BootGRUB, BootRPi}

// Image is one image definition.
type Image struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Kind is KindRootfs (empty), KindSysext or KindInitrd.
	Kind string `yaml:"kind"`
	// Extends names the base image a KindSysext image extends: its
	// packages stay out of the extension, and its os-release ID and
	// VERSION_ID go into the extension-release file.
	Extends  string        `yaml:"extends"`
	Packages []string      `yaml:"packages"`
	Arches   []recipe.Arch `yaml:"arches"`
	Boot     string        `yaml:"boot"`
	Hostname string        `yaml:"hostname"`
	// Kernel names the kernel: "<recipe>@<board>" for a build of the
	// kernel recipe for one of kernel/boards (e.g. "linux@qemu-amd64"), or
	// a recipe whose package layer holds boot/vmlinuz. Boot variants need it.
	Kernel string `yaml:"kernel"`
	// Cmdline is the kernel command line baked into the boot artifacts.
	Cmdline string `yaml:"cmdline"`
	// Initrd names an image of kind initrd that boots this one. With it,
	// a trusted image's root filesystem goes on a dm-verity protected
	// partition of the image's disk ("<image>/disk"), its root hash on the
	// UKI's command line, and the initrd into the UKI; without it the
	// root filesystem itself is the UKI's initramfs.
	Initrd string `yaml:"initrd"`
	// Initramfs, for a boot: grub image, names the generator that makes
	// the initramfs from the image's own root instead of an initrd image:
	// InitramfsDracut (dracut from DracutRecipe, with --sysroot).
	Initramfs string `yaml:"initramfs"`
	// EFI names the recipe output holding systemd-boot and systemd-stub
	// (EFIDir) for a trusted image; DefaultEFI when left out.
	EFI string `yaml:"efi"`
	// Firmware names the recipe output holding the Raspberry Pi's closed
	// firmware files (FirmwareDir: start4.elf, fixup4.dat) for a boot: rpi
	// image of a board that needs them (the Pi 4; the Pi 5 keeps its
	// firmware in EEPROM).
	Firmware string `yaml:"firmware"`

	// File is the definition's path relative to the tree root. Set by Load.
	File string `yaml:"-"`
	// Line is the line of the "name" key. Set by Load.
	Line int `yaml:"-"`

	lines yamlstrict.Lines
}

// LineOf returns the line of the key at path ("packages[2]", "boot"), or of
// its nearest ancestor, falling back to the image's own line.
func (img *Image) LineOf(key string) int {
	if n := img.lines.Of(key); n > 0 {
		return n
	}
	return img.Line
}

// SupportsArch reports whether the image is built for a. An empty Arches
// list means every architecture.
func (img *Image) SupportsArch(a recipe.Arch) bool {
	return len(img.Arches) == 0 || slices.Contains(img.Arches, a)
}

// hostnameRE is an RFC 1123 host label.
var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Load reads, strictly decodes and checks the image definition at path.
// On problems it returns the image as far as it was read together with an
// errlist.List.
func Load(fsys fs.FS, file string) (*Image, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, errlist.List{{File: file, Msg: fmt.Sprintf("read image definition: %v", err)}}
	}
	img := &Image{}
	lines, err := yamlstrict.Decode(file, data, img)
	img.File, img.lines = file, lines
	img.Line = lines["name"]
	if img.Line == 0 {
		img.Line = 1
	}
	if err != nil {
		return img, err
	}
	return img, img.validate().Sorted().Err()
}

func (img *Image) validate() errlist.List {
	var errs errlist.List
	at := func(key, format string, args ...any) {
		errs.Addf(img.File, img.LineOf(key), format, args...)
	}
	base := strings.TrimSuffix(path.Base(img.File), path.Ext(img.File))
	switch {
	case img.Name == "":
		at("", "name is required (use %q, the file name)", base)
	case !recipe.ValidName(img.Name):
		at("name", "invalid image name %q: use lower case letters, digits and + . _ -", img.Name)
	case img.Name != base:
		at("name", "name %q does not match the file name %s", img.Name, path.Base(img.File))
	}
	if len(img.Packages) == 0 {
		at("", "packages: at least one package is required")
	}
	seen := map[string]bool{}
	for i, p := range img.Packages {
		k := fmt.Sprintf("packages[%d]", i)
		switch {
		case strings.Contains(p, recipe.OutputSep) && recipe.CheckRef(p) == "":
			at(k, "packages: %q: an image lists recipes and holds their main outputs; "+
				"name %s, and bring other outputs in as runtime dependencies of a recipe", p, recipe.RefName(p))
		case !recipe.ValidName(p):
			at(k, "packages: invalid recipe name %q", p)
		case seen[p]:
			at(k, "packages: %q listed twice", p)
		}
		seen[p] = true
	}
	arches := recipe.Strings(recipe.Arches)
	for i, a := range img.Arches {
		if !slices.Contains(recipe.Arches, a) {
			at(fmt.Sprintf("arches[%d]", i), "unsupported arch %q%s", a,
				yamlstrict.DidYouMean(string(a), arches, "; one of "+strings.Join(arches, ", ")))
		}
	}
	if img.Boot != BootNone && !slices.Contains(Boots, img.Boot) {
		at("boot", "unknown boot variant %q%s", img.Boot, yamlstrict.DidYouMean(img.Boot, Boots,
			"; one of "+strings.Join(Boots, ", ")+", or leave it out for a plain root filesystem"))
	}
	kr, kb, withBoard := strings.Cut(img.Kernel, "@")
	switch {
	case img.Kernel != "" && !recipe.ValidName(kr):
		at("kernel", "kernel: invalid recipe name %q (want <recipe>@<board>, e.g. linux@qemu-amd64)", kr)
	case withBoard && !recipe.ValidName(kb):
		at("kernel", "kernel: invalid board name %q (want <recipe>@<board>, e.g. linux@qemu-amd64)", kb)
	case img.Kernel == "" && (img.Boot == BootTrusted || img.Boot == BootGRUB):
		at("boot", "boot: %s needs a kernel: name the recipe whose package holds boot/vmlinuz (kernel: <recipe>)", img.Boot)
	case img.Boot == BootRPi && !withBoard:
		at("kernel", "boot: %s needs kernel: <recipe>@<board>, a board that ships the Pi's device tree (e.g. linux@rpi5)", img.Boot)
	}
	if img.Boot == BootRPi && !slices.Equal(img.Arches, []recipe.Arch{recipe.ArchARM64}) {
		at("arches", "boot: %s images are arm64 only: set arches: [arm64]", img.Boot)
	}
	switch {
	case img.Initramfs != "" && img.Initramfs != InitramfsDracut:
		at("initramfs", "initramfs: unknown generator %q (the one there is: %s)", img.Initramfs, InitramfsDracut)
	case img.Initramfs != "" && img.Boot != BootGRUB:
		at("initramfs", "initramfs: only a boot: %s image has its initramfs generated (trusted and Pi images name an initrd image)", BootGRUB)
	case img.Initramfs != "" && img.Initrd != "":
		at("initramfs", "initramfs: %s and initrd: %s both name the initramfs: keep one", img.Initramfs, img.Initrd)
	case img.Boot == BootGRUB && img.Initrd == "" && img.Initramfs == "":
		at("boot", "boot: %s needs an initramfs that mounts root=PARTLABEL=root-<slot>: initramfs: %s (made from the image's root) or initrd: <image> (e.g. base-initrd)", img.Boot, InitramfsDracut)
	}
	switch {
	case img.Firmware != "" && recipe.CheckRef(img.Firmware) != "":
		at("firmware", "firmware: %s", recipe.CheckRef(img.Firmware))
	case img.Firmware != "" && img.Boot != BootRPi:
		at("firmware", "firmware: only a boot: %s image carries the Raspberry Pi firmware", BootRPi)
	}
	switch {
	case img.Initrd != "" && !recipe.ValidName(img.Initrd):
		at("initrd", "initrd: invalid image name %q", img.Initrd)
	case img.Initrd != "" && img.Boot != BootTrusted && img.Boot != BootGRUB && img.Boot != BootRPi:
		at("initrd", "initrd: only a boot: %s, %s or %s image is booted through an initrd image", BootTrusted, BootGRUB, BootRPi)
	case img.Initrd == img.Name && img.Name != "":
		at("initrd", "initrd: image %s cannot be its own initrd", img.Name)
	}
	switch {
	case img.EFI != "" && recipe.CheckRef(img.EFI) != "":
		at("efi", "efi: %s", recipe.CheckRef(img.EFI))
	case img.EFI != "" && img.Boot != BootTrusted:
		at("efi", "efi: only a boot: %s image uses systemd-boot and systemd-stub", BootTrusted)
	}
	errs = append(errs, img.validateKind()...)
	if strings.ContainsAny(img.Cmdline, "\n\r\x00") {
		at("cmdline", "cmdline: must be one line without NUL bytes")
	}
	if img.Hostname != "" && !hostnameRE.MatchString(img.Hostname) {
		at("hostname", "invalid hostname %q: lower case letters, digits and -, at most 63 characters", img.Hostname)
	}
	return errs
}

// validateKind checks kind and extends: a system extension names a base
// image other than itself and has no boot settings of its own (it boots
// with its base).
func (img *Image) validateKind() errlist.List {
	var errs errlist.List
	at := func(key, format string, args ...any) {
		errs.Addf(img.File, img.LineOf(key), format, args...)
	}
	switch {
	case img.Kind != KindRootfs && !slices.Contains(Kinds, img.Kind):
		at("kind", "unknown image kind %q%s", img.Kind, yamlstrict.DidYouMean(img.Kind, Kinds,
			"; one of "+strings.Join(Kinds, ", ")+", or leave it out for a root filesystem"))
		return errs
	case img.IsInitrd():
		if img.Extends != "" {
			at("extends", "extends: only a system extension (kind: %s) extends a base image", KindSysext)
		}
		for _, f := range []struct{ key, value string }{{"boot", img.Boot}, {"kernel", img.Kernel}, {"cmdline", img.Cmdline}, {"initrd", img.Initrd}, {"initramfs", img.Initramfs}} {
			if f.value != "" {
				at(f.key, "%s: an initrd is started by the boot of another image and has no %s of its own", f.key, f.key)
			}
		}
		return errs
	case !img.IsSysext():
		if img.Extends != "" {
			at("extends", "extends: only a system extension (kind: %s) extends a base image", KindSysext)
		}
		return errs
	}
	switch {
	case img.Extends == "":
		at("kind", "kind: %s needs extends: the base image whose /usr it extends (e.g. extends: base)", KindSysext)
	case !recipe.ValidName(img.Extends):
		at("extends", "extends: invalid image name %q", img.Extends)
	case img.Extends == img.Name:
		at("extends", "extends: image %s cannot extend itself", img.Name)
	}
	for _, f := range []struct{ key, value string }{
		{"boot", img.Boot}, {"kernel", img.Kernel}, {"cmdline", img.Cmdline}, {"hostname", img.Hostname}, {"initrd", img.Initrd},
	} {
		if f.value != "" {
			at(f.key, "%s: a system extension boots with its base image and has no %s of its own", f.key, f.key)
		}
	}
	return errs
}

// CheckExtends checks a system extension against the images of its tree
// (by name): its base must exist, be a root filesystem, and be built for
// every architecture the extension is.
func (img *Image) CheckExtends(images map[string]*Image) errlist.List {
	var errs errlist.List
	if !img.IsSysext() || !recipe.ValidName(img.Extends) || img.Extends == img.Name {
		return nil
	}
	at := func(format string, args ...any) { errs.Addf(img.File, img.LineOf("extends"), format, args...) }
	base, ok := images[img.Extends]
	switch {
	case !ok:
		names := make([]string, 0, len(images))
		for n, other := range images {
			if !other.IsSysext() {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		at("extends: no image %s/%s.yaml%s", Dir, img.Extends, yamlstrict.DidYouMean(img.Extends, names, "; images: "+strings.Join(names, ", ")))
	case base.IsSysext():
		at("extends: %s is itself a system extension; extend a root filesystem image", img.Extends)
	default:
		for _, a := range recipe.Arches {
			if img.SupportsArch(a) && !base.SupportsArch(a) {
				at("extends: base image %s is not built for %s; limit arches: to the base's", img.Extends, a)
			}
		}
	}
	return errs
}

// CheckInitrd checks a trusted image's initrd against the images of its
// tree (by name): it must exist, be of kind initrd, and be built for
// every architecture the image is.
func (img *Image) CheckInitrd(images map[string]*Image) errlist.List {
	var errs errlist.List
	if img.Initrd == "" || !recipe.ValidName(img.Initrd) || img.Initrd == img.Name {
		return nil
	}
	at := func(format string, args ...any) { errs.Addf(img.File, img.LineOf("initrd"), format, args...) }
	rd, ok := images[img.Initrd]
	switch {
	case !ok:
		var names []string
		for n, other := range images {
			if other.IsInitrd() {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		at("initrd: no image %s/%s.yaml%s", Dir, img.Initrd, yamlstrict.DidYouMean(img.Initrd, names, "; initrd images: "+strings.Join(names, ", ")))
	case !rd.IsInitrd():
		at("initrd: image %s is not an initrd (%s has no kind: %s)", img.Initrd, rd.File, KindInitrd)
	default:
		for _, a := range recipe.Arches {
			if img.SupportsArch(a) && !rd.SupportsArch(a) {
				at("initrd: image %s is not built for %s; limit arches: to the initrd's", img.Initrd, a)
			}
		}
	}
	return errs
}

// LoadAll loads every images/*.yaml, sorted by name. A missing images folder
// gives no images and no error.
func LoadAll(fsys fs.FS) ([]*Image, error) {
	files, err := fs.Glob(fsys, Dir+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list image definitions: %w", err)
	}
	var errs errlist.List
	var out []*Image
	for _, f := range files {
		img, err := Load(fsys, f)
		errs.Append(err)
		if img != nil {
			out = append(out, img)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errs.Sorted().Err()
}
