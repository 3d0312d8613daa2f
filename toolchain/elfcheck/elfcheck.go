// Package elfcheck is Hadron's ELF hygiene gate: it inspects every ELF
// executable and shared object of a package or image root file system and
// reports what would break (or betray) a musl system at run time: a foreign
// machine, a glibc loader, a library the tree does not provide, glibc symbol
// versions, and run paths that point into the build environment.
//
// Only debug/elf is used; nothing is executed. Dynamic information is read
// through the section headers, as debug/elf does, so a file stripped of its
// section headers is only checked for machine and interpreter.
package elfcheck

import (
	"bytes"
	"cmp"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/toolchain"
)

// Rule names one check of the gate.
type Rule string

// The rules, in the order they are reported for one file.
const (
	// RuleMalformed: the file starts with the ELF magic but cannot be parsed.
	RuleMalformed Rule = "malformed"
	// RuleMachine: the class is not 64-bit or e_machine is not the arch's.
	RuleMachine Rule = "machine"
	// RuleInterpreter: PT_INTERP is not the musl loader of the arch.
	RuleInterpreter Rule = "interpreter"
	// RuleNeeded: a DT_NEEDED library is not provided inside the tree.
	RuleNeeded Rule = "needed"
	// RuleGlibcSymbolVersion: a symbol version named GLIBC_* is required
	// or defined, except GCC's own compatibility versions of libgcc_s
	// (see gccCompatLib).
	RuleGlibcSymbolVersion Rule = "glibc-symbol-version"
	// RuleBuildPathRpath: a DT_RPATH or DT_RUNPATH entry is a build path
	// (see BuildPathPrefixes).
	RuleBuildPathRpath Rule = "build-path-rpath"
)

// Rules lists every rule in report order.
var Rules = []Rule{RuleMalformed, RuleMachine, RuleInterpreter, RuleNeeded, RuleGlibcSymbolVersion, RuleBuildPathRpath}

// BuildPathPrefixes are the directories of Hadron's build steps (and of
// common build hosts). A run path entry equal to one of them, or below one,
// is reported by RuleBuildPathRpath: it is absent from the installed system
// at best, and a library injection point at worst.
var BuildPathPrefixes = []string{"/build", "/sysroot", "/tmp", "/hadron", "/out", "/src", "/work"}

// SkipDirs are tree paths whose contents are not checked: ELF files there
// are firmware for other processors, separate debug information, or boot
// loader code the firmware runs before any OS (GRUB's platform files,
// 32-bit for i386-pc on amd64), not programs the OS runs.
var SkipDirs = []string{"lib/firmware", "usr/lib/firmware", "usr/lib/debug", "usr/lib/grub"}

// muslSysPath is the library search path of musl's loader when the tree has
// no /etc/ld-musl-<arch>.path.
var muslSysPath = []string{"/lib", "/usr/local/lib", "/usr/lib"}

// muslSelfNames are the library name prefixes musl's loader answers with
// itself (libc provides libm, libpthread, … on musl).
var muslSelfNames = []string{"libc.", "libpthread.", "librt.", "libm.", "libdl.", "libutil.", "libxnet."}

// Violation is one problem of one file.
type Violation struct {
	// Package is Options.Package, for reports that span packages.
	Package string
	// File is the slash-separated path inside the tree ("usr/bin/xz").
	File string
	// Rule is the check that failed.
	Rule Rule
	// Msg says what was found and, where it helps, what was wanted.
	Msg string
}

// String formats v as "[package: ]file: rule: msg".
func (v Violation) String() string {
	s := v.File + ": " + string(v.Rule) + ": " + v.Msg
	if v.Package != "" {
		s = v.Package + ": " + s
	}
	return s
}

// Options configures a check.
type Options struct {
	// Arch is the architecture the files must be built for; required.
	Arch recipe.Arch
	// Package, when set, is copied into every Violation.
	Package string
}

// Report is the outcome of Check.
type Report struct {
	// Checked counts the ELF executables and shared objects inspected.
	Checked int
	// Violations are sorted by file, rule (in Rules order) and message.
	Violations []Violation
}

