// Package substitute reads declared substitutes,
// vendor-hashes/substitutes/<name>.yaml: a pinned stand-in for one upstream
// source that cannot be fetched where a build runs (air-gapped sites,
// Hadron's own offline test machines), together with the steps that turn
// it into the upstream tree.
//
// A substitute is never silent and never trusted on first use: it names
// the upstream URL it stands for and the recipes that use it, where it comes
// from and how it differs, and it pins every file it fetches by sha256,
// sha512 and size exactly like vendor-hashes/*.lock pins upstream sources.
// It is only used when a build asks for it by name (`--substitute`), and
// the build then prints it and names it in the vertex that makes the tree.
package substitute

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/textcheck"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// Dir is the folder holding substitute declarations, relative to the tree
// root.
const Dir = lockfile.Dir + "/substitutes"

// Substitute is one declared substitute.
type Substitute struct {
	// Name identifies the substitute; it is the file name without .yaml.
	Name string `yaml:"name"`
	// Recipes are the recipes whose source this stands for; each of them
	// fetches Upstream. A build uses the substitute for these recipes
	// only (see StandsFor).
	Recipes []string `yaml:"recipes"`
	// Upstream is the expanded upstream URL this stands for, exactly as the
	// recipes' locks pin it.
	Upstream string `yaml:"upstream"`
	// Origin says where the files come from, e.g. "Debian source package
	// linux 7.2.8-1 (sid)".
	Origin string `yaml:"origin"`
	// Differs says how the result differs from the upstream tree.
	Differs string `yaml:"differs"`
	// Files are the pinned downloads (URL, sha256, sha512, size).
	Files []lockfile.Pin `yaml:"files"`
	// Tree is the base name of the file holding the source tree (default:
	// the first file). Its top-level folder is stripped.
	Tree string `yaml:"tree"`
	// Inner, when set, is the path inside Tree of a tarball that holds the
	// real tree (e.g. gcc's gcc-N-dfsg.tar.xz inside Debian's wrapper).
	Inner string `yaml:"inner"`
	// Patches are applied in order with patch -p1 to the unpacked tree.
	Patches []Patch `yaml:"patches"`

	// File is the declaration's path relative to the tree root. Set by Load.
	File string `yaml:"-"`
	// Line is the line of the "name" key. Set by Load.
	Line int `yaml:"-"`

	lines yamlstrict.Lines
}

// Patch is one patch the substitute applies: either taken out of one of
// its files (From and Path) or kept in the project tree (File).
type Patch struct {
	// File is the patch's path relative to the tree root, below Dir
	// (e.g. vendor-hashes/substitutes/patches/<name>.patch).
	// It is set instead of From and Path.
	File string `yaml:"file"`
	// From is the base name of the file (one of Files) holding the patch.
	From string `yaml:"from"`
	// Path is the patch's path inside From.
	Path string `yaml:"path"`
	// SHA256 is the patch file's own digest, checked when the tree is
	// loaded (a File) and before the patch is applied (every patch).
	SHA256 string `yaml:"sha256"`
	// Why says what the patch is for and when it can go (required).
	Why string `yaml:"why"`
}

// Name is how messages name the patch: its File, or its Path inside From.
func (p Patch) Name() string {
	if p.File != "" {
		return p.File
	}
	return p.Path
}

// TreeFiles returns the paths (relative to the tree root) of the patches
// kept in the project tree, sorted, each once.
func (s *Substitute) TreeFiles() []string {
	var out []string
	for _, p := range s.Patches {
		if p.File != "" && !slices.Contains(out, p.File) {
			out = append(out, p.File)
		}
	}
	sort.Strings(out)
	return out
}

// LineOf returns the line of the key at path ("files[1].sha256"), or of its
// nearest ancestor, falling back to the declaration's own line.
func (s *Substitute) LineOf(key string) int {
	if n := s.lines.Of(key); n > 0 {
		return n
	}
	return s.Line
}

// TreeFile returns the base name of the file that holds the source tree.
func (s *Substitute) TreeFile() string {
	if s.Tree != "" {
		return s.Tree
	}
	if len(s.Files) == 0 {
		return ""
	}
	return path.Base(s.Files[0].URL)
}

// StandsFor reports whether the substitute is declared for recipe name,
// that is, whether name is one of its Recipes.
func (s *Substitute) StandsFor(name string) bool {
	return slices.Contains(s.Recipes, name)
}

// Describe is the one-line account a build of recipe name prints for the
// substitute.
func (s *Substitute) Describe(name string) string {
	return fmt.Sprintf("%s: %s is substituted by %s (%s; %s)", name, s.Upstream, s.Name, s.Origin, s.File)
}

// Load reads and checks one declaration; fsys is the project tree, which
// also holds the patches kept in the tree (Patch.File). On problems it
// returns the substitute as far as it was read together with an
// errlist.List.
func Load(fsys fs.FS, file string) (*Substitute, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, errlist.List{{File: file, Msg: fmt.Sprintf("read substitute: %v", err)}}
	}
	s := &Substitute{}
	lines, err := yamlstrict.Decode(file, data, s)
	s.File, s.lines = file, lines
	s.Line = lines.Of("name")
	if s.Line == 0 {
		s.Line = 1
	}
	if err != nil {
		return s, err
	}
	return s, s.validate(fsys).Sorted().Err()
}

