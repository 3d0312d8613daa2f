package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/fetch"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func newHashesCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hashes",
		Short: "Pin and verify the checksums of upstream sources (vendor-hashes/)",
		Long: `Every source a recipe downloads is pinned in vendor-hashes/<recipe>.lock
(SHA-256, SHA-512 and size for archives, the commit for git sources). BuildKit
refuses a source whose checksum differs from its pin.

Downloads honour the mirrors: map of hadron.yaml (URL prefix -> replacement).`,
	}
	pf := cmd.PersistentFlags()
	pf.String("cache-dir", "", "download cache (default: a temporary folder removed afterwards)")
	pf.Int("retries", 3, "download retries, with exponential backoff")
	pf.Int("jobs", 4, "downloads at once")
	cmd.AddCommand(newHashesPinCmd(v), newHashesVerifyCmd(v))
	return cmd
}

func newHashesPinCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin RECIPE... | --all",
		Short: "Download sources and write their lock files",
		Long: `Pin downloads every source of the named recipes (or of all recipes with --all)
and writes vendor-hashes/<recipe>.lock for the recipe's current version.
Git sources are pinned by their commit and not downloaded.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			all := v.GetBool("all")
			if all == (len(args) > 0) {
				return fmt.Errorf("hashes pin: name recipes or pass --all (not both)")
			}
			return withHashesFetcher(v, func(f *fetch.Fetcher) error {
				return runHashesPin(cmd.Context(), cmd.ErrOrStderr(), v.GetString("dir"), f, args, v.GetInt("jobs"))
			})
		},
	}
	cmd.Flags().Bool("all", false, "pin every recipe of the tree")
	return cmd
}

func newHashesVerifyCmd(v *viper.Viper) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [RECIPE...]",
		Short: "Re-download pinned sources and compare them with their lock files",
		Long: `Verify downloads the pinned archives of the named recipes (every recipe by
default) again and compares digest and size with vendor-hashes/. A mismatch is
reported with the recipe, the URL, the expected and the actual digest, and
the exit status is 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withHashesFetcher(v, func(f *fetch.Fetcher) error {
				return runHashesVerify(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), v.GetString("dir"), f, args, v.GetInt("jobs"))
			})
		},
	}
}

// withHashesFetcher runs fn with a Fetcher configured from v, removing a
// temporary cache afterwards.
func withHashesFetcher(v *viper.Viper, fn func(*fetch.Fetcher) error) error {
	cache := v.GetString("cache-dir")
	if cache == "" {
		tmp, err := os.MkdirTemp("", "hadron-hashes-")
		if err != nil {
			return fmt.Errorf("hashes: download cache: %w", err)
		}
		defer os.RemoveAll(tmp)
		cache = tmp
	}
	return fn(&fetch.Fetcher{
		CacheDir:   cache,
		Mirrors:    fetch.Mirrors(v.GetStringMapString("mirrors")),
		Retries:    v.GetInt("retries"),
		HTTPClient: &http.Client{Timeout: 30 * time.Minute},
	})
}

// hashesFailed is returned when some recipes failed; the details have been
// printed already.
type hashesFailed struct{ problems errlist.List }

func (e hashesFailed) Error() string { return e.problems.Error() }

// ExitCode makes main exit with status 1.
func (e hashesFailed) ExitCode() int { return exitFailed }

// selectRecipes loads the recipes of dir and returns the named ones (all
// when names is empty), failing on problems in the selected recipe files.
func selectRecipes(dir string, names []string) ([]*recipe.Recipe, error) {
	all, err := recipe.LoadAll(os.DirFS(dir))
	if all == nil && err != nil {
		return nil, fmt.Errorf("hashes: %w", err)
	}
	var problems errlist.List
	problems.Append(err)
	byName := map[string]*recipe.Recipe{}
	for _, r := range all {
		if _, dup := byName[r.Name]; !dup {
			byName[r.Name] = r
		}
	}
	var sel []*recipe.Recipe
	if len(names) == 0 {
		sel = all
	}
	for _, n := range names {
		r, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("hashes: no recipe %q in %s", n, dir)
		}
		sel = append(sel, r)
	}
	files := map[string]bool{}
	for _, r := range sel {
		files[r.File] = true
	}
	var relevant errlist.List
	for _, p := range problems {
		if files[p.File] {
			relevant = append(relevant, p)
		}
	}
	if len(relevant) > 0 {
		return nil, fmt.Errorf("hashes: fix these recipes first:\n%w", relevant)
	}
	return sel, nil
}