// CheckTree checks every ELF executable and shared object in fsys, the root
// of a package's runtime closure or of an image, and returns the violations
// sorted by file and rule. err is set only when the tree cannot be read.
func CheckTree(fsys fs.FS, opts Options) ([]Violation, error) {
	r, err := Check(fsys, opts)
	return r.Violations, err
}

// Check is CheckTree that also counts the ELF files it inspected.
func Check(fsys fs.FS, opts Options) (Report, error) {
	target, err := toolchain.For(opts.Arch)
	if err != nil {
		return Report{}, fmt.Errorf("elfcheck: %w", err)
	}
	c := &checker{
		opts:    opts,
		loader:  target.Loader,
		machine: machineFor[opts.Arch],
		tree:    newTree(fsys),
		objects: map[string]*object{},
		loaders: map[string][]string{},
	}
	c.sysPath = c.librarySearchPath()
	c.libcInTree = c.tree.isFile(c.loader) || c.tree.isFile("/usr/lib/libc.so")

	var rep Report
	err = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if slices.Contains(SkipDirs, name) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symbolic links are followed by lookups, not checked
		}
		checked, err := c.checkFile(name)
		if checked {
			rep.Checked++
		}
		return err
	})
	if err != nil {
		return Report{}, fmt.Errorf("elfcheck: %w", err)
	}
	c.resolveThroughLoaders()
	rep.Violations = c.violations
	sortViolations(rep.Violations)
	return rep, nil
}

var machineFor = map[recipe.Arch]elf.Machine{
	recipe.ArchAMD64: elf.EM_X86_64,
	recipe.ArchARM64: elf.EM_AARCH64,
}

type checker struct {
	opts       Options
	loader     string
	machine    elf.Machine
	tree       *tree
	sysPath    []string
	libcInTree bool
	violations []Violation
	// objects are the ELF files checked, by their name in the tree;
	// loaders maps an object to the objects whose DT_NEEDED resolved to
	// it (see resolveThroughLoaders).
	objects map[string]*object
	loaders map[string][]string
}

// object is what the loader-chain check needs of one ELF file.
type object struct {
	runpath []string
	// missing are the DT_NEEDED entries its own run path and the system
	// path do not provide.
	missing []string
}

func (c *checker) add(file string, rule Rule, format string, args ...any) {
	c.violations = append(c.violations, Violation{Package: c.opts.Package, File: file, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

// checkFile checks name when it is an ELF executable or shared object and
// reports whether it was one. err is set only for I/O errors.
func (c *checker) checkFile(name string) (bool, error) {
	fh, err := c.tree.fsys.Open(name)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	var magic [4]byte
	if _, err := io.ReadFull(fh, magic[:]); err != nil || string(magic[:]) != elf.ELFMAG {
		return false, nil // short or not ELF: not ours to judge
	}
	ra, ok := fh.(io.ReaderAt)
	if !ok {
		data, err := io.ReadAll(fh)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		ra = bytes.NewReader(append(magic[:], data...))
	}
	f, err := elf.NewFile(ra)
	if err != nil {
		c.add(name, RuleMalformed, "%v", err)
		return true, nil
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return false, nil // relocatable objects and core dumps are not run
	}
	sameArch := c.checkMachine(name, f)
	if sameArch {
		// Another arch's loader is a symptom of the machine problem.
		c.checkInterpreter(name, f)
	}
	runpath := c.runPath(name, f)
	c.checkNeeded(name, f, runpath)
	c.checkVersions(name, f)
	return true, nil
}

func (c *checker) checkMachine(name string, f *elf.File) bool {
	var got, want []string
	if f.Class != elf.ELFCLASS64 {
		got, want = append(got, f.Class.String()), append(want, elf.ELFCLASS64.String())
	}
	if f.Machine != c.machine {
		got, want = append(got, f.Machine.String()), append(want, c.machine.String())
	}
	if len(got) == 0 {
		return true
	}
	c.add(name, RuleMachine, "%s, want %s", strings.Join(got, " "), strings.Join(want, " "))
	return f.Machine == c.machine
}

func (c *checker) checkInterpreter(name string, f *elf.File) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			c.add(name, RuleMalformed, "PT_INTERP: %v", err)
			return
		}
		if interp := string(bytes.TrimRight(b, "\x00")); interp != c.loader {
			c.add(name, RuleInterpreter, "%s, want %s", interp, c.loader)
		}
		return
	}
}

