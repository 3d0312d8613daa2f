// Package target parses the names of what Hadron builds: a recipe, an
// image, an image's boot artifacts, a kernel built for a board or its
// checked configuration. Every entry point (the CLI's build, plan and graph,
// the gateway frontend, the converter) reads a target name through Parse
// or Lookup, so the syntax lives in one place.
//
//	mini                      an image (images/mini.yaml) or a recipe
//	musl                      a recipe (its main output)
//	musl:dev                  one output of a recipe (headers, static libraries, …)
//	mini/boot                 the image's boot artifacts (boot: trusted)
//	base-trusted/disk         a trusted image's whole disk (with initrd:)
//	base-trusted/uki          a trusted image's signed UKI alone
//	debug-tools/sysext        a system extension image's signed DDI (kind: sysext)
//	linux@qemu-amd64          the kernel recipe built for a board
//	linux@qemu-amd64/config   that board's checked configuration only
package target

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// Separators in target names.
const (
	// BoardSep joins a kernel recipe and a board: "linux@qemu-amd64". Image
	// definitions name their kernel the same way.
	BoardSep = "@"
	// OutputSep joins a name and one of its outputs: "mini/boot".
	OutputSep = "/"
	// RecipeOutputSep joins a recipe and one of its package outputs:
	// "musl:dev" (recipe.OutputSep).
	RecipeOutputSep = recipe.OutputSep
)

// Outputs of a name.
const (
	// BootOutput is an image's boot artifacts (for trusted boot, an ESP
	// tree): "<image>/boot".
	BootOutput = "boot"
	// SysextOutput is a system extension image's signed disk image
	// (<image>.raw): "<image>/sysext".
	SysextOutput = "sysext"
	// DiskOutput is a trusted image's disk image (<image>.raw: ESP, verity
	// root and hash partitions): "<image>/disk".
	DiskOutput = "disk"
	// UKIOutput is a trusted image's signed UKI alone (EFI/Linux/*.efi):
	// "<image>/uki".
	UKIOutput = "uki"
	// ConfigOutput is a kernel board's checked configuration, no compile:
	// "linux@qemu-amd64/config".
	ConfigOutput = "config"
)

// Kind says what a target builds.
type Kind string

// The kinds of target.
const (
	// Named is a bare name that Parse cannot place: a recipe or an image.
	// Lookup turns it into Recipe or Image.
	Named Kind = "name"
	// Recipe is one recipe's package layer.
	Recipe Kind = "recipe"
	// Image is an image's root filesystem.
	Image Kind = "image"
	// Boot is an image's boot artifacts (ESP tree, signed).
	Boot Kind = "boot"
	// Sysext is a system extension image's signed disk image.
	Sysext Kind = "sysext"
	// Disk is a trusted image's bootable disk image.
	Disk Kind = "disk"
	// UKI is a trusted image's signed Unified Kernel Image.
	UKI Kind = "uki"
	// Kernel is the kernel recipe built for one board.
	Kernel Kind = "kernel"
	// KernelConfig is one board's checked kernel configuration.
	KernelConfig Kind = "kernel-config"
)

// Target is a parsed target name.
type Target struct {
	// Kind is what the target builds.
	Kind Kind
	// Name is the recipe or image name; the kernel recipe for Kernel and
	// KernelConfig.
	Name string
	// Board is the kernel board of Kernel and KernelConfig targets.
	Board string
	// Output is the package output of a Named or Recipe target ("dev"
	// for "musl:dev"); empty for the main output.
	Output string
}

// String is the target's name as a user writes it; Parse(t.String())
// gives t back (Recipe and Image both print as their bare name).
func (t Target) String() string {
	switch t.Kind {
	case Boot:
		return t.Name + OutputSep + BootOutput
	case Sysext:
		return t.Name + OutputSep + SysextOutput
	case Disk:
		return t.Name + OutputSep + DiskOutput
	case UKI:
		return t.Name + OutputSep + UKIOutput
	case Kernel:
		return t.Name + BoardSep + t.Board
	case KernelConfig:
		return t.Name + BoardSep + t.Board + OutputSep + ConfigOutput
	}
	if t.Output != "" {
		return t.Name + RecipeOutputSep + t.Output
	}
	return t.Name
}

// Ref is the package output a Named or Recipe target builds.
func (t Target) Ref() recipe.Ref { return recipe.Ref{Recipe: t.Name, Output: t.Output} }

