// Package solve runs Hadron's frontend in-process through the BuildKit
// client: the CLI's `hadron build`. It plans the build locally once
// (frontend.NewPlan, the conversion the gateway image runs too) and solves
// that plan with frontend.Plan.Solve; only the transport differs from the
// gateway.
package solve

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// Request is one build: the frontend's options (the same the gateway
// image takes, see frontend.Options) and what only a client has.
type Request struct {
	// Dir is the project tree root (recipes/, images/, vendor-hashes/).
	Dir string
	// Options are the build's frontend options; Target is required.
	frontend.Options
	// Outputs are buildctl-style export specs ("type=local,dest=out/mini").
	Outputs []string
	// CacheTo and CacheFrom are buildctl-style cache specs.
	CacheTo, CacheFrom []string
	// Secrets are buildctl-style secret specs ("id=db,src=keys/db.key").
	Secrets []string
	// Progress is auto, plain, tty, rawjson or quiet.
	Progress string
	// ProgressOut receives the progress display (stderr if nil).
	ProgressOut io.Writer
	// OnStatus, when set, sees every status update (tests use it).
	OnStatus func(*client.SolveStatus)
	// ToolsDir is the directory holding the hadron binary (named
	// "hadron"), shared with BuildKit as the local Options.ToolsContext
	// for steps that run Hadron's own code: the ELF gates of image and
	// package targets, the boot steps (see target.RunsTools). The CLI sets
	// it to its own executable's directory.
	ToolsDir string
}

// Validate parses r's output, cache and secret specs, so that a typo fails
// before any engine is started or contacted.
func Validate(r Request) error {
	if _, err := build.ParseOutput(r.Outputs); err != nil {
		return fmt.Errorf("bad output spec: %w", err)
	}
	if _, err := build.ParseExportCache(r.CacheTo); err != nil {
		return fmt.Errorf("--cache-to: %w", err)
	}
	if _, err := build.ParseImportCache(r.CacheFrom); err != nil {
		return fmt.Errorf("--cache-from: %w", err)
	}
	if len(r.Secrets) > 0 {
		if _, err := build.ParseSecret(r.Secrets); err != nil {
			return fmt.Errorf("--secret: %w", err)
		}
	}
	if err := checkTarget(r); err != nil {
		return err
	}
	switch r.Progress {
	case "", "auto", "plain", "tty", "rawjson", "quiet":
	default:
		return fmt.Errorf("--progress %q: want auto, plain, tty, rawjson or quiet", r.Progress)
	}
	return nil
}

// Plan validates r, loads its tree from r.Dir and plans its target:
// everything a build does before it needs BuildKit. Errors carry file:line
// where the tree has one.
func Plan(r Request) (*frontend.Plan, error) {
	if err := Validate(r); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(r.Dir)
	if err != nil {
		return nil, err
	}
	tree, err := project.Load(dirfs.New(dir))
	if err != nil {
		return nil, err
	}
	t, err := target.Lookup(tree, r.Target)
	if err != nil {
		return nil, err
	}
	if err := checkSecrets(r, t, tree.Images); err != nil {
		return nil, err
	}
	return frontend.NewPlan(tree, r.Options, t)
}

// Build plans r (see Plan) and solves it on c.
func Build(ctx context.Context, c *client.Client, r Request) (*client.SolveResponse, error) {
	plan, err := Plan(r)
	if err != nil {
		return nil, err
	}
	return Run(ctx, c, r, plan)
}

// Run solves plan, made by Plan(r), on c in-process and waits for the
// progress display to finish. The tree is not read or converted again:
// BuildKit gets only the local files the plan names from r.Dir (recipes'
// patches and files, substitutes' patches kept in the tree).
func Run(ctx context.Context, c *client.Client, r Request, plan *frontend.Plan) (*client.SolveResponse, error) {
	dir, err := filepath.Abs(r.Dir)
	if err != nil {
		return nil, err
	}
	tree, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, fmt.Errorf("open project tree %s: %w", dir, err)
	}
	exports, err := build.ParseOutput(r.Outputs)
	if err != nil {
		return nil, fmt.Errorf("--output: %w", err)
	}
	cacheTo, err := build.ParseExportCache(r.CacheTo)
	if err != nil {
		return nil, fmt.Errorf("--cache-to: %w", err)
	}
	cacheFrom, err := build.ParseImportCache(r.CacheFrom)
	if err != nil {
		return nil, fmt.Errorf("--cache-from: %w", err)
	}
	var attachables []session.Attachable
	if len(r.Secrets) > 0 {
		sp, err := build.ParseSecret(r.Secrets)
		if err != nil {
			// The spec names files, never their content: safe to show.
			return nil, fmt.Errorf("--secret: %w", err)
		}
		attachables = append(attachables, sp)
	}
	opts := plan.Options
	locals := map[string]fsutil.FS{opts.ContextName: tree}
	tools, err := toolsMount(r, plan)
	if err != nil {
		return nil, err
	}
	if tools != nil {
		locals[opts.ToolsContext] = tools
	}
	opt := client.SolveOpt{
		Exports:       exports,
		LocalMounts:   locals,
		FrontendAttrs: opts.Attrs(),
		CacheExports:  cacheTo,
		CacheImports:  cacheFrom,
		Session:       attachables,
	}

	out := r.ProgressOut
	if out == nil {
		out = os.Stderr
	}
	mode := r.Progress
	if mode == "" {
		mode = "auto"
	}
	var display progressui.Display
	if mode == "quiet" {
		display, err = progressui.NewDisplay(io.Discard, progressui.QuietMode)
	} else {
		display, err = progressui.NewDisplay(out, progressui.DisplayMode(mode))
	}
	if err != nil {
		return nil, fmt.Errorf("--progress %s: %w", mode, err)
	}

	ch := make(chan *client.SolveStatus)
	displayCh := make(chan *client.SolveStatus)
	eg, ctx2 := errgroup.WithContext(ctx)
	var resp *client.SolveResponse
	eg.Go(func() error {
		var err error
		resp, err = c.Build(ctx2, opt, "hadron", plan.Solve, ch)
		return err
	})
	eg.Go(func() error {
		defer close(displayCh)
		for s := range ch {
			if r.OnStatus != nil {
				r.OnStatus(s)
			}
			displayCh <- s
		}
		return nil
	})
	eg.Go(func() error {
		_, err := display.UpdateFrom(context.WithoutCancel(ctx), displayCh)
		return err
	})
	if err := eg.Wait(); err != nil {
		// The engine may report a step's missing secret itself, before the
		// frontend's explained error arrives.
		return nil, frontend.ExplainSolveError(err, plan.Sources())
	}
	return resp, nil
}