// runPath returns the file's DT_RUNPATH and DT_RPATH entries as absolute
// tree paths ($ORIGIN expanded), reporting build paths on the way.
// Entries that cannot be resolved inside the tree (relative, other
// substitutions) are left out.
func (c *checker) runPath(name string, f *elf.File) []string {
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, err := f.DynString(tag)
		if err != nil {
			c.add(name, RuleMalformed, "%s: %v", tag, err)
			continue
		}
		kind := strings.TrimPrefix(tag.String(), "DT_")
		for _, v := range vals {
			for _, e := range strings.Split(v, ":") {
				if isBuildPath(e) {
					c.add(name, RuleBuildPathRpath, "%s entry %s is a build path", kind, e)
				}
				e = strings.ReplaceAll(e, "${ORIGIN}", "$ORIGIN")
				e = strings.ReplaceAll(e, "$ORIGIN", "/"+path.Dir(name))
				if path.IsAbs(e) && !strings.Contains(e, "$") {
					dirs = append(dirs, path.Clean(e))
				}
			}
		}
	}
	return dirs
}

// isBuildPath reports whether dir is one of BuildPathPrefixes or below one.
func isBuildPath(dir string) bool {
	dir = path.Clean(dir)
	for _, p := range BuildPathPrefixes {
		if dir == p || strings.HasPrefix(dir, p+"/") {
			return true
		}
	}
	return false
}

func (c *checker) checkNeeded(name string, f *elf.File, runpath []string) {
	libs, err := f.ImportedLibraries()
	if err != nil {
		c.add(name, RuleMalformed, "DT_NEEDED: %v", err)
		return
	}
	obj := &object{runpath: runpath}
	c.objects[name] = obj
	for _, lib := range libs {
		if at, ok := c.find(lib, runpath); ok {
			if at != "" {
				c.loaders[at] = append(c.loaders[at], name)
			}
			continue
		}
		obj.missing = append(obj.missing, lib)
	}
}

// resolveThroughLoaders reports the DT_NEEDED entries that no search
// finds. musl's loader looks a library's dependency up in the run path of
// the library and then of each object that loaded it, up to the program
// (ldso/dynlink.c walks needed_by), so systemd's libsystemd-core finds
// libsystemd-shared through the RUNPATH of the systemd executable. An
// entry is found when every object in the tree that needs the library
// finds it that way; a library nothing in the tree needs (a plugin
// opened with dlopen) has only its own run path.
func (c *checker) resolveThroughLoaders() {
	// Any order: Check sorts the violations.
	for name, obj := range c.objects {
		for _, lib := range obj.missing {
			if c.foundByLoaders(name, lib, map[string]bool{name: true}) {
				continue
			}
			c.add(name, RuleNeeded, "%s not found in %s", lib, strings.Join(slices.Concat(obj.runpath, c.sysPath), ":"))
		}
	}
}

// foundByLoaders reports whether every loader of name (transitively)
// finds lib in its own run path. seen guards against cycles.
func (c *checker) foundByLoaders(name, lib string, seen map[string]bool) bool {
	loaders := c.loaders[name]
	if len(loaders) == 0 {
		return false
	}
	for _, l := range loaders {
		if seen[l] {
			return false
		}
		if _, ok := c.find(lib, c.objects[l].runpath); ok {
			continue
		}
		seen[l] = true
		ok := c.foundByLoaders(l, lib, seen)
		delete(seen, l)
		if !ok {
			return false
		}
	}
	return true
}

