// Package project loads a whole Hadron tree (recipes, toolchain and kernel
// recipes, lock files, image definitions) and checks how the pieces fit
// together: dependencies that name no recipe, images with unknown packages,
// recipes without a matching lock.
package project

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
)

// Tree is a loaded project tree, keyed by recipe, recipe and image name.
type Tree struct {
	Recipes map[string]*recipe.Recipe
	Locks   map[string]*lockfile.Lock
	Images  map[string]*imagedef.Image
	// Substitutes are the declared substitutes (vendor-hashes/substitutes),
	// keyed by name; a build uses only those it names.
	Substitutes map[string]*substitute.Substitute
	// FS is the tree's file system, for readers of files the tree does
	// not decode itself (kernel board fragments).
	FS fs.FS

	// locksOK holds the recipes whose lock Load compared with the recipe
	// (lockfile.Check) without a problem.
	locksOK map[string]bool
}

// LockChecked reports whether Load already compared recipe name with its
// lock file and found no problem, so that a converter need not compare
// them again. It is false for trees not made by Load.
func (t *Tree) LockChecked(name string) bool { return t.locksOK[name] }

// Load reads the tree rooted at fsys. Every problem, in single files and
// across files, is returned as one sorted errlist.List; the Tree is returned
// too, with whatever could be read, so that callers may still inspect it.
func Load(fsys fs.FS) (*Tree, error) {
	t := &Tree{
		Recipes: map[string]*recipe.Recipe{},
		Locks:   map[string]*lockfile.Lock{},
		Images:  map[string]*imagedef.Image{},
		FS:      fsys,
		locksOK: map[string]bool{},
	}
	var errs errlist.List
	recipes, err := recipe.LoadAll(fsys)
	if err != nil && recipes == nil {
		return nil, fmt.Errorf("load recipes: %w", err)
	}
	errs.Append(err)
	broken := map[string]bool{} // files with problems of their own
	for _, r := range recipes {
		if r.Name == "" {
			continue
		}
		if _, dup := t.Recipes[r.Name]; !dup {
			t.Recipes[r.Name] = r
		}
	}

	locks, err := lockfile.LoadAll(fsys)
	if err != nil && locks == nil {
		return nil, fmt.Errorf("load lock files: %w", err)
	}
	errs.Append(err)
	for _, e := range asList(err) {
		broken[e.File] = true
	}
	t.Locks = locks

	images, err := imagedef.LoadAll(fsys)
	if err != nil && images == nil {
		return nil, fmt.Errorf("load image definitions: %w", err)
	}
	errs.Append(err)
	for _, img := range images {
		if img.Name == "" {
			continue
		}
		if first, dup := t.Images[img.Name]; dup {
			errs.Addf(img.File, img.Line, "duplicate image name %q: also defined at %s:%d", img.Name, first.File, first.Line)
			continue
		}
		t.Images[img.Name] = img
	}

	subs, err := substitute.LoadAll(fsys)
	if err != nil && subs == nil {
		return nil, fmt.Errorf("load substitutes: %w", err)
	}
	errs.Append(err)
	for _, e := range asList(err) {
		broken[e.File] = true
	}
	t.Substitutes = subs

	t.linkToolchain()
	errs = append(errs, t.crossCheck(broken)...)
	return t, errs.Sorted().Err()
}

