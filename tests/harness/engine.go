package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/engine"
)

// StartEngine returns the address of a buildkitd shared by the whole test
// binary, started on first use through internal/engine. Its root is
// <state dir>/buildkit, so its build cache survives between runs; several
// test binaries running at once share it (the configuration does not
// depend on ports, so none of them restarts it). The registry is started
// first so tests can push to it from the start.
//
// The daemon is out/bin/buildkitd when prepare.sh has built it, otherwise
// whatever internal/engine finds or builds from go.mod.
func StartEngine(t testing.TB) string {
	t.Helper()
	Require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if _, err := sharedRegistry(); err != nil {
		t.Fatalf("harness: registry: %v", err)
	}
	if shared.engine == nil {
		start := time.Now()
		lease, err := startEngine(context.Background())
		if err != nil {
			t.Fatalf("harness: engine: %v", err)
		}
		t.Logf("harness: buildkitd at %s ready after %s", lease.e.Addr(), time.Since(start).Round(time.Millisecond))
		shared.engine = lease
	}
	return shared.engine.e.Addr()
}

// GCKeepStorage is the build cache the harness's engine keeps: build
// steps of a whole distribution (two toolchains, kernels, the base
// system) need room, and the e2e cache is meant to survive between runs.
// tests/tools/offline-build asks for the same, so that it and the e2e
// tests share one running engine instead of restarting it.
const GCKeepStorage = "40GB"

// EngineConfig is the engine configuration the harness uses.
func EngineConfig() (engine.Config, error) {
	state, err := StateDir()
	if err != nil {
		return engine.Config{}, err
	}
	repo, err := RepoRoot()
	if err != nil {
		return engine.Config{}, err
	}
	cfg := engine.Config{
		Root:          filepath.Join(state, "buildkit"),
		BinDir:        filepath.Join(repo, "out", "bin"),
		ModuleDir:     repo,
		GCKeepStorage: GCKeepStorage,
	}
	if p := filepath.Join(repo, "out", "bin", "buildkitd"); isExecutable(p) {
		cfg.Binary = p
	}
	if port := os.Getenv(EnvRegistryPort); port != "" {
		cfg.InsecureRegistries = []string{"127.0.0.1:" + port}
	}
	return cfg, nil
}

// StartIsolatedEngine starts a buildkitd of t's own and returns its
// address: the harness's binary and settings, but a fresh state dir
// (under t.TempDir), so it shares no cache with StartEngine's engine or
// any other. It stops when t ends. Tests of what crosses between machines
// (registry cache export and import) use it as the second machine.
func StartIsolatedEngine(t testing.TB) string {
	t.Helper()
	Require(t)
	cfg, err := EngineConfig()
	if err != nil {
		t.Fatalf("harness: isolated engine: %v", err)
	}
	cfg.Root = filepath.Join(t.TempDir(), "buildkit")
	cfg.Log = t.Logf
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatalf("harness: isolated engine: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	if err := e.Start(ctx); err != nil {
		t.Fatalf("harness: isolated engine: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("harness: stopping the isolated engine: %v", err)
		}
	})
	t.Logf("harness: isolated buildkitd at %s (state %s) ready after %s", e.Addr(), cfg.Root, time.Since(start).Round(time.Millisecond))
	return e.Addr()
}

// engineLease is this binary's use of the shared engine. A shared flock on
// a file next to the engine root marks the engine as in use; the last
// binary to release it stops the daemon.
type engineLease struct {
	e     *engine.Engine
	lease *os.File
	// adopted is true when the engine was already running, healthy and
	// configured as the harness wants before the harness came (started by
	// `hadron build` or tests/tools/offline-build on the same state): it
	// is someone else's, and the harness leaves it running.
	adopted bool
}

// startEngine takes a lease on the shared engine and makes sure it runs.
func startEngine(ctx context.Context) (*engineLease, error) {
	cfg, err := EngineConfig()
	if err != nil {
		return nil, err
	}
	// Not t.Logf: the engine outlives the test that started it.
	cfg.Log = stderrf
	e, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Root), 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(cfg.Root), err)
	}
	f, err := os.OpenFile(cfg.Root+".users", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening engine lease: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("taking engine lease: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute) // includes building buildkitd
	defer cancel()
	before, _ := e.Status(ctx)
	if err := e.Start(ctx); err != nil {
		f.Close()
		return nil, err
	}
	after, _ := e.Status(ctx)
	adopted := before.Healthy && after.Healthy && before.PID == after.PID
	if adopted {
		stderrf("using the running buildkitd (pid %d), which it will leave running", after.PID)
	}
	return &engineLease{e: e, lease: f, adopted: adopted}, nil
}

// Release gives up the lease and stops buildkitd when no other test binary
// holds one, unless the harness found it running (adopted).
func (l *engineLease) Release() error {
	defer l.lease.Close()
	if err := syscall.Flock(int(l.lease.Fd()), syscall.LOCK_UN); err != nil {
		return fmt.Errorf("releasing engine lease: %w", err)
	}
	if l.adopted {
		return nil
	}
	err := syscall.Flock(int(l.lease.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil // another test binary still uses it
	}
	if err != nil {
		return fmt.Errorf("checking engine lease: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return l.e.Stop(ctx)
}

// isExecutable reports whether p is a regular file with an execute bit.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// stderrf writes a harness note to stderr.
func stderrf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "harness: "+format+"\n", args...)
}
