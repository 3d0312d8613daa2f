// Package solve runs Hadron's frontend in-process through the BuildKit
// client: the CLI's `hadron build`. The conversion is the very same
// frontend.Build the gateway image runs; only the transport differs.
package solve

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// Request is one build.
type Request struct {
	// Dir is the project tree root (recipes/, images/, vendor-hashes/).
	Dir string
	// Target is an image or recipe name.
	Target string
	// Platforms are OCI platforms ("linux/amd64"); empty means linux/amd64.
	Platforms []string
	// Stage0 overrides the stage-0 image reference.
	Stage0 string
	// SourceDateEpoch is the reproducibility timestamp.
	SourceDateEpoch int64
	// Mirrors maps upstream URL prefixes to mirror prefixes.
	Mirrors map[string]string
	// Check runs recipes' check phases.
	Check bool
	// Substitutes names the declared substitutes the build may use.
	Substitutes []string
	// NoCache re-runs every step.
	NoCache bool
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
	// "hadron"), shared with BuildKit as the local
	// convert.DefaultToolsContext for steps that run Hadron's own code
	// (boot targets). The CLI sets it to its own executable's directory.
	ToolsDir string
}

// Attrs returns the frontend options of r, the same keys the gateway image
// takes with --opt.
func (r Request) Attrs() map[string]string {
	attrs := map[string]string{
		frontend.OptTarget:          r.Target,
		frontend.OptSourceDateEpoch: strconv.FormatInt(r.SourceDateEpoch, 10),
	}
	if len(r.Platforms) > 0 {
		attrs[frontend.OptPlatform] = strings.Join(r.Platforms, ",")
	}
	if r.Stage0 != "" {
		attrs[frontend.OptStage0] = r.Stage0
	}
	if len(r.Mirrors) > 0 {
		attrs[frontend.OptMirrors] = frontend.FormatMirrors(r.Mirrors)
	}
	if r.Check {
		attrs[frontend.OptCheck] = "true"
	}
	if len(r.Substitutes) > 0 {
		attrs[frontend.OptSubstitutes] = strings.Join(r.Substitutes, ",")
	}
	if r.NoCache {
		attrs[frontend.OptNoCache] = ""
	}
	return attrs
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
	if err := checkBoot(r); err != nil {
		return err
	}
	switch r.Progress {
	case "", "auto", "plain", "tty", "rawjson", "quiet":
	default:
		return fmt.Errorf("--progress %q: want auto, plain, tty, rawjson or quiet", r.Progress)
	}
	return nil
}

// Build solves r on c and waits for the progress display to finish.
func Build(ctx context.Context, c *client.Client, r Request) (*client.SolveResponse, error) {
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
	if err := checkBoot(r); err != nil {
		return nil, err
	}
	locals := map[string]fsutil.FS{"context": tree}
	tools, err := toolsMount(r)
	if err != nil {
		return nil, err
	}
	if tools != nil {
		locals[convert.DefaultToolsContext] = tools
	}
	opt := client.SolveOpt{
		Exports:       exports,
		LocalMounts:   locals,
		FrontendAttrs: r.Attrs(),
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
		resp, err = c.Build(ctx2, opt, "hadron", frontend.Build, ch)
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
		return nil, frontend.ExplainSolveError(err, nil)
	}
	return resp, nil
}
