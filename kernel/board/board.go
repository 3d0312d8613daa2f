// Package board reads kernel board definitions,
// kernel/boards/<name>/board.yaml: for which architecture a kernel is
// built, from which Kconfig base target, with which config fragments (in
// order; a later one wins) and, on arm64, which device trees.
package board

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
	"github.com/hadron-linux/hadron/kernel/kconfig"
)

// Dir is the folder holding one folder per board, relative to the tree
// root.
const Dir = "kernel/boards"

// KernelDir is the folder that fragment paths are relative to.
const KernelDir = "kernel"

// FileName is the name of a board's definition inside its folder.
const FileName = "board.yaml"

// Base is the Kconfig make target that gives a board's starting .config.
type Base string

// Kconfig base targets a board may start from.
const (
	BaseDefconfig   Base = "defconfig"   // the architecture's default configuration
	BaseTinyconfig  Base = "tinyconfig"  // the smallest possible kernel
	BaseAllnoconfig Base = "allnoconfig" // every prompted symbol off
)

// Bases lists every valid Base.
var Bases = []Base{BaseDefconfig, BaseTinyconfig, BaseAllnoconfig}

// Board is one board definition.
type Board struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Arch        recipe.Arch `yaml:"arch"`
	Base        Base        `yaml:"base"`
	// Fragments are config fragment paths relative to kernel/, merged in
	// order onto the base .config.
	Fragments []string `yaml:"fragments"`
	// DTBs are device tree blobs to build and ship, relative to
	// arch/<srcarch>/boot/dts. Only arm64 boards have them.
	DTBs []string `yaml:"dtbs"`

	// File is the definition's path relative to the tree root. Set by Load.
	File string `yaml:"-"`
	// Line is the line of the "name" key. Set by Load.
	Line int `yaml:"-"`

	lines yamlstrict.Lines
}

// LineOf returns the line of the key at path ("fragments[1]", "base"), or
// of its nearest ancestor, falling back to the board's own line.
func (b *Board) LineOf(key string) int {
	if n := b.lines.Of(key); n > 0 {
		return n
	}
	return b.Line
}

// kernelArches maps Hadron architectures to the kernel's ARCH= value for
// make and its source folder under arch/.
var kernelArches = map[recipe.Arch]struct{ make, src string }{
	recipe.ArchAMD64: {"x86_64", "x86"},
	recipe.ArchARM64: {"arm64", "arm64"},
}

// MakeArch returns the ARCH= value that make needs for the board's
// architecture ("x86_64", "arm64"), or "" for an unknown one.
func (b *Board) MakeArch() string { return kernelArches[b.Arch].make }

// SrcArch returns the board's folder under the kernel's arch/ ("x86",
// "arm64"), or "" for an unknown architecture.
func (b *Board) SrcArch() string { return kernelArches[b.Arch].src }

// DTBPaths returns the board's DTBs relative to the kernel build folder:
// "arch/arm64/boot/dts/broadcom/bcm2712-rpi-5-b.dtb".
func (b *Board) DTBPaths() []string {
	out := make([]string, len(b.DTBs))
	for i, d := range b.DTBs {
		out[i] = path.Join("arch", b.SrcArch(), "boot/dts", d)
	}
	return out
}

// FragmentPath returns the tree-relative path of fragment i:
// "kernel/common/systemd.config".
func (b *Board) FragmentPath(i int) string { return KernelDir + "/" + b.Fragments[i] }

// Load reads, strictly decodes and checks the board definition at file
// (kernel/boards/<name>/board.yaml), and parses every fragment it names so
// that a malformed fragment line is reported too. On problems it returns
// the board as far as it was read together with an errlist.List.
func Load(fsys fs.FS, file string) (*Board, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, errlist.List{{File: file, Msg: fmt.Sprintf("read board definition: %v", err)}}
	}
	b := &Board{}
	lines, err := yamlstrict.Decode(file, data, b)
	b.File, b.lines = file, lines
	b.Line = lines["name"]
	if b.Line == 0 {
		b.Line = 1
	}
	if err != nil {
		return b, err
	}
	errs, goodFrags := b.validate()
	for _, i := range goodFrags {
		_, err := b.loadFragment(fsys, i)
		errs.Append(err)
	}
	return b, errs.Sorted().Err()
}