// Toolchain returns the names of the tree's host recipes (the cross
// toolchain), sorted.
func (t *Tree) Toolchain() []string {
	var out []string
	for n, r := range t.Recipes {
		if r.Host {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// linkToolchain makes every recipe that is not a host recipe build with
// the tree's cross toolchain (recipe.Dependencies.Toolchain). A tree
// without host recipes (a test fixture, a generated benchmark tree) has
// none, and its steps run with stage 0 alone.
func (t *Tree) linkToolchain() {
	// One shared, clipped slice: an append by a reader copies it rather
	// than writing into another recipe's list.
	tc := slices.Clip(t.Toolchain())
	if len(tc) == 0 {
		return
	}
	for _, r := range t.Recipes {
		if !r.Host {
			r.Dependencies.Toolchain = tc
		}
	}
}

// checkHost reports the dependencies a host recipe cannot have: it runs on
// the build platform, so everything it builds with must be a host recipe
// too, and nothing installs it into an image.
func (t *Tree) checkHost(r *recipe.Recipe) errlist.List {
	var errs errlist.List
	if !r.Host {
		return nil
	}
	for i, d := range r.Dependencies.Build {
		if dep, ok := t.Recipes[recipe.RefName(d)]; ok && !dep.Host {
			errs.Addf(r.File, r.LineOf(fmt.Sprintf("dependencies.build[%d]", i)),
				"host recipe %s: build dependency %s is not a host recipe (host recipes run on the build platform and build only with each other)", r.Name, d)
		}
	}
	if len(r.Dependencies.Runtime) > 0 {
		errs.Addf(r.File, r.LineOf("dependencies.runtime"), "host recipe %s: runtime dependencies make no sense: a host recipe is a build tool, never installed into an image", r.Name)
	}
	return errs
}

// outputList describes r's outputs for an error message.
func outputList(r *recipe.Recipe) string {
	if names := r.OutputNames(); len(names) > 0 {
		return " (outputs: " + strings.Join(names, ", ") + ", or none for the main output)"
	}
	return " (it has only its main output: name the recipe alone)"
}

func asList(err error) errlist.List {
	var l errlist.List
	l.Append(err)
	return l
}

// Names returns the sorted recipe names.
func (t *Tree) Names() []string {
	names := make([]string, 0, len(t.Recipes))
	for n := range t.Recipes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// crossCheck finds problems between files. broken holds the lock and
// substitute files that already have problems of their own; they are not
// compared again.
func (t *Tree) crossCheck(broken map[string]bool) errlist.List {
	var errs errlist.List
	names := t.Names()
	unknown := func(file string, line int, what, name string) {
		errs.Addf(file, line, "%s %q: no such recipe%s", what, name, yamlstrict.DidYouMean(name, names, ""))
	}
	for _, n := range names {
		r := t.Recipes[n]
		for _, kind := range []string{"build", "runtime"} {
			deps := r.Dependencies.Build
			if kind == "runtime" {
				deps = r.Dependencies.Runtime
			}
			for i, d := range deps {
				ref := recipe.ParseRef(d)
				line := r.LineOf(fmt.Sprintf("dependencies.%s[%d]", kind, i))
				dep, ok := t.Recipes[ref.Recipe]
				switch {
				case recipe.CheckRef(d) != "" || ref.Recipe == r.Name:
					// reported by the recipe's own validation
				case !ok:
					unknown(r.File, line, kind+" dependency", ref.Recipe)
				case !dep.HasOutput(ref.Output):
					errs.Addf(r.File, line, "%s dependency %q: recipe %s has no output %q%s", kind, d, ref.Recipe, ref.Output,
						yamlstrict.DidYouMean(ref.Output, dep.OutputNames(), outputList(dep)))
				}
			}
		}
		errs = append(errs, t.checkHost(r)...)
		// A broken lock has been reported already; a recipe without a
		// readable version cannot be compared with its lock.
		l := t.Locks[n]
		if (l != nil && broken[l.File]) || r.Version == "" {
			continue
		}
		problems := lockfile.Check(r, l)
		if len(problems) == 0 {
			t.locksOK[n] = true
		}
		errs = append(errs, problems...)
	}
	lockNames := make([]string, 0, len(t.Locks))
	for n := range t.Locks {
		lockNames = append(lockNames, n)
	}
	sort.Strings(lockNames)
	for _, n := range lockNames {
		if _, ok := t.Recipes[n]; !ok {
			l := t.Locks[n]
			errs.Addf(l.File, l.Line, "lock file for unknown recipe %q; delete it or restore the recipe", n)
		}
	}
	for _, s := range t.Substitutes {
		if !broken[s.File] {
			errs = append(errs, s.CheckAgainst(t.Recipes)...)
		}
	}
	for _, img := range t.Images {
		for i, p := range img.Packages {
			r, ok := t.Recipes[p]
			switch {
			case !ok && recipe.ValidName(p):
				unknown(img.File, img.LineOf(fmt.Sprintf("packages[%d]", i)), "package", p)
			case ok && r.Host:
				errs.Addf(img.File, img.LineOf(fmt.Sprintf("packages[%d]", i)),
					"package %s is a host recipe (a build tool for the build platform), not something an image can hold", p)
			}
		}
		if k, _, _ := strings.Cut(img.Kernel, "@"); k != "" && recipe.ValidName(k) {
			if _, ok := t.Recipes[k]; !ok {
				unknown(img.File, img.LineOf("kernel"), "kernel", k)
			}
		}
		errs = append(errs, img.CheckExtends(t.Images)...)
		errs = append(errs, img.CheckInitrd(t.Images)...)
		if img.Boot == imagedef.BootTrusted {
			key, what := "efi", "efi"
			if img.EFI == "" {
				key, what = "boot", "efi (by default "+imagedef.DefaultEFI+": systemd-boot and systemd-stub; efi: names another output)"
			}
			if ref := img.EFIRef(); recipe.CheckRef(ref.String()) == "" {
				r, ok := t.Recipes[ref.Recipe]
				switch {
				case !ok:
					unknown(img.File, img.LineOf(key), what, ref.Recipe)
				case ref.Output != "" && !r.HasOutput(ref.Output):
					errs.Addf(img.File, img.LineOf(key), "%s: recipe %s has no output %q (outputs: %s)",
						what, ref.Recipe, ref.Output, strings.Join(r.OutputNames(), ", "))
				}
			}
		}
	}
	return errs
}