// find reports whether lib resolves inside the tree the way musl's loader
// would look for it, and the name in the tree of the file it resolves to
// ("" for the C library's own names, which the loader provides itself).
func (c *checker) find(lib string, runpath []string) (string, bool) {
	if strings.Contains(lib, "/") {
		if !path.IsAbs(lib) || !c.tree.isFile(lib) {
			return "", false
		}
		at, _ := c.tree.resolve(lib)
		return at, true
	}
	if c.libcInTree {
		if strings.HasPrefix(lib, "ld-musl-") && strings.HasSuffix(lib, ".so.1") {
			return "", true
		}
		for _, p := range muslSelfNames {
			if strings.HasPrefix(lib, p) {
				return "", true
			}
		}
	}
	for _, dir := range slices.Concat(runpath, c.sysPath) {
		if p := path.Join(dir, lib); c.tree.isFile(p) {
			at, _ := c.tree.resolve(p)
			return at, true
		}
	}
	return "", false
}

// librarySearchPath returns the musl loader's system search path for the
// tree: the entries of /etc/ld-musl-<arch>.path when it has one, else
// muslSysPath.
func (c *checker) librarySearchPath() []string {
	arch := strings.TrimSuffix(strings.TrimPrefix(path.Base(c.loader), "ld-musl-"), ".so.1")
	b, err := c.tree.readFile("/etc/ld-musl-" + arch + ".path")
	if err != nil {
		return muslSysPath
	}
	var dirs []string
	for _, e := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ':' || r == '\n' }) {
		if path.IsAbs(e) {
			dirs = append(dirs, path.Clean(e))
		}
	}
	if len(dirs) == 0 {
		return muslSysPath
	}
	return dirs
}

func (c *checker) checkVersions(name string, f *elf.File) {
	if f.SectionByType(elf.SHT_GNU_VERNEED) != nil {
		needs, err := f.DynamicVersionNeeds()
		if err != nil {
			c.add(name, RuleMalformed, "version needs: %v", err)
		}
		for _, n := range needs {
			if gccCompatLib(n.Name) {
				continue // GCC's names, defined by the tree's libgcc_s
			}
			var glibc []string
			for _, d := range n.Needs {
				if isGlibcVersion(d.Dep) {
					glibc = append(glibc, d.Dep)
				}
			}
			if len(glibc) > 0 {
				slices.Sort(glibc)
				c.add(name, RuleGlibcSymbolVersion, "requires %s from %s", strings.Join(slices.Compact(glibc), ", "), n.Name)
			}
		}
	}
	if f.SectionByType(elf.SHT_GNU_VERDEF) != nil && !gccCompatLib(path.Base(name)) {
		defs, err := f.DynamicVersions()
		if err != nil {
			c.add(name, RuleMalformed, "version definitions: %v", err)
		}
		var glibc []string
		for _, d := range defs {
			if d.Flags&elf.VER_FLG_BASE == 0 && isGlibcVersion(d.Name) {
				glibc = append(glibc, d.Name)
			}
		}
		if len(glibc) > 0 {
			slices.Sort(glibc)
			c.add(name, RuleGlibcSymbolVersion, "defines %s", strings.Join(slices.Compact(glibc), ", "))
		}
	}
}

func isGlibcVersion(v string) bool { return strings.HasPrefix(v, "GLIBC_") }

// gccCompatLib reports whether lib (a file or DT_NEEDED name) is GCC's
// libgcc_s. GCC builds libgcc_s for every *-linux* target, musl ones
// included, with libgcc/config/libgcc-glibc.ver, which exports
// __register_frame_info and friends under the version names glibc once
// used (GLIBC_2.0, GLIBC_2.2) so that old glibc binaries keep resolving
// them; x86_64 overrides that map, aarch64 does not. Those versions are
// defined by libgcc_s itself, and a library linked against it (libstdc++)
// needs them from libgcc_s, not from glibc: neither is a glibc
// dependency. A glibc-linked program is still caught by its interpreter,
// by its libc.so.6 and by the versions it needs from libc.
func gccCompatLib(lib string) bool { return strings.HasPrefix(lib, "libgcc_s.so") }

func sortViolations(vs []Violation) {
	slices.SortFunc(vs, func(a, b Violation) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return cmp.Or(
			cmp.Compare(ruleRank(a.Rule), ruleRank(b.Rule)),
			strings.Compare(string(a.Rule), string(b.Rule)),
			strings.Compare(a.Msg, b.Msg),
		)
	})
}

func ruleRank(r Rule) int {
	if i := slices.Index(Rules, r); i >= 0 {
		return i
	}
	return len(Rules)
}