// validate checks the decoded fields and returns the problems and the
// indexes of the fragments whose paths are fit to read.
func (b *Board) validate() (errlist.List, []int) {
	var errs errlist.List
	at := func(key, format string, args ...any) {
		errs.Addf(b.File, b.LineOf(key), format, args...)
	}
	folder := path.Base(path.Dir(b.File))
	switch {
	case b.Name == "":
		at("", "name is required (use %q, the folder name)", folder)
	case !recipe.ValidName(b.Name):
		at("name", "invalid board name %q: use lower case letters, digits and + . _ -", b.Name)
	case b.Name != folder:
		at("name", "name %q does not match the folder name %s", b.Name, folder)
	}

	arches := recipe.Strings(recipe.Arches)
	switch {
	case b.Arch == "":
		at("", "arch is required: one of %s", strings.Join(arches, ", "))
	case !slices.Contains(recipe.Arches, b.Arch):
		at("arch", "unsupported arch %q%s", b.Arch,
			yamlstrict.DidYouMean(string(b.Arch), arches, "; one of "+strings.Join(arches, ", ")))
	}

	bases := recipe.Strings(Bases)
	switch {
	case b.Base == "":
		at("", "base is required: one of %s", strings.Join(bases, ", "))
	case !slices.Contains(Bases, b.Base):
		at("base", "unknown base %q%s", b.Base,
			yamlstrict.DidYouMean(string(b.Base), bases, "; one of "+strings.Join(bases, ", ")))
	}

	var good []int
	seen := map[string]bool{}
	for i, f := range b.Fragments {
		k := fmt.Sprintf("fragments[%d]", i)
		if msg := checkRelPath(f); msg != "" {
			at(k, "fragments: %q %s (paths are relative to %s/)", f, msg, KernelDir)
			continue
		}
		if seen[f] {
			at(k, "fragments: %q listed twice", f)
			continue
		}
		seen[f] = true
		good = append(good, i)
	}

	if len(b.DTBs) > 0 && b.Arch != recipe.ArchARM64 && slices.Contains(recipe.Arches, b.Arch) {
		at("dtbs", "dtbs: only arm64 boards have device trees; this board is %s", b.Arch)
	}
	seen = map[string]bool{}
	for i, d := range b.DTBs {
		k := fmt.Sprintf("dtbs[%d]", i)
		switch msg := checkRelPath(d); {
		case msg != "":
			at(k, "dtbs: %q %s (paths are relative to arch/<arch>/boot/dts)", d, msg)
		case path.Ext(d) != ".dtb":
			at(k, "dtbs: %q must name a .dtb file", d)
		case seen[d]:
			at(k, "dtbs: %q listed twice", d)
		}
		seen[d] = true
	}
	return errs, good
}

