package recipe

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// FileName is the name of a recipe file inside its folder.
const FileName = "recipe.yaml"

// Recipe locations relative to the tree root.
var searchGlobs = []string{"recipes/*/" + FileName, "toolchain/*/" + FileName}

// KernelFile is the kernel recipe's path relative to the tree root.
const KernelFile = "kernel/" + FileName

// LineOf returns the line of the YAML key at path ("version", "build.style",
// "sources[1].url", "dependencies.build[0]"), or of its nearest ancestor,
// falling back to the recipe's own line. It is 0 for recipes not made by
// the loader.
func (r *Recipe) LineOf(path string) int {
	if n := yamlstrict.Lines(r.lines).Of(path); n > 0 {
		return n
	}
	return r.Line
}

// LoadFile reads, strictly decodes and validates the recipe at path (slash
// separated, relative to the root of fsys). It sets Dir, File and Line. On
// problems it returns the recipe as far as it could be read (nil only when
// the file could not be read at all) together with an errlist.List.
func LoadFile(fsys fs.FS, file string) (*Recipe, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, errlist.List{{File: file, Msg: fmt.Sprintf("read recipe: %v", unwrapPath(err))}}
	}
	r := &Recipe{}
	lines, err := yamlstrict.Decode(file, data, r)
	var errs errlist.List
	errs.Append(err)
	r.Dir = path.Dir(file)
	r.File = file
	r.lines = lines
	r.Line = lines["name"]
	if r.Line == 0 {
		r.Line = 1
	}
	// Validate even after decoding problems (an unknown key leaves the rest
	// intact), but drop validation problems on lines that already have a
	// decoding problem: a value of the wrong type is left empty and would
	// otherwise be reported twice.
	decodeLines := map[int]bool{}
	for _, e := range errs {
		decodeLines[e.Line] = true
	}
	for _, e := range r.validate(fsys) {
		if !decodeLines[e.Line] {
			errs = append(errs, e)
		}
	}
	return r, errs.Sorted().Err()
}

// unwrapPath drops the *fs.PathError wrapper whose path the caller already prints.
func unwrapPath(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// LoadAll loads every recipe of the tree: recipes/*/recipe.yaml,
// toolchain/*/recipe.yaml and kernel/recipe.yaml. A folder under recipes/
// without a recipe file and two recipes with the same name are problems too.
// It returns the recipes sorted by name (including those with problems, as
// far as they could be read) and every problem as one errlist.List.
func LoadAll(fsys fs.FS) ([]*Recipe, error) {
	var errs errlist.List
	var files []string
	for _, g := range searchGlobs {
		m, err := fs.Glob(fsys, g)
		if err != nil {
			return nil, fmt.Errorf("list recipes %s: %w", g, err)
		}
		files = append(files, m...)
	}
	if _, err := fs.Stat(fsys, KernelFile); err == nil {
		files = append(files, KernelFile)
	}
	errs = append(errs, orphanFolders(fsys)...)

	var all []*Recipe
	byName := map[string]*Recipe{}
	for _, f := range files {
		r, err := LoadFile(fsys, f)
		errs.Append(err)
		if r == nil {
			continue
		}
		all = append(all, r)
		if r.Name == "" {
			continue
		}
		if first, dup := byName[r.Name]; dup {
			errs.Addf(r.File, r.Line, "duplicate recipe name %q: also defined at %s:%d", r.Name, first.File, first.Line)
			errs.Addf(first.File, first.Line, "duplicate recipe name %q: also defined at %s:%d", r.Name, r.File, r.Line)
			continue
		}
		byName[r.Name] = r
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Name != all[j].Name {
			return all[i].Name < all[j].Name
		}
		return all[i].File < all[j].File
	})
	return all, errs.Sorted().Err()
}

// orphanFolders reports folders under recipes/ that hold no recipe file
// (usually a misnamed recipe.yml or a typo in the folder layout).
func orphanFolders(fsys fs.FS) errlist.List {
	var errs errlist.List
	entries, err := fs.ReadDir(fsys, "recipes")
	if err != nil {
		return nil // no recipes/ folder: nothing to check
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := "recipes/" + e.Name()
		if _, err := fs.Stat(fsys, dir+"/"+FileName); err != nil {
			errs.Addf(dir, 0, "folder has no %s", FileName)
		}
	}
	return errs
}
