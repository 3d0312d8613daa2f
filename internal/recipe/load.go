package recipe

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/parallel"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// FileName is the name of a recipe file inside its folder.
const FileName = "recipe.yaml"

// Folders whose subfolders hold one recipe each, relative to the tree
// root. A subfolder of the first without a recipe file is a problem.
var recipeDirs = []string{"recipes", "toolchain"}

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
	return decode(fsys, file, data)
}

// decode strictly decodes and validates data, the content of file.
func decode(fsys fs.FS, file string, data []byte) (*Recipe, error) {
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
//
// Each folder is listed once and each recipe file read once; the files are
// decoded and validated in parallel, and the result does not depend on
// the order in which that happens.
func LoadAll(fsys fs.FS) ([]*Recipe, error) {
	type candidate struct {
		file string
		// orphan: a missing file is a problem (a folder under recipes/).
		orphan bool
	}
	var cands []candidate
	for i, dir := range recipeDirs {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("list recipes in %s: %w", dir, err)
		}
		for _, e := range entries {
			// A symbolic link may point at a folder; reading through it
			// tells.
			if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
				continue
			}
			orphan := i == 0 && e.IsDir() && !strings.HasPrefix(e.Name(), ".")
			cands = append(cands, candidate{file: dir + "/" + e.Name() + "/" + FileName, orphan: orphan})
		}
	}
	cands = append(cands, candidate{file: KernelFile})

	type result struct {
		r   *Recipe
		err error
	}
	results := make([]result, len(cands))
	parallel.For(len(cands), func(i int) {
		c := cands[i]
		data, err := fs.ReadFile(fsys, c.file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if c.orphan {
				results[i].err = errlist.List{{File: path.Dir(c.file), Msg: "folder has no " + FileName}}
			}
			return
		case err != nil:
			if st, serr := fs.Stat(fsys, path.Dir(c.file)); serr != nil || !st.IsDir() {
				return // a link to a file or a dangling link, not a recipe folder
			}
			results[i].err = errlist.List{{File: c.file, Msg: fmt.Sprintf("read recipe: %v", unwrapPath(err))}}
			return
		}
		results[i].r, results[i].err = decode(fsys, c.file, data)
	})

	var errs errlist.List
	var all []*Recipe
	byName := map[string]*Recipe{}
	for _, res := range results {
		errs.Append(res.err)
		r := res.r
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
