// Command prepare fills the e2e harness caches ahead of a test run: it
// downloads the mirrored source tarballs from Debian's archive and builds
// the stage0 rootfs tarball, both under $HADRON_E2E_CACHE (default
// <repo>/out/cache). tests/harness/prepare.sh runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hadron-linux/hadron/tests/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "prepare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cache, err := harness.CacheDir()
	if err != nil {
		return err
	}
	sources := filepath.Join(cache, "sources")
	if err := harness.FetchSources(ctx, sources, harness.Sources); err != nil {
		return err
	}
	for _, s := range harness.Sources {
		fmt.Printf("source  %s  %s\n", s.File, filepath.Join(sources, s.DebianOrig))
	}
	start := time.Now()
	spec := harness.DefaultStage0()
	rootfs, err := harness.BuildStage0(ctx, spec, cache)
	if err != nil {
		return err
	}
	fmt.Printf("stage0  %s  %s (%s)\n", spec.Key(), rootfs, time.Since(start).Round(time.Second))
	return nil
}