// forEachRecipe runs fn for every recipe with at most jobs at once and
// collects the problems in recipe order.
func forEachRecipe(recipes []*recipe.Recipe, jobs int, fn func(r *recipe.Recipe) errlist.List) errlist.List {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]errlist.List, len(recipes))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, r := range recipes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = fn(r)
		}()
	}
	wg.Wait()
	var out errlist.List
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

func runHashesPin(ctx context.Context, log io.Writer, dir string, f *fetch.Fetcher, names []string, jobs int) error {
	recipes, err := selectRecipes(dir, names)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	problems := forEachRecipe(recipes, jobs, func(r *recipe.Recipe) errlist.List {
		l := &lockfile.Lock{Recipe: r.Name, Version: r.Version}
		for i, s := range r.Sources {
			u := r.SourceURL(i)
			if s.Git != "" {
				l.Sources = append(l.Sources, lockfile.Pin{Git: u, Commit: s.Commit})
				continue
			}
			res, err := f.Download(ctx, u)
			if err != nil {
				return errlist.List{{File: r.File, Line: s.Line, Msg: fmt.Sprintf("%s: %v", r.Name, err)}}
			}
			l.Sources = append(l.Sources, lockfile.Pin{URL: u, SHA256: res.SHA256, SHA512: res.SHA512, Size: res.Size})
		}
		file := filepath.Join(dir, filepath.FromSlash(lockfile.PathFor(r.Name)))
		if err := lockfile.Write(file, l); err != nil {
			return errlist.List{{File: r.File, Msg: fmt.Sprintf("%s: %v", r.Name, err)}}
		}
		mu.Lock()
		fmt.Fprintf(log, "pinned %s %s (%d sources) in %s\n", r.Name, r.Version, len(l.Sources), lockfile.PathFor(r.Name))
		mu.Unlock()
		return nil
	})
	if len(problems) > 0 {
		return hashesFailed{problems: problems}
	}
	return nil
}

func runHashesVerify(ctx context.Context, stdout, log io.Writer, dir string, f *fetch.Fetcher, names []string, jobs int) error {
	recipes, err := selectRecipes(dir, names)
	if err != nil {
		return err
	}
	locks, err := lockfile.LoadAll(os.DirFS(dir))
	if locks == nil {
		return fmt.Errorf("hashes verify: %w", err)
	}
	var lockProblems errlist.List
	lockProblems.Append(err)
	broken := map[string]bool{}
	for _, p := range lockProblems {
		broken[p.File] = true
	}
	var mu sync.Mutex
	var checked int
	problems := forEachRecipe(recipes, jobs, func(r *recipe.Recipe) errlist.List {
		l := locks[r.Name]
		if l != nil && broken[l.File] {
			var own errlist.List
			for _, p := range lockProblems {
				if p.File == l.File {
					own = append(own, p)
				}
			}
			return own
		}
		if errs := lockfile.Check(r, l); len(errs) > 0 {
			return errs
		}
		var errs errlist.List
		for i, s := range r.Sources {
			if s.Git != "" {
				continue // pinned by commit; BuildKit checks out exactly that commit
			}
			u := r.SourceURL(i)
			pin, _ := l.Find(u)
			res, err := f.Download(ctx, u)
			if err != nil {
				errs.Addf(l.File, pin.Line, "%s: %v", r.Name, err)
				continue
			}
			if res.SHA256 != pin.SHA256 {
				errs.Addf(l.File, pin.Line, "%s: %s: sha256 mismatch: expected %s, actual %s", r.Name, u, pin.SHA256, res.SHA256)
			}
			if res.SHA512 != pin.SHA512 {
				errs.Addf(l.File, pin.Line, "%s: %s: sha512 mismatch: expected %s, actual %s", r.Name, u, pin.SHA512, res.SHA512)
			}
			if res.Size != pin.Size {
				errs.Addf(l.File, pin.Line, "%s: %s: size mismatch: expected %d, actual %d", r.Name, u, pin.Size, res.Size)
			}
		}
		if len(errs) == 0 {
			mu.Lock()
			checked++
			fmt.Fprintf(log, "verified %s %s\n", r.Name, r.Version)
			mu.Unlock()
		}
		return errs
	})
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
		return hashesFailed{problems: problems}
	}
	fmt.Fprintf(stdout, "ok: %d recipes verified\n", checked)
	return nil
}
