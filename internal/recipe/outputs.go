package recipe

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/textcheck"
)

// Output is one part of a package that can be installed on its own: the
// files of the package's install tree (/out) that match Paths. A recipe
// has a main output, named like the recipe, holding every file that no
// other output claims, and the outputs of DefaultOutputs unless it
// declares its own under `outputs:`.
type Output struct {
	// Name is the output's name, referred to as "<recipe>:<name>".
	Name string `yaml:"name"`
	// Paths are the output's path patterns, relative to the package root
	// (usr/include, usr/lib/**/*.a); see CheckPattern. A pattern that
	// names a folder claims everything below it.
	Paths []string `yaml:"paths"`
	// Line is the output's line in the recipe file. Set by the loader.
	Line int `yaml:"-"`
}

// The default outputs' names.
const (
	// OutputDev holds what building against a package needs: headers,
	// static libraries, pkg-config and CMake files, crt objects.
	OutputDev = "dev"
	// OutputDoc holds manuals and documentation.
	OutputDoc = "doc"
	// OutputLocale holds message catalogs (translations).
	OutputLocale = "locale"
)

// DefaultOutputs are the outputs every recipe that is not a host recipe
// has besides its main one. A recipe's `outputs:` entry with one of these
// names replaces its patterns; an entry with another name adds an output.
// The patterns do not overlap each other (TestDefaultOutputsDisjoint).
//
// Libtool archives (*.la) need no pattern: every install step deletes
// them. Unversioned shared-library links (libz.so) stay in the main output:
// musl's libc.so is its loader, not a link for the linker.
var DefaultOutputs = []Output{
	{Name: OutputDev, Paths: []string{
		"usr/include",
		"usr/lib/**/*.a",
		"usr/lib/*.o",
		"usr/lib/pkgconfig",
		"usr/share/pkgconfig",
		"usr/lib/cmake",
		"usr/share/aclocal",
	}},
	{Name: OutputDoc, Paths: []string{
		"usr/share/man",
		"usr/share/doc",
		"usr/share/info",
		"usr/share/gtk-doc",
	}},
	{Name: OutputLocale, Paths: []string{
		"usr/share/locale",
	}},
}

// IsDefaultOutput reports whether name is one of DefaultOutputs.
func IsDefaultOutput(name string) bool {
	return slices.ContainsFunc(DefaultOutputs, func(o Output) bool { return o.Name == name })
}

// BuildOnly reports whether output (of any recipe) is for build
// environments only and never goes into an image: dev and doc. A runtime
// dependency or a package of an image cannot name one.
func BuildOnly(output string) bool { return output == OutputDev || output == OutputDoc }

// OutputSep joins a recipe and one of its outputs in a reference: "xz:dev".
const OutputSep = ":"

// Ref names one output of a recipe: "xz" (Output empty) is the main
// output, "xz:dev" the dev output. Dependencies and targets are written
// as references.
type Ref struct {
	// Recipe is the recipe's name.
	Recipe string
	// Output is the output's name; empty for the main output.
	Output string
}

// ParseRef splits s at OutputSep. It checks nothing (see CheckRef).
func ParseRef(s string) Ref {
	name, out, _ := strings.Cut(s, OutputSep)
	return Ref{Recipe: name, Output: out}
}

// RefName is the recipe part of the reference s: "xz" for "xz:dev".
func RefName(s string) string {
	name, _, _ := strings.Cut(s, OutputSep)
	return name
}

// String is the reference as written: "xz" or "xz:dev".
func (r Ref) String() string {
	if r.Output == "" {
		return r.Recipe
	}
	return r.Recipe + OutputSep + r.Output
}

// Main reports whether r is a recipe's main output.
func (r Ref) Main() bool { return r.Output == "" }

// ValidOutputName reports whether s can name an output: lower-case letters,
// digits and -, starting with a letter or digit.
func ValidOutputName(s string) bool { return textcheck.Word(s, true, "-") }

