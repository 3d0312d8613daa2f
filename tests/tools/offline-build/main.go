// Command offline-build runs `hadron build` on a machine without internet,
// as `make build` does: it serves a stage-0 image made from Debian packages
// and a loopback mirror of the pinned upstream tarballs (tests/harness),
// writes a hadron.yaml pointing at them, and runs the hadron binary with
// the remaining arguments. The engine is hadron's own managed buildkitd.
// -command runs another hadron command the same way (`make repro-check`
// runs repro-check); hadron's exit status is passed on.
//
//	go run ./tests/tools/offline-build [--hadron out/bin/hadron] -- mini -o type=local,dest=out/mini
//	go run ./tests/tools/offline-build -command repro-check -- mini
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hadron-linux/hadron/tests/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "offline-build:", err)
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			os.Exit(ee.ExitCode())
		}
		os.Exit(1)
	}
}

func run() error {
	hadron := flag.String("hadron", "out/bin/hadron", "the hadron binary to run")
	command := flag.String("command", "build", "the hadron command to run (build, repro-check)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, err := harness.StartOffline(ctx)
	if err != nil {
		return err
	}
	defer env.Close()

	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	cfg := filepath.Join(root, "out", "offline.yaml")
	if err := os.WriteFile(cfg, []byte(config(env)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "offline-build: stage0 %s, %d mirrored source prefixes, config %s\n", env.Stage0, len(env.Mirrors), cfg)
	args := append([]string{"--config", cfg, "-C", root, *command}, flag.Args()...)
	cmd := exec.CommandContext(ctx, *hadron, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", *hadron, strings.Join(args, " "), err)
	}
	return nil
}

// config renders the hadron.yaml for the offline environment.
func config(env *harness.Offline) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "stage0: %q\nmirrors:\n", env.Stage0)
	keys := make([]string, 0, len(env.Mirrors))
	for k := range env.Mirrors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %q: %q\n", k, env.Mirrors[k])
	}
	// The e2e harness's engine settings: an e2e run on the same state
	// then finds the engine configured as it wants and does not restart it.
	fmt.Fprintf(&sb, "engine:\n  gc-keep-storage: %q\n", harness.GCKeepStorage)
	// Offline, the kernel.org tarball comes through its declared substitute.
	sb.WriteString("substitutes:\n")
	for _, n := range harness.Substitutes {
		fmt.Fprintf(&sb, "  - %q\n", n)
	}
	return sb.String()
}