// checkRelPath returns why p is not a clean relative slash-separated path
// inside its folder, or "".
func checkRelPath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.HasPrefix(p, "/"):
		return "must be relative, not absolute"
	case slices.Contains(strings.Split(p, "/"), ".."):
		return "must not contain .."
	case strings.Contains(p, `\`):
		return `must use / as separator, not \`
	case path.Clean(p) != p || !fs.ValidPath(p):
		return fmt.Sprintf("is not a clean path (write %q)", path.Clean(p))
	}
	return ""
}

// loadFragment reads and parses fragment i. Problems name the fragment
// file and line, or the board file and the line of the list entry when
// the fragment cannot be read.
func (b *Board) loadFragment(fsys fs.FS, i int) (*kconfig.Fragment, error) {
	file := b.FragmentPath(i)
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		msg := fmt.Sprintf("fragments: read %s: %v", file, err)
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("fragments: %s does not exist", file)
		}
		return nil, errlist.List{{File: b.File, Line: b.LineOf(fmt.Sprintf("fragments[%d]", i)), Msg: msg}}
	}
	return kconfig.ParseFragment(file, data)
}

// LoadFragments reads and parses the board's fragments, in order, from
// fsys (the tree root). Each Setting's File is the tree-relative path,
// "kernel/common/systemd.config". Every problem is reported, as an
// errlist.List whose entries name the fragment's file and line, or the
// board file's line for a fragment that cannot be read.
func (b *Board) LoadFragments(fsys fs.FS) ([]*kconfig.Fragment, error) {
	var errs errlist.List
	out := make([]*kconfig.Fragment, 0, len(b.Fragments))
	for i := range b.Fragments {
		f, err := b.loadFragment(fsys, i)
		errs.Append(err)
		if f != nil {
			out = append(out, f)
		}
	}
	return out, errs.Sorted().Err()
}

// Merged loads the board's fragments and merges them in order.
func (b *Board) Merged(fsys fs.FS) (*kconfig.Merged, error) {
	frags, err := b.LoadFragments(fsys)
	if err != nil {
		return nil, err
	}
	return kconfig.Merge(frags...), nil
}

// LoadAll loads every kernel/boards/*/board.yaml, keyed by folder name
// (which a valid board's name equals). A missing kernel/boards folder
// gives an empty map and no error; a folder under it without board.yaml is
// a problem. All problems are reported at once as an errlist.List, with
// the boards as far as they were read.
func LoadAll(fsys fs.FS) (map[string]*Board, error) {
	out := map[string]*Board{}
	entries, err := fs.ReadDir(fsys, Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("list boards: %w", err)
	}
	var errs errlist.List
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := Dir + "/" + e.Name()
		file := dir + "/" + FileName
		if _, err := fs.Stat(fsys, file); errors.Is(err, fs.ErrNotExist) {
			errs.Addf(dir, 0, "no %s: every folder under %s is a board", FileName, Dir)
			continue
		}
		b, err := Load(fsys, file)
		errs.Append(err)
		if b != nil {
			out[e.Name()] = b
		}
	}
	return out, errs.Sorted().Err()
}

// Names returns the sorted names of boards.
func Names(boards map[string]*Board) []string {
	names := make([]string, 0, len(boards))
	for n := range boards {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Find returns the board called name, or an error listing the boards
// (with a did-you-mean).
func Find(boards map[string]*Board, name string) (*Board, error) {
	if b, ok := boards[name]; ok {
		return b, nil
	}
	names := Names(boards)
	return nil, fmt.Errorf("no board %q in %s%s (boards: %s)", name, Dir,
		yamlstrict.DidYouMean(name, names, ""), strings.Join(names, ", "))
}

// CheckImages reports image definitions whose kernel names a board
// ("<recipe>@<board>") that does not exist, or one built for an
// architecture the image is not built for.
func CheckImages(boards map[string]*Board, images map[string]*imagedef.Image) errlist.List {
	var errs errlist.List
	names := Names(boards)
	for _, img := range images {
		_, bn, ok := strings.Cut(img.Kernel, "@")
		if !ok {
			continue
		}
		b, found := boards[bn]
		switch {
		case !found:
			errs.Addf(img.File, img.LineOf("kernel"), "kernel %s: no board %q in %s%s", img.Kernel, bn, Dir,
				yamlstrict.DidYouMean(bn, names, " (boards: "+strings.Join(names, ", ")+")"))
		case len(img.Arches) > 0 && !slices.Contains(img.Arches, b.Arch):
			errs.Addf(img.File, img.LineOf("kernel"), "kernel %s: board %s is for %s, which the image is not built for (arches: %s)",
				img.Kernel, bn, b.Arch, strings.Join(recipe.Strings(img.Arches), ", "))
		}
	}
	return errs.Sorted()
}