func (s *Substitute) validate(fsys fs.FS) errlist.List {
	var errs errlist.List
	at := func(key, format string, args ...any) { errs.Addf(s.File, s.LineOf(key), format, args...) }
	base := strings.TrimSuffix(path.Base(s.File), path.Ext(s.File))
	switch {
	case s.Name == "":
		at("", "name is required (use %q, the file name)", base)
	case s.Name != base:
		at("name", "name %q does not match the file name %s", s.Name, path.Base(s.File))
	case !recipe.ValidName(s.Name):
		at("name", "invalid substitute name %q: use lower case letters, digits and + . _ -", s.Name)
	}
	if len(s.Recipes) == 0 {
		at("recipes", "recipes: at least one recipe whose source this stands for is required")
	}
	listed := map[string]bool{}
	for i, r := range s.Recipes {
		key := fmt.Sprintf("recipes[%d]", i)
		switch {
		case !recipe.ValidName(r):
			at(key, "recipes: invalid recipe name %q: use lower case letters, digits and + . _ -", r)
		case listed[r]:
			at(key, "recipes: %s listed twice", r)
		}
		listed[r] = true
	}
	if msg := recipe.CheckHTTPURL(s.Upstream); msg != "" {
		at("upstream", "upstream: the upstream URL this stands for: %s", msg)
	}
	if strings.TrimSpace(s.Origin) == "" {
		at("", "origin is required: say where the files come from (e.g. the Debian source version)")
	}
	if strings.TrimSpace(s.Differs) == "" {
		at("", "differs is required: say how the result differs from the upstream tree")
	}
	if len(s.Files) == 0 {
		at("", "files: at least one pinned file is required")
	}
	names := map[string]bool{}
	for i, f := range s.Files {
		key := fmt.Sprintf("files[%d]", i)
		if f.Git != "" || f.URL == "" {
			at(key, "files: each file needs url, sha256, sha512 and size (git is not supported)")
			continue
		}
		if msg := recipe.CheckHTTPURL(f.URL); msg != "" {
			at(key+".url", "%s", msg)
		}
		if f.Note != "" {
			at(key+".note", "files of a substitute are pinned in full: sha256, sha512 and size, no note")
		}
		f.Note = ""
		errs = append(errs, f.Check(s.File, func(k string) int { return s.LineOf(key + k) })...)
		n := path.Base(f.URL)
		if names[n] {
			at(key+".url", "two files named %s", n)
		}
		names[n] = true
	}
	known := sortedKeys(names)
	if s.Tree != "" && !names[s.Tree] {
		at("tree", "tree %q is not one of the files%s", s.Tree, yamlstrict.DidYouMean(s.Tree, known, " ("+strings.Join(known, ", ")+")"))
	}
	if s.Inner != "" {
		if msg := recipe.CheckRelPath(s.Inner); msg != "" {
			at("inner", "inner %s", msg)
		}
	}
	for i, p := range s.Patches {
		key := fmt.Sprintf("patches[%d]", i)
		wellFormed := textcheck.LowerHex(p.SHA256, 64)
		if !wellFormed {
			at(key+".sha256", "patch %s: malformed sha256 %q (want 64 lower-case hex digits)", p.Name(), p.SHA256)
		}
		if strings.TrimSpace(p.Why) == "" {
			at(key+".why", "patch %s: why is required: say what the patch is for and when it can go", p.Name())
		}
		switch {
		case p.File != "" && (p.From != "" || p.Path != ""):
			at(key+".file", "patch %s: give either file (a patch kept in the tree) or from and path (a patch inside one of the files), not both", p.File)
		case p.File != "":
			checkTreePatch(fsys, key, p, wellFormed, at)
		case p.From == "" && p.Path == "":
			at(key, "patch: give either file (a patch kept in the tree, below %s/) or from and path (a patch inside one of the files)", Dir)
		default:
			if !names[p.From] {
				at(key+".from", "patch %s: from %q is not one of the files%s", p.Path, p.From,
					yamlstrict.DidYouMean(p.From, known, " ("+strings.Join(known, ", ")+")"))
			}
			if msg := recipe.CheckRelPath(p.Path); msg != "" {
				at(key+".path", "patch path %s", msg)
			}
		}
	}
	return errs
}

