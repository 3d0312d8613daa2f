package lockfile

import (
	"strconv"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// Check compares a recipe with its lock: the lock must be for this recipe
// and version, every source must have a well-formed pin (git sources at the
// recipe's commit), and the lock must not pin sources the recipe no longer
// uses. A nil lock means the recipe has no lock file. Problems about the
// lock itself point into the lock file, missing pins point at the source in
// the recipe.
func Check(r *recipe.Recipe, l *Lock) errlist.List {
	var errs errlist.List
	want := PathFor(r.Name)
	if l == nil {
		if len(r.Sources) == 0 {
			return nil // nothing to pin
		}
		errs.Addf(r.File, r.Line, "recipe %s has no lock file %s; run `hadron hashes pin %s`", r.Name, want, r.Name)
		return errs
	}
	file := l.File
	if file == "" {
		file = want
	}
	if l.Recipe != r.Name {
		errs.Addf(file, l.Line, "lock is for recipe %q, not %q", l.Recipe, r.Name)
		return errs
	}
	if l.Version != r.Version {
		errs.Addf(file, l.Line, "lock is for %s %s but %s has version %s; run `hadron hashes pin %s`",
			r.Name, l.Version, r.File, r.Version, r.Name)
		return errs
	}
	used := map[string]bool{}
	for i, s := range r.Sources {
		u := r.SourceURL(i)
		used[u] = true
		line := r.LineOf(sourceKey(i))
		p, ok := l.Find(u)
		if !ok {
			errs.Addf(r.File, line, "source %s is not pinned in %s; run `hadron hashes pin %s`", u, file, r.Name)
			continue
		}
		if s.Git != "" {
			if p.Commit != s.Commit {
				errs.Addf(file, p.Line, "pin for %s is at commit %s but the recipe asks for %s", u, p.Commit, s.Commit)
			}
			continue
		}
		errs = append(errs, p.Check(file, func(string) int { return p.Line })...)
	}
	for _, p := range l.Sources {
		u := p.URL
		if u == "" {
			u = p.Git
		}
		if !used[u] {
			errs.Addf(file, p.Line, "pin for %s matches no source of %s %s", u, r.Name, r.Version)
		}
	}
	return errs.Sorted()
}

func sourceKey(i int) string {
	return "sources[" + strconv.Itoa(i) + "]"
}
