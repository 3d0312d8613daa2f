package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	clog "github.com/containerd/log"
	"github.com/moby/buildkit/client"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/engine"
	"github.com/hadron-linux/hadron/internal/repro"
	"github.com/hadron-linux/hadron/internal/treecopy"
)

// Scopes of `hadron repro-check`.
const (
	// scopeFull rebuilds everything: each build on a fresh local engine
	// of its own (empty state), with --no-cache.
	scopeFull = "full"
	// scopePackages rebuilds every step but the cross toolchain's (host
	// recipes), both builds on the configured engine.
	scopePackages = "packages"
)

func newReproCheckCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repro-check TARGET",
		Short: "Build TARGET twice from clean state and compare the outputs bit for bit",
		Long: `Repro-check builds TARGET twice, each time from clean state, and compares
the two outputs: for an image or a recipe the OCI layouts (index, manifest,
config, every package layer), for boot and kernel targets the exported
trees file by file (a signed UKI included: signatures are deterministic).
A difference is reported down to the package and the files that differ,
with sizes and sha256 digests, and diffoscope's report when diffoscope is
installed; the command then exits with status 3 and keeps both outputs.

Scopes:
  --scope full       (default) each build runs on a fresh local buildkitd
                     with an empty state directory of its own, with
                     --no-cache: nothing is shared but the sources' pins.
                     With --addr (or BUILDKIT_HOST) both builds run there
                     with --no-cache instead.
  --scope packages   both builds run on the configured engine; every step
                     re-runs except the cross toolchain's (host recipes),
                     which may come from the cache: every package is
                     rebuilt twice without building gcc twice.

The second build reads a copy of the tree in another directory, and runs
later: paths and times differ between the builds. Outputs and engine logs
go to --work-dir (default: a new directory under the user cache dir);
it is removed afterwards unless --keep is given or the check fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReproCheck(cmd, v, args[0])
		},
	}
	f := cmd.Flags()
	addTargetOptionFlags(f)
	addAddrFlags(f)
	f.String("scope", scopeFull, "what is rebuilt: full (fresh engines) or packages (all but the cross toolchain)")
	f.String("work-dir", "", "directory for both builds' outputs and engines (default: under the user cache dir)")
	f.Bool("keep", false, "keep the work directory (outputs, engine logs) after a successful check")
	f.Bool("all", false, "list identical artifacts in the report too")
	f.Bool("no-diffoscope", false, "do not run diffoscope on differences even when it is installed")
	f.String("progress", "auto", "progress output of the builds: auto, plain, tty, rawjson or quiet")
	f.StringArray("secret", nil, "secret for signing steps, e.g. id=db.key,src=keys/db.key (repeatable)")
	f.String("tools-dir", "", "directory holding the hadron binary that ELF gates and boot steps run in BuildKit (default: this executable's)")
	return cmd
}

// reproSide is one of the two builds of a check.
type reproSide struct {
	name string // "a" or "b"
	dir  string // its part of the work directory
	tree string // the project tree it builds
	out  string // where its output is exported
}

// reproCheck is one run of `hadron repro-check`.
type reproCheck struct {
	v       *viper.Viper
	target  string
	scope   string
	req     solve.Request // side a's request; b's differs in Dir
	layout  bool          // the output is an OCI layout (else a tree)
	fresh   bool          // each side gets a fresh local engine
	log     io.Writer
	timings []string
}

func runReproCheck(cmd *cobra.Command, v *viper.Viper, name string) error {
	ctx := cmd.Context()
	rc, err := newReproCheck(v, name, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	// containerd's content store warns on stderr when the file system has
	// no fs-verity; that says nothing about the check.
	_ = clog.SetLevel("error")
	work, err := reproWorkDir(v.GetString("work-dir"), name)
	if err != nil {
		return err
	}
	start := time.Now()
	sides := []reproSide{{name: "a", dir: filepath.Join(work, "a")}, {name: "b", dir: filepath.Join(work, "b")}}
	sides[0].tree = rc.req.Dir
	sides[1].tree = filepath.Join(sides[1].dir, "tree")
	if err := copyTreeRoots(rc.req.Dir, sides[1].tree); err != nil {
		return err
	}
	for i := range sides {
		s := &sides[i]
		s.out = filepath.Join(s.dir, "out")
		if err := rc.build(ctx, *s); err != nil {
			return fmt.Errorf("repro-check %s: build %s: %w (work directory %s kept)", name, s.name, err, work)
		}
	}

	cstart := time.Now()
	opts := repro.Options{WorkDir: filepath.Join(work, "diff"), Explain: explainPE}
	if !v.GetBool("no-diffoscope") {
		opts.Diffoscope = repro.FindDiffoscope()
	}
	rep, err := compareOutputs(ctx, sides[0].out, sides[1].out, opts)
	if err != nil {
		return fmt.Errorf("repro-check %s: compare: %w (work directory %s kept)", name, err, work)
	}
	rc.timings = append(rc.timings, "compare "+time.Since(cstart).Round(time.Millisecond).String())
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "repro-check %s (scope %s): %s, total %s\n", name, rc.scope, strings.Join(rc.timings, ", "), time.Since(start).Round(time.Second))
	if opts.Diffoscope == "" && !rep.Reproducible() {
		fmt.Fprintln(out, "(diffoscope is not installed: file-level differences only; apt-get install diffoscope for more)")
	}
	if err := rep.Write(out, v.GetBool("all")); err != nil {
		return err
	}
	if !rep.Reproducible() {
		return &exitError{code: exitNotReproducible, message: fmt.Sprintf(
			"repro-check %s: not reproducible: %d of %d compared artifacts differ; both outputs are in %s",
			name, len(rep.Differing()), len(rep.Items), work)}
	}
	if v.GetBool("keep") {
		fmt.Fprintf(out, "outputs kept in %s\n", work)
		return nil
	}
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("repro-check %s: remove work directory: %w", name, err)
	}
	return nil
}

// newReproCheck reads the check's settings and plans the target once, so
// a bad target or tree fails before any engine starts.
func newReproCheck(v *viper.Viper, name string, log io.Writer) (*reproCheck, error) {
	scope := v.GetString("scope")
	if scope != scopeFull && scope != scopePackages {
		return nil, fmt.Errorf("--scope %q: want %s or %s", scope, scopeFull, scopePackages)
	}
	opts, err := buildOptions(v, name)
	if err != nil {
		return nil, err
	}
	opts.NoCache = true
	opts.KeepToolchain = scope == scopePackages
	dir, err := filepath.Abs(v.GetString("dir"))
	if err != nil {
		return nil, err
	}
	req := solve.Request{
		Dir:         dir,
		Options:     opts,
		Secrets:     v.GetStringSlice("secret"),
		Progress:    v.GetString("progress"),
		ProgressOut: log,
		ToolsDir:    v.GetString("tools-dir"),
	}
	if req.ToolsDir == "" {
		if req.ToolsDir, err = toolsDir(); err != nil {
			return nil, err
		}
	}
	warnDynamicTool(log, req.ToolsDir)
	plan, err := planBuild(req, log)
	if err != nil {
		return nil, err
	}
	rc := &reproCheck{v: v, target: name, scope: scope, req: req, log: log}
	switch plan.Targets[0].Kind {
	case target.Image, target.Recipe, target.Named:
		rc.layout = true
	}
	addr := v.GetString("addr")
	if addr == "" {
		addr = os.Getenv("BUILDKIT_HOST")
	}
	rc.fresh = scope == scopeFull && addr == ""
	if scope == scopeFull && !rc.fresh {
		fmt.Fprintf(log, "repro-check: --addr %s: both builds run on that engine with --no-cache (no fresh engine state)\n", addr)
	}
	return rc, nil
}

// build builds the target for side s into s.out, on a fresh engine of
// its own under s.dir when the check wants one.
func (rc *reproCheck) build(ctx context.Context, s reproSide) error {
	req := rc.req
	req.Dir = s.tree
	spec := "type=local,dest=" + s.out
	if rc.layout {
		spec = "type=oci,tar=false,dest=" + s.out
	}
	req.Outputs = []string{spec}
	plan, err := solve.Plan(req)
	if err != nil {
		return err
	}
	var c *client.Client
	where := "the configured engine"
	if rc.fresh {
		cfg := engineConfig(rc.v, rc.log)
		cfg.Root = filepath.Join(s.dir, "engine")
		e, err := engine.New(cfg)
		if err != nil {
			return err
		}
		if err := e.Start(ctx); err != nil {
			return fmt.Errorf("start a fresh engine: %w", err)
		}
		defer rc.stopEngine(e)
		if c, err = engine.Connect(ctx, e.Addr()); err != nil {
			return err
		}
		where = "a fresh engine (" + cfg.Root + ")"
	} else if c, err = connectEngine(ctx, rc.v, rc.log); err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(rc.log, "repro-check: build %s of %s from %s on %s\n", s.name, rc.target, s.tree, where)
	start := time.Now()
	if _, err := solve.Run(ctx, c, req, plan); err != nil {
		if rc.fresh {
			return err // its log is in the work directory, which is kept
		}
		return explainEngineLoss(rc.v, err)
	}
	rc.timings = append(rc.timings, fmt.Sprintf("build %s %s", s.name, time.Since(start).Round(time.Second)))
	return nil
}

// stopEngine stops a fresh engine and removes its state (its log stays
// with the work directory).
func (rc *reproCheck) stopEngine(e *engine.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		fmt.Fprintf(rc.log, "repro-check: stop engine %s: %v\n", e.Paths().Root, err)
		return
	}
	if err := os.RemoveAll(e.Paths().State); err != nil {
		fmt.Fprintf(rc.log, "repro-check: remove engine state %s: %v\n", e.Paths().State, err)
	}
}

// reproWorkDir creates the check's work directory: dir when given (it
// must not hold anything yet), else a new one under the user cache dir.
func reproWorkDir(dir, name string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
			return "", fmt.Errorf("--work-dir %s is not empty", abs)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", fmt.Errorf("--work-dir: %w", err)
		}
		return abs, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	base = filepath.Join(base, "hadron", "repro-check")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("repro-check work directory: %w", err)
	}
	d, err := os.MkdirTemp(base, strings.NewReplacer("/", "-", "@", "-").Replace(name)+"-")
	if err != nil {
		return "", fmt.Errorf("repro-check work directory: %w", err)
	}
	return d, nil
}

// copyTreeRoots copies the folders of the project tree a build reads
// (frontend.TreeRoots) from src to dst, keeping modes and symlinks.
func copyTreeRoots(src, dst string) error {
	for _, root := range frontend.TreeRoots {
		from := filepath.Join(src, root)
		if _, err := os.Lstat(from); os.IsNotExist(err) {
			continue
		}
		to := filepath.Join(dst, root)
		if err := os.MkdirAll(to, 0o755); err != nil {
			return fmt.Errorf("copy the tree for the second build: %w", err)
		}
		err := treecopy.Copy(from, to, treecopy.Options{})
		if err != nil {
			return fmt.Errorf("copy the tree for the second build: %w", err)
		}
	}
	return nil
}