// Parse reads a target name. It checks the syntax only: whether the recipe,
// image or board exists is for Lookup and the conversion.
func Parse(s string) (Target, error) {
	if s == "" {
		return Target{}, fmt.Errorf("empty target: name an image, a recipe, IMAGE/boot or KERNEL@BOARD")
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\n") {
		return Target{}, fmt.Errorf("target %q: contains white space", s)
	}
	base, output, hasOutput := strings.Cut(s, OutputSep)
	if hasOutput && strings.Contains(output, OutputSep) {
		return Target{}, fmt.Errorf("target %q: more than one %q (want NAME or NAME/OUTPUT)", s, OutputSep)
	}
	base, pkgOutput, hasPkgOutput := strings.Cut(base, RecipeOutputSep)
	name, board, isKernel := strings.Cut(base, BoardSep)
	if hasPkgOutput {
		switch {
		case isKernel || hasOutput:
			return Target{}, fmt.Errorf("target %q: a package output (%s%s) goes with a plain recipe name only (want RECIPE%sOUTPUT, e.g. zlib:dev)", s, RecipeOutputSep, pkgOutput, RecipeOutputSep)
		case !recipe.ValidOutputName(pkgOutput):
			return Target{}, fmt.Errorf("target %q: %q is not an output name (want RECIPE%sOUTPUT, e.g. zlib:dev)", s, pkgOutput, RecipeOutputSep)
		}
	}
	if !recipe.ValidName(name) {
		return Target{}, fmt.Errorf("target %q: %q is not a recipe or image name (lower-case letters, digits and +._-, starting with a letter or digit)", s, name)
	}
	if isKernel && !recipe.ValidName(board) {
		return Target{}, fmt.Errorf("target %q: %q is not a board name (want KERNEL@BOARD, e.g. linux@qemu-amd64)", s, board)
	}
	switch {
	case isKernel && !hasOutput:
		return Target{Kind: Kernel, Name: name, Board: board}, nil
	case isKernel && output == ConfigOutput:
		return Target{Kind: KernelConfig, Name: name, Board: board}, nil
	case isKernel:
		return Target{}, fmt.Errorf("target %q: kernel %s has no output %q (only %q)", s, base, output, ConfigOutput)
	case !hasOutput:
		return Target{Kind: Named, Name: name, Output: pkgOutput}, nil
	case output == BootOutput:
		return Target{Kind: Boot, Name: name}, nil
	case output == SysextOutput:
		return Target{Kind: Sysext, Name: name}, nil
	case output == DiskOutput:
		return Target{Kind: Disk, Name: name}, nil
	case output == UKIOutput:
		return Target{Kind: UKI, Name: name}, nil
	default:
		return Target{}, fmt.Errorf("target %q: image %s has no output %q (only %q, %q, %q or %q)", s, base, output, BootOutput, DiskOutput, UKIOutput, SysextOutput)
	}
}

// Lookup parses s and checks it against tree: a bare name becomes an Image
// when images/<name>.yaml exists, else a Recipe; a missing image or recipe
// is an error that lists the tree's images.
func Lookup(tree *project.Tree, s string) (Target, error) {
	t, err := Parse(s)
	if err != nil {
		return Target{}, err
	}
	switch t.Kind {
	case Kernel, KernelConfig:
		if _, ok := tree.Recipes[t.Name]; !ok {
			return Target{}, fmt.Errorf("target %s: no kernel recipe named %q", s, t.Name)
		}
	case Boot, UKI:
		if _, ok := tree.Images[t.Name]; !ok {
			return Target{}, fmt.Errorf("target %s: no image images/%s.yaml (images: %s)", s, t.Name, imageList(tree))
		}
	case Disk:
		img, ok := tree.Images[t.Name]
		switch {
		case !ok:
			return Target{}, fmt.Errorf("target %s: no image images/%s.yaml (images: %s)", s, t.Name, imageList(tree))
		case !img.HasDisk():
			return Target{}, fmt.Errorf("target %s: image %s has no disk: a disk is built for boot: %s with initrd:, for boot: %s and for boot: %s (%s)", s, t.Name, imagedef.BootTrusted, imagedef.BootGRUB, imagedef.BootRPi, img.File)
		}
	case Sysext:
		img, ok := tree.Images[t.Name]
		switch {
		case !ok:
			return Target{}, fmt.Errorf("target %s: no image images/%s.yaml (images: %s)", s, t.Name, imageList(tree))
		case !img.IsSysext():
			return Target{}, fmt.Errorf("target %s: image %s is not a system extension (%s has no kind: %s)", s, t.Name, img.File, imagedef.KindSysext)
		}
	case Named:
		_, isImage := tree.Images[t.Name]
		r, isRecipe := tree.Recipes[t.Name]
		switch {
		case t.Output != "" && isRecipe:
			if !r.HasOutput(t.Output) {
				return Target{}, fmt.Errorf("target %s: recipe %s has no output %q (outputs: %s)", s, t.Name, t.Output, strings.Join(r.OutputNames(), ", "))
			}
			t.Kind = Recipe
		case t.Output != "":
			return Target{}, fmt.Errorf("target %s: no recipe named %q (an image has no package outputs)", s, t.Name)
		case isImage:
			t.Kind = Image
		case isRecipe:
			t.Kind = Recipe
		default:
			return Target{}, fmt.Errorf("no image images/%s.yaml and no recipe named %q (images: %s)", t.Name, t.Name, imageList(tree))
		}
	}
	return t, nil
}

