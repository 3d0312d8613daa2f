// Package harness gives end-to-end tests a real build environment on one
// machine: a local buildkitd (StartEngine), an in-process OCI registry on
// 127.0.0.1 (StartRegistry), a Debian bootstrap image pushed to it (Stage0)
// and a loopback mirror of upstream source tarballs (SourceMirror).
//
// Everything is shared by the whole test binary and created on first use;
// call Shutdown from TestMain to release it:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		harness.Shutdown()
//		os.Exit(code)
//	}
//
// Tests that use the harness call Require first: it skips them unless
// HADRON_E2E=1. Persistent state (buildkitd's cache, registry blobs) lives
// under $HADRON_E2E_ROOT (default <repo>/out/e2e) and downloads and the
// stage0 rootfs under $HADRON_E2E_CACHE (default <repo>/out/cache), so
// reruns are fast. tests/harness/prepare.sh fills both ahead of time.
package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Environment variables the harness reads.
const (
	// EnvE2E must be "1" for harness tests to run.
	EnvE2E = "HADRON_E2E"
	// EnvRoot overrides the state directory (default <repo>/out/e2e).
	EnvRoot = "HADRON_E2E_ROOT"
	// EnvCache overrides the download cache (default <repo>/out/cache).
	EnvCache = "HADRON_E2E_CACHE"
	// EnvRegistryPort fixes the registry's port (default: a free one).
	EnvRegistryPort = "HADRON_E2E_REGISTRY_PORT"
	// EnvStage0 replaces Stage0's image with the given reference.
	EnvStage0 = "HADRON_STAGE0"
)

// Require skips the test unless HADRON_E2E=1.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvE2E) != "1" {
		t.Skipf("end-to-end test (real buildkitd, registry, Debian stage0); set %s=1 to run", EnvE2E)
	}
}

// EnvE2EFull enables the full tier: builds too long for CI (whole-machine
// kernels, toolchains, full images). It implies EnvE2E.
const EnvE2EFull = "HADRON_E2E_FULL"

// RequireFull skips t, saying which variable enables it, unless the full
// tier is enabled (HADRON_E2E_FULL=1, with HADRON_E2E=1).
func RequireFull(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvE2EFull) != "1" {
		t.Skipf("full-tier test (long builds); set %s=1 (and %s=1) to run, or `make test-full`", EnvE2EFull, EnvE2E)
	}
	Require(t)
}

// shared is the state of one test binary, created on first use and released
// by Shutdown.
var shared struct {
	mu       sync.Mutex
	registry *registryServer
	mirror   *mirrorServer
	engine   *engineLease
	stage0   map[string]string // stage0 key + registry → pinned reference
}

// Shutdown stops what the harness started in this test binary: the
// registry, the source mirror and, when no other test binary is using it,
// buildkitd. Safe to call more than once and when nothing was started.
func Shutdown() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var errs []error
	if shared.registry != nil {
		errs = append(errs, shared.registry.Close())
		shared.registry = nil
	}
	if shared.mirror != nil {
		errs = append(errs, shared.mirror.Close())
		shared.mirror = nil
	}
	if shared.engine != nil {
		errs = append(errs, shared.engine.Release())
		shared.engine = nil
	}
	shared.stage0 = nil
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "harness: shutdown:", err)
	}
}

// RepoRoot returns the hadron source tree: the nearest directory at or
// above the working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// StateDir returns the directory for persistent harness state:
// $HADRON_E2E_ROOT, else <repo>/out/e2e.
func StateDir() (string, error) {
	return dirFromEnv(EnvRoot, "e2e")
}

// CacheDir returns the download and stage0 cache: $HADRON_E2E_CACHE, else
// <repo>/out/cache.
func CacheDir() (string, error) {
	return dirFromEnv(EnvCache, "cache")
}

func dirFromEnv(env, under string) (string, error) {
	if d := os.Getenv(env); d != "" {
		return filepath.Abs(d)
	}
	repo, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w (set %s)", err, env)
	}
	return filepath.Join(repo, "out", under), nil
}