// CheckRef returns a problem description, or "" when s is a well-formed
// reference: a recipe name, optionally followed by ":" and an output name.
// Whether the recipe and the output exist is for the project loader.
func CheckRef(s string) string {
	name, out, hasOut := strings.Cut(s, OutputSep)
	switch {
	case !ValidName(name):
		return fmt.Sprintf("invalid recipe name %q", name)
	case hasOut && !ValidOutputName(out):
		return fmt.Sprintf("%q: invalid output name %q (want RECIPE or RECIPE:OUTPUT, e.g. zlib:dev)", s, out)
	}
	return ""
}

// SplitOutputs returns r's outputs besides the main one, sorted by name:
// DefaultOutputs with r's own `outputs:` entries replacing or adding to
// them. A host recipe has none: the toolchain is mounted whole.
func (r *Recipe) SplitOutputs() []Output {
	if r.Host {
		return nil
	}
	out := make([]Output, 0, len(DefaultOutputs)+len(r.Outputs))
	for _, d := range DefaultOutputs {
		if i := slices.IndexFunc(r.Outputs, func(o Output) bool { return o.Name == d.Name }); i >= 0 {
			continue
		}
		out = append(out, d)
	}
	out = append(out, r.Outputs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasOutput reports whether r has an output called name ("" is the main
// output, which every recipe has).
func (r *Recipe) HasOutput(name string) bool {
	if name == "" {
		return true
	}
	return slices.ContainsFunc(r.SplitOutputs(), func(o Output) bool { return o.Name == name })
}

// OutputNames lists r's outputs besides the main one, sorted.
func (r *Recipe) OutputNames() []string {
	outs := r.SplitOutputs()
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.Name
	}
	return names
}

// OutputOf returns the output that the file at p (slash-separated,
// relative to the package root) lands in: the first output one of whose
// patterns matches p or a folder above it, or "" (the main output). It is
// what BuildKit's copy does with the same patterns (see MatchPattern);
// outputs of a valid recipe do not overlap, so the order does not matter.
func (r *Recipe) OutputOf(p string) string {
	for _, o := range r.SplitOutputs() {
		for _, pat := range o.Paths {
			if MatchPattern(pat, p) {
				return o.Name
			}
		}
	}
	return ""
}

// CheckPattern returns a problem description, or "" when p is an output
// path pattern: a clean relative path (no leading /, no . or .. parts, no
// trailing /), whose parts are literal names or globs with * (any run of
// characters but /) and ? (one character), or ** alone (any number of
// folders, none included). It must not claim the whole package (*, **)
// nor start with ** (a pattern names where under the root it applies).
// [ ] \ and a leading ! are refused: BuildKit's matcher gives them
// meanings (classes, escapes, exceptions) that an overlap check cannot
// follow.
func CheckPattern(p string) string {
	switch {
	case strings.TrimSpace(p) == "":
		return "empty pattern"
	case strings.HasPrefix(p, "/"):
		return fmt.Sprintf("pattern %q must be relative to the package root (write %q)", p, strings.TrimLeft(p, "/"))
	case strings.HasPrefix(p, "!"):
		return fmt.Sprintf("pattern %q: exceptions (!) are not supported; name what the output holds", p)
	case strings.ContainsAny(p, "[]\\"):
		return fmt.Sprintf("pattern %q: only * ? and ** are supported, not [ ] or \\", p)
	case strings.ContainsAny(p, " \t\n"):
		return fmt.Sprintf("pattern %q contains white space", p)
	case path.Clean(p) != p:
		return fmt.Sprintf("pattern %q is not a clean path (want %q)", p, path.Clean(p))
	}
	parts := strings.Split(p, "/")
	for _, s := range parts {
		switch {
		case s == "..":
			return fmt.Sprintf("pattern %q leaves the package root", p)
		case s != "**" && strings.Contains(s, "**"):
			return fmt.Sprintf("pattern %q: ** must be a whole path part (usr/lib/**/*.a)", p)
		}
	}
	switch parts[0] {
	case "*", "**":
		return fmt.Sprintf("pattern %q: the first part must be a name (usr, etc, …), not a wildcard", p)
	}
	if len(parts) >= 2 && parts[0] == "usr" && parts[1] != "**" && globMatches(parts[1], "sbin") {
		return fmt.Sprintf("pattern %q: images merge /usr/sbin into /usr/bin and only the main output moves a package's usr/sbin there; claim the program in the main output, or install it in usr/bin and name usr/bin/…", p)
	}
	return ""
}

// MatchPattern reports whether the valid pattern pat (see CheckPattern)
// matches p or one of the folders above it, as BuildKit's include and
// exclude patterns do.
func MatchPattern(pat, p string) bool {
	pp, fp := strings.Split(pat, "/"), strings.Split(p, "/")
	// A match of a prefix of p is a match of a folder above p.
	for n := 1; n <= len(fp); n++ {
		if matchParts(pp, fp[:n]) {
			return true
		}
	}
	return false
}

// matchParts matches pattern parts against path parts, ** standing for
// any number of path parts.
func matchParts(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if matchParts(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	if ok, _ := path.Match(pat[0], parts[0]); !ok {
		return false
	}
	return matchParts(pat[1:], parts[1:])
}

// globMatches reports whether the glob part g (no **) matches name.
func globMatches(g, name string) bool {
	ok, _ := path.Match(g, name)
	return ok
}

// PatternsOverlap reports whether some file can be claimed by both valid
// patterns a and b: a path that both match, or a path that one matches
// lying below a folder that the other names. Only a pattern whose last part
// is a literal name or ** is taken to name folders: usr/lib/*.o and
// usr/lib/**/*.a do not overlap, although a folder called x.o holding an
// x.a would match both.
func PatternsOverlap(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	return partsOverlap(pa, pb, namesFolders(pa), namesFolders(pb))
}

// namesFolders reports whether a pattern's matches are taken to be
// folders whose contents it claims too.
func namesFolders(parts []string) bool {
	last := parts[len(parts)-1]
	return last == "**" || !strings.ContainsAny(last, "*?")
}

// partsOverlap reports whether the pattern parts a and b match a common
// path, or (aFolders) a path of a with one of b below it, or (bFolders)
// the other way round.
func partsOverlap(a, b []string, aFolders, bFolders bool) bool {
	switch {
	case len(a) == 0 && len(b) == 0:
		return true
	case len(a) == 0:
		return aFolders || onlyStars(b)
	case len(b) == 0:
		return bFolders || onlyStars(a)
	case a[0] == "**":
		// ** takes no part, or b's first part (staying for more).
		return partsOverlap(a[1:], b, aFolders, bFolders) || partsOverlap(a, b[1:], aFolders, bFolders)
	case b[0] == "**":
		return partsOverlap(a, b[1:], aFolders, bFolders) || partsOverlap(a[1:], b, aFolders, bFolders)
	}
	return globsIntersect(a[0], b[0]) && partsOverlap(a[1:], b[1:], aFolders, bFolders)
}

// onlyStars reports whether every part is **, which may match nothing.
func onlyStars(parts []string) bool {
	for _, p := range parts {
		if p != "**" {
			return false
		}
	}
	return true
}

// globsIntersect reports whether some name matches both globs made of
// literal characters, * and ?.
func globsIntersect(g, h string) bool {
	type key struct{ i, j int }
	memo := map[key]bool{}
	var f func(i, j int) bool
	f = func(i, j int) bool {
		k := key{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(g) && j == len(h):
			r = true
		case i < len(g) && g[i] == '*':
			// * produces nothing more, or whatever h's next token does.
			r = f(i+1, j) || (j < len(h) && f(i, j+1))
		case j < len(h) && h[j] == '*':
			r = f(i, j+1) || (i < len(g) && f(i+1, j))
		case i == len(g) || j == len(h):
			r = false
		default:
			r = (g[i] == h[j] || g[i] == '?' || h[j] == '?') && f(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return f(0, 0)
}