// All returns every recipe and every image of tree as targets, recipes
// first, each group sorted by name. A name that is both an image and a
// recipe is the image, as Lookup decides.
func All(tree *project.Tree) []Target {
	out := make([]Target, 0, len(tree.Recipes)+len(tree.Images))
	for _, n := range sortedKeys(tree.Recipes) {
		if _, ok := tree.Images[n]; !ok {
			out = append(out, Target{Kind: Recipe, Name: n})
		}
	}
	for _, n := range sortedKeys(tree.Images) {
		out = append(out, Target{Kind: Image, Name: n})
	}
	return out
}

// Roots returns the recipes the target needs resolved: a recipe itself, an
// image's packages, for an image's boot artifacts its kernel recipe too,
// for a system extension its base image's packages too (what the
// extension leaves out), and the kernel recipe of a kernel target. A Named
// target counts as an image when images holds it.
func (t Target) Roots(images map[string]*imagedef.Image) []string {
	switch t.Kind {
	case Kernel, KernelConfig, Recipe:
		return []string{t.Name}
	}
	img, ok := images[t.Name]
	if !ok || t.Output != "" {
		return []string{t.Name}
	}
	roots := append([]string(nil), img.Packages...)
	if base, ok := images[img.Extends]; ok && img.IsSysext() {
		for _, p := range base.Packages {
			if !slices.Contains(roots, p) {
				roots = append(roots, p)
			}
		}
	}
	if t.Kind != Boot && t.Kind != Disk && t.Kind != UKI {
		return roots
	}
	if img.Kernel != "" {
		k, _, _ := strings.Cut(img.Kernel, BoardSep)
		roots = append(roots, k)
	}
	if img.Boot == imagedef.BootTrusted {
		roots = appendNew(roots, img.EFIRef().Recipe)
	}
	if img.Boot == imagedef.BootGRUB {
		roots = appendNew(roots, imagedef.GrubRecipe)
	}
	if img.Initramfs == imagedef.InitramfsDracut {
		roots = appendNew(roots, imagedef.DracutRecipe)
	}
	if img.Firmware != "" {
		roots = appendNew(roots, recipe.RefName(img.Firmware))
	}
	if rd, ok := images[img.Initrd]; ok {
		roots = appendNew(roots, rd.Packages...)
	}
	return roots
}

// BuiltFor reports whether the target is built for arch: a target of an
// image (the image, its boot artifacts, disk, UKI or extension) only for
// the architectures its arches: lists; recipes and kernels answer for
// themselves when they are converted.
func (t Target) BuiltFor(images map[string]*imagedef.Image, arch recipe.Arch) bool {
	switch t.Kind {
	case Image, Named, Boot, Disk, UKI, Sysext:
		if img, ok := images[t.Name]; ok && (t.Kind != Named || t.Output == "") {
			return img.SupportsArch(arch)
		}
	}
	return true
}

// NeedsSecrets reports whether the target's steps sign something and so
// need the signing keys as BuildKit secrets: a system extension, and the
// boot artifacts of a trusted image (images holds the tree's images; an
// image it does not hold counts as trusted). A Raspberry Pi image's boot
// partition and disk sign nothing.
func (t Target) NeedsSecrets(images map[string]*imagedef.Image) bool {
	switch t.Kind {
	case Sysext:
		return true
	case Boot, Disk, UKI:
		img, ok := images[t.Name]
		return !ok || img.Boot == imagedef.BootTrusted
	}
	return false
}

// RunsTools reports whether the target's steps run the hadron binary
// inside BuildKit (from the tools context or the frontend image): the ELF
// gates of an image's or a package's packages, and a boot target's initrd,
// UKI and signing steps. Kernel board builds and their configurations run
// none. A recipe target naming a host recipe (which has no gate) counts
// too: the answer depends on the name's kind only.
func (t Target) RunsTools() bool {
	switch t.Kind {
	case Named, Recipe, Image, Boot, Disk, UKI, Sysext:
		return true
	}
	return false
}

// appendNew appends the names list does not hold yet.
func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(list, n) {
			list = append(list, n)
		}
	}
	return list
}

func imageList(tree *project.Tree) string {
	return strings.Join(sortedKeys(tree.Images), ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
