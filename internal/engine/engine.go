package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Engine manages one local buildkitd described by a Config. Its methods are
// safe to call from several goroutines and several processes at once: Start
// and Stop take a file lock under the engine root.
type Engine struct {
	cfg   Config
	paths Paths

	mu    sync.Mutex
	child *exec.Cmd     // the buildkitd this process started, if any
	done  chan struct{} // closed when child has exited and been reaped
}

// Status describes the local engine as Status found it.
type Status struct {
	// Running is true when a buildkitd process owns the engine root.
	Running bool
	// Healthy is true when that buildkitd answered a worker listing.
	Healthy bool
	// PID is the buildkitd process id (0 when not running).
	PID int
	// Addr is the address clients connect to.
	Addr string
	// Paths are the engine's files.
	Paths Paths
	// Version is the BuildKit version the daemon reports.
	Version string
	// Workers are the daemon's workers.
	Workers []Worker
	// Err is why a running daemon is not healthy.
	Err error
}

// Worker is one BuildKit worker as reported by the daemon.
type Worker struct {
	// ID is the worker id.
	ID string
	// Platforms are the platforms it builds for, in os/arch[/variant] form.
	Platforms []string
	// Labels carry the worker's executor, snapshotter and hostname.
	Labels map[string]string
}

// New checks cfg, fills in defaults and returns the Engine. It starts
// nothing.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := pathsFor(cfg.Root)
	if len(p.Socket) > maxSocketPath {
		return nil, fmt.Errorf("engine root %s is too deep: the socket path %s is longer than %d bytes; set engine.root to a shorter directory", cfg.Root, p.Socket, maxSocketPath)
	}
	return &Engine{cfg: cfg, paths: p}, nil
}

// Paths returns the engine's files.
func (e *Engine) Paths() Paths { return e.paths }