// checkTreePatch checks p, a patch kept in the tree, at key: a clean path
// below Dir, a regular file that no symbolic link leads to (BuildKit's
// local source would send the link, not the patch), and, when its pinned
// sha256 is wellFormed, with that digest.
func checkTreePatch(fsys fs.FS, key string, p Patch, wellFormed bool, at func(key, format string, args ...any)) {
	file, clean := p.File, path.Clean(p.File)
	bad := func(format string, args ...any) {
		at(key+".file", "patch %s: "+format, append([]any{file}, args...)...)
	}
	switch {
	case strings.HasPrefix(file, "/"):
		bad("file must be relative to the tree root, not absolute")
		return
	case strings.Contains(file, `\`):
		bad("use / as the separator")
		return
	case !strings.HasPrefix(clean, Dir+"/"):
		bad("file must be below %s/ (e.g. %s/patches/<name>.patch, relative to the tree root)", Dir, Dir)
		return
	case clean != file:
		bad("write the file as %s", clean)
		return
	case strings.ContainsAny(file, "*?["):
		bad("* ? and [ are not allowed in the file name (BuildKit reads it as a pattern)")
		return
	}
	for dir := path.Dir(file); dir != Dir; dir = path.Dir(dir) {
		if info, err := fs.Lstat(fsys, dir); err == nil && info.Mode()&fs.ModeSymlink != 0 {
			bad("%s is a symbolic link; keep the patch itself in the tree", dir)
			return
		}
	}
	info, err := fs.Lstat(fsys, file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		bad("no such file in the tree")
		return
	case err != nil:
		bad("%v", err)
		return
	case info.Mode()&fs.ModeSymlink != 0:
		bad("the file is a symbolic link; keep the patch itself in the tree")
		return
	case !info.Mode().IsRegular():
		bad("not a regular file")
		return
	case !wellFormed:
		return // reported as malformed
	}
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		bad("read: %v", err)
		return
	}
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != p.SHA256 {
		at(key+".sha256", "patch %s: pinned sha256 %s, but the file's is %s; review the patch and pin it again",
			file, p.SHA256, hex.EncodeToString(got[:]))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LoadAll loads every vendor-hashes/substitutes/*.yaml, keyed by name. A
// missing folder gives an empty map and no error.
func LoadAll(fsys fs.FS) (map[string]*Substitute, error) {
	files, err := fs.Glob(fsys, Dir+"/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list substitutes: %w", err)
	}
	out := make(map[string]*Substitute, len(files))
	var errs errlist.List
	for _, f := range files {
		s, err := Load(fsys, f)
		errs.Append(err)
		if s != nil && s.Name != "" {
			out[s.Name] = s
		}
	}
	return out, errs.Sorted().Err()
}

// CheckAgainst reports every listed recipe the substitute stands for no
// source of: an unknown recipe, or one that (at its current version) does
// not fetch Upstream. recipes maps names to recipes.
func (s *Substitute) CheckAgainst(recipes map[string]*recipe.Recipe) errlist.List {
	var errs errlist.List
	var names []string // of recipes, for did-you-mean; made on first use
	for i, n := range s.Recipes {
		r, ok := recipes[n]
		if !ok {
			if names == nil {
				names = slices.Sorted(maps.Keys(recipes))
			}
			errs.Addf(s.File, s.LineOf(fmt.Sprintf("recipes[%d]", i)), "substitute %s stands for a source of recipe %q, but there is no such recipe%s",
				s.Name, n, yamlstrict.DidYouMean(n, names, ""))
			continue
		}
		if msg := s.checkSource(r); msg != "" {
			errs.Addf(s.File, s.LineOf("upstream"), "%s", msg)
		}
	}
	return errs
}

// checkSource says why Upstream is not an archive source of r, or returns
// "" when it is.
func (s *Substitute) checkSource(r *recipe.Recipe) string {
	var urls []string
	for i, src := range r.Sources {
		u := r.SourceURL(i)
		if u == s.Upstream && src.URL != "" {
			return "" // an archive source; git sources are pinned by commit
		}
		urls = append(urls, u)
	}
	return fmt.Sprintf("substitute %s stands for %s, which is not a source of recipe %s %s (its sources: %s); "+
		"update the substitute with the recipe, or delete it", s.Name, s.Upstream, r.Name, r.Version, strings.Join(urls, ", "))
}

// Select returns the substitutes named in names, keyed by the upstream URL
// they stand for. An unknown name, or two names for one URL, is an error
// (even when they list different recipes: one build, one stand-in for a
// URL). A selected substitute applies only to the recipes it lists; a
// caller checks StandsFor.
func Select(all map[string]*Substitute, names []string) (map[string]*Substitute, error) {
	out := map[string]*Substitute{}
	declared := make(map[string]bool, len(all))
	for n := range all {
		declared[n] = true
	}
	known := sortedKeys(declared)
	for _, n := range names {
		s, ok := all[n]
		if !ok {
			list := "none are declared in " + Dir
			if len(known) > 0 {
				list = "declared: " + strings.Join(known, ", ")
			}
			return nil, fmt.Errorf("unknown substitute %q%s (%s)", n, yamlstrict.DidYouMean(n, known, ""), list)
		}
		if other, dup := out[s.Upstream]; dup && other.Name != s.Name {
			return nil, fmt.Errorf("substitutes %s and %s both stand for %s: use one", other.Name, s.Name, s.Upstream)
		}
		out[s.Upstream] = s
	}
	return out, nil
}
