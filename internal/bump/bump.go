// Package bump implements `hadron bump`: for every recipe with an upstream
// block it lists the upstream's versions, picks the newest one the
// recipe's constraint allows, rewrites the recipe's version (keeping the
// file byte-for-byte otherwise), downloads the new sources and re-pins them
// in vendor-hashes/<recipe>.lock.
//
// Recipes are handled concurrently by a bounded pool of workers; one
// failing upstream never stops the others. A checksum change of an already
// pinned URL (a re-tagged release) is a failure, never a silent re-pin.
package bump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hadron-linux/hadron/internal/bump/upstream"
	"github.com/hadron-linux/hadron/internal/fetch"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// Downloader fetches a source and reports its digests; *fetch.Fetcher is
// one.
type Downloader interface {
	Download(ctx context.Context, url string) (fetch.Result, error)
}

// Options configure a run.
type Options struct {
	// Root is the project tree on disk (recipes/, vendor-hashes/, images/).
	Root string
	// Recipes restricts the run to these names; empty means every recipe
	// with an upstream block.
	Recipes []string
	// DryRun lists and compares versions but downloads and writes nothing.
	DryRun bool
	// Verify downloads the sources of recipes whose version is unchanged
	// and fails those whose content no longer matches the pin (ignored in
	// a dry run).
	Verify bool
	// Affected computes the recipes and images that must rebuild.
	Affected bool
	// Jobs bounds how many recipes are handled at once; 0 means 8.
	Jobs int
	// Timeout bounds the work on one recipe; 0 means no limit.
	Timeout time.Duration
	// Upstream configures the version listers.
	Upstream upstream.Config
	// Fetch downloads sources; required unless DryRun.
	Fetch Downloader
	// Log receives one progress line per recipe; nil discards.
	Log io.Writer
}

// Run bumps the selected recipes and returns the report. Errors returned
// are problems with the tree or the options; per-recipe problems are in
// the report (and in Report.Err).
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Fetch == nil && !o.DryRun {
		return nil, errors.New("bump: no downloader configured")
	}
	tree, err := project.Load(os.DirFS(o.Root))
	if err != nil {
		return nil, fmt.Errorf("bump: load tree %s: %w", o.Root, err)
	}
	selected, err := selectRecipes(tree, o.Recipes)
	if err != nil {
		return nil, err
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 8
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}

	rep := &Report{DryRun: o.DryRun, Results: make([]Result, len(selected))}
	var wg sync.WaitGroup
	var logMu sync.Mutex
	work := make(chan int)
	for range min(jobs, max(len(selected), 1)) {
		wg.Go(func() {
			for i := range work {
				r := selected[i]
				rctx, cancel := ctx, context.CancelFunc(func() {})
				if o.Timeout > 0 {
					rctx, cancel = context.WithTimeout(ctx, o.Timeout)
				}
				res := o.one(rctx, r, tree.Locks[r.Name])
				cancel()
				rep.Results[i] = res
				logMu.Lock()
				fmt.Fprintln(log, progressLine(res))
				logMu.Unlock()
			}
		})
	}
	for i := range selected {
		work <- i
	}
	close(work)
	wg.Wait()
	rep.sortResults()

	if o.Affected {
		changed := rep.Changed()
		after := tree
		if !o.DryRun && len(changed) > 0 {
			// Reload so that the graph sees the rewritten recipes.
			if after, err = project.Load(os.DirFS(o.Root)); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("reload tree after updates: %v", err))
			}
		}
		if after != nil {
			recipes, images := graph.ReverseDeps(after, changed)
			rep.Affected = &Affected{Recipes: nonNil(recipes), Images: nonNil(images)}
		}
	}
	return rep, nil
}

// selectRecipes returns the named recipes (each needs an upstream block)
// or every recipe with an upstream block, sorted by name.
func selectRecipes(tree *project.Tree, names []string) ([]*recipe.Recipe, error) {
	var out []*recipe.Recipe
	if len(names) == 0 {
		for _, n := range tree.Names() {
			if r := tree.Recipes[n]; r.Upstream != nil {
				out = append(out, r)
			}
		}
		return out, nil
	}
	var errs []error
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		r, ok := tree.Recipes[n]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("bump: no recipe named %q", n))
		case r.Upstream == nil:
			errs = append(errs, fmt.Errorf("bump: recipe %s (%s) has no upstream block", n, r.File))
		default:
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

func progressLine(res Result) string {
	switch res.Status {
	case StatusFailed:
		return fmt.Sprintf("%s: FAILED: %s", res.Recipe, res.Error)
	case StatusUpdated, StatusAvailable:
		return fmt.Sprintf("%s: %s -> %s (%s)", res.Recipe, res.Current, res.Latest, res.Status)
	}
	return fmt.Sprintf("%s: %s (%s)", res.Recipe, res.Current, res.Status)
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// lockPath is the OS path of a recipe's lock file.
func (o Options) lockPath(name string) string {
	return filepath.Join(o.Root, filepath.FromSlash(lockfile.PathFor(name)))
}