// Addr returns the address clients use to reach the engine.
func (e *Engine) Addr() string { return e.paths.Addr() }

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Start makes sure a healthy buildkitd with the engine's configuration is
// running and returns once it answers. A healthy daemon already running
// with the same configuration is reused; one started with a different
// configuration (e.g. other insecure registries) is restarted.
func (e *Engine) Start(ctx context.Context) error {
	if err := os.MkdirAll(e.paths.Root, 0o755); err != nil {
		return fmt.Errorf("creating engine root: %w", err)
	}
	unlock, err := lockFile(e.paths.Lock)
	if err != nil {
		return err
	}
	defer unlock()

	want, err := renderConfig(e.cfg, e.paths)
	if err != nil {
		return err
	}
	pid, err := readPID(e.paths.PIDFile)
	if err != nil {
		return err
	}
	if isBuildkitd(pid) {
		have, _ := os.ReadFile(e.paths.Config)
		switch {
		case !bytes.Equal(have, want):
			e.cfg.Log("restarting buildkitd (pid %d): its configuration changed", pid)
		case ping(ctx, e.Addr(), 5*time.Second) == nil:
			return nil
		default:
			e.cfg.Log("restarting buildkitd (pid %d): it does not answer", pid)
		}
		if err := e.stopLocked(ctx, pid); err != nil {
			return err
		}
	}
	e.removeRuntimeFiles()

	if os.Geteuid() != 0 {
		return errors.New("the local engine runs buildkitd as root: run hadron as root, " +
			"or start BuildKit yourself (rootless buildkitd, Docker's BuildKit) and pass --addr")
	}
	finder := newBinaryFinder(e.cfg)
	if err := ensureRunc(ctx, finder.lookPath, e.cfg.Log); err != nil {
		return err
	}
	bin, err := finder.find()
	if errors.Is(err, errNoBinary) {
		bin, err = finder.build(ctx, e.cfg.Log)
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(e.paths.Config, want, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", e.paths.Config, err)
	}
	return e.spawn(ctx, bin)
}

// spawn starts bin with the generated config and waits until it answers.
func (e *Engine) spawn(ctx context.Context, bin string) error {
	logf, err := os.OpenFile(e.paths.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening engine log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- hadron: starting %s --config %s at %s\n", bin, e.paths.Config, time.Now().UTC().Format(time.RFC3339))

	cmd := exec.Command(bin, "--config", e.paths.Config)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = e.paths.Root
	// Own session: the daemon outlives hadron and ignores its terminal's
	// Ctrl-C.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	e.cfg.Log("starting buildkitd (%s), state in %s", bin, e.paths.Root)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	e.mu.Lock()
	e.child, e.done = cmd, done
	e.mu.Unlock()
	if err := writePID(e.paths.PIDFile, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		return err
	}

	deadline := time.Now().Add(e.cfg.StartTimeout)
	var lastErr error
	for {
		select {
		case <-done:
			e.removeRuntimeFiles()
			return fmt.Errorf("buildkitd exited while starting (%s); last log lines from %s:\n%s",
				cmd.ProcessState, e.paths.LogFile, logTail(e.paths.LogFile, 15))
		case <-ctx.Done():
			_ = e.stopLocked(context.WithoutCancel(ctx), cmd.Process.Pid)
			return fmt.Errorf("waiting for buildkitd to start: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := os.Stat(e.paths.Socket); err == nil {
			if lastErr = ping(ctx, e.Addr(), 2*time.Second); lastErr == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = e.stopLocked(context.WithoutCancel(ctx), cmd.Process.Pid)
			return fmt.Errorf("buildkitd did not answer within %s (last error: %v); last log lines from %s:\n%s",
				e.cfg.StartTimeout, lastErr, e.paths.LogFile, logTail(e.paths.LogFile, 15))
		}
	}
}

// Stop stops the engine's buildkitd: SIGTERM, then SIGKILL when it has not
// exited within the stop timeout. Stopping an engine that is not running is
// not an error. The pid file and socket are removed; state and log stay.
func (e *Engine) Stop(ctx context.Context) error {
	if _, err := os.Stat(e.paths.Root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockFile(e.paths.Lock)
	if err != nil {
		return err
	}
	defer unlock()
	pid, err := readPID(e.paths.PIDFile)
	if err != nil {
		return err
	}
	if !isBuildkitd(pid) {
		e.removeRuntimeFiles()
		return nil
	}
	return e.stopLocked(ctx, pid)
}

// stopLocked signals pid and waits for it; the caller holds the lock.
func (e *Engine) stopLocked(ctx context.Context, pid int) error {
	exited := e.exitWatcher(pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping buildkitd (pid %d): %w", pid, err)
	}
	if !exited(ctx, e.cfg.StopTimeout) {
		e.cfg.Log("buildkitd (pid %d) did not exit within %s; killing it", pid, e.cfg.StopTimeout)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("killing buildkitd (pid %d): %w", pid, err)
		}
		if !exited(ctx, 10*time.Second) {
			return fmt.Errorf("buildkitd (pid %d) is still running after SIGKILL", pid)
		}
	}
	e.removeRuntimeFiles()
	return nil
}

// exitWatcher returns a function that waits up to d for pid to exit. For a
// child of this process it waits on the reaper; for any other process it
// polls, since only the parent can wait.
func (e *Engine) exitWatcher(pid int) func(context.Context, time.Duration) bool {
	e.mu.Lock()
	var done chan struct{}
	if e.child != nil && e.child.Process.Pid == pid {
		done = e.done
	}
	e.mu.Unlock()
	return func(ctx context.Context, d time.Duration) bool {
		timer := time.NewTimer(d)
		defer timer.Stop()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if done == nil && !isBuildkitd(pid) {
				return true
			}
			select {
			case <-done:
				return true
			case <-timer.C:
				return false
			case <-ctx.Done():
				return false
			case <-tick.C:
			}
		}
	}
}

// removeRuntimeFiles deletes the pid file and socket of a stopped daemon.
func (e *Engine) removeRuntimeFiles() {
	_ = os.Remove(e.paths.PIDFile)
	_ = os.Remove(e.paths.Socket)
}

// Status reports whether the engine runs and, when it does, what it says
// about itself.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	st := Status{Addr: e.Addr(), Paths: e.paths}
	pid, err := readPID(e.paths.PIDFile)
	if err != nil {
		return st, err
	}
	if !isBuildkitd(pid) {
		return st, nil
	}
	st.Running, st.PID = true, pid
	info, err := describe(ctx, e.Addr(), 5*time.Second)
	if err != nil {
		st.Err = err
		return st, nil
	}
	st.Healthy, st.Version, st.Workers = true, info.Version, info.Workers
	return st, nil
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
