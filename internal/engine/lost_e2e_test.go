package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildSleeper compiles testdata/sleeper statically and returns it: the
// whole root file system of the test's build steps.
func buildSleeper(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sleeper")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", p, "./testdata/sleeper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

// twoSteps is a "first step" writing a file and a second step, named
// second, that runs sleeper with args and reads the first step's output.
// The root file system holds only sleeper, written by a file op: its
// cache key is its content. (A local source would be keyed by session.)
func twoSteps(t *testing.T, sleeper []byte, second string, args ...string) *llb.Definition {
	t.Helper()
	rootfs := llb.Scratch().File(llb.Mkfile("/sleeper", 0o755, sleeper), llb.WithCustomName("rootfs"))
	first := rootfs.Run(llb.Args([]string{"/sleeper", "write", "/out/done", "first"}),
		llb.Network(pb.NetMode_NONE), llb.WithCustomName("first step")).
		AddMount("/out", llb.Scratch())
	run := rootfs.Run(llb.Args(append([]string{"/sleeper"}, args...)),
		llb.Network(pb.NetMode_NONE), llb.WithCustomName(second),
		llb.AddMount("/in", first, llb.Readonly))
	def, err := run.Root().Marshal(context.Background(), llb.LinuxAmd64)
	require.NoError(t, err)
	return def
}

// vertexStates records, by vertex name, whether each vertex started,
// finished and came from the cache.
type vertexStates struct {
	mu      sync.Mutex
	started map[string]bool
	cached  map[string]bool
}

func (s *vertexStates) watch(ch chan *client.SolveStatus, onStart func(name string)) {
	for st := range ch {
		for _, v := range st.Vertexes {
			s.mu.Lock()
			if v.Cached {
				s.cached[v.Name] = true
			}
			first := v.Started != nil && !s.started[v.Name]
			if v.Started != nil {
				s.started[v.Name] = true
			}
			s.mu.Unlock()
			if first && onStart != nil {
				onStart(v.Name)
			}
		}
	}
}

// deleteOrphanContainers force-deletes the build containers a killed
// buildkitd left running (the long step's container outlives its daemon).
// Their runc state is under the engine's state dir, where BuildKit's runc
// executor keeps it; without this the test's temporary directory cannot
// be removed while the orphan still uses its root file system.
func deleteOrphanContainers(t *testing.T, state string) {
	runcRoot := filepath.Join(state, "runc-overlayfs", "executor")
	out, err := exec.Command("runc", "--root", runcRoot, "list", "-q").Output()
	if err != nil {
		t.Logf("runc list in %s: %v", runcRoot, err)
		return
	}
	for _, id := range strings.Fields(string(out)) {
		if out, err := exec.Command("runc", "--root", runcRoot, "delete", "--force", id).CombinedOutput(); err != nil {
			t.Errorf("deleting the orphaned build container %s: %v: %s", id, err, out)
		}
	}
}

// TestEngineKilledMidBuild kills the managed buildkitd while a build step
// runs: the build's error says the engine stopped, where its log is and
// that a rerun resumes from the cache; the rerun restarts the engine (as
// every hadron build does) and takes the step that had finished from the
// cache.
func TestEngineKilledMidBuild(t *testing.T) {
	if os.Getenv("HADRON_E2E") != "1" {
		t.Skip("starts a real buildkitd (needs root and runc); set HADRON_E2E=1 to run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Setenv("BUILDKIT_HOST", "")
	sleeper := buildSleeper(t)
	var opt client.SolveOpt

	cfg := Config{Root: t.TempDir(), Binary: testBinary(t), ModuleDir: ".", Log: t.Logf}
	e, err := New(cfg)
	require.NoError(t, err)
	// Cleanups run last first: stop the engine, then the orphan, then
	// the temporary directory goes.
	t.Cleanup(func() { deleteOrphanContainers(t, e.Paths().State) })
	t.Cleanup(func() { _ = e.Stop(context.Background()) })

	c, err := ConnectConfig(ctx, "", cfg)
	require.NoError(t, err)
	states := &vertexStates{started: map[string]bool{}, cached: map[string]bool{}}
	ch := make(chan *client.SolveStatus)
	var killed sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		states.watch(ch, func(name string) {
			if name != "long step" {
				return
			}
			killed.Do(func() {
				pid, err := readPID(e.Paths().PIDFile)
				if err == nil {
					t.Logf("killing buildkitd (pid %d) while %q runs", pid, name)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
		})
	}()
	start := time.Now()
	_, err = c.Solve(ctx, twoSteps(t, sleeper, "long step", "sleep", "600"), opt, ch)
	<-done
	c.Close()
	require.Error(t, err, "the build cannot succeed once its engine is gone")
	t.Logf("build ended %s after it started: %v", time.Since(start).Round(time.Millisecond), err)
	require.True(t, states.started["long step"], "the long step started before the kill")

	explained := ExplainLost(err, "", cfg)
	var lost *LostError
	require.ErrorAs(t, explained, &lost, "raw error: %v", err)
	assert.True(t, lost.Stopped)
	msg := explained.Error()
	assert.Contains(t, msg, "the local BuildKit engine stopped during the build")
	assert.Contains(t, msg, "its log: "+e.Paths().LogFile)
	assert.Contains(t, msg, "Run the command again")
	assert.FileExists(t, e.Paths().LogFile)

	// The rerun: connect as the CLI does (the engine restarts), build the
	// same first step with a short second one.
	start = time.Now()
	c, err = ConnectConfig(ctx, "", cfg)
	require.NoError(t, err, "the engine restarts on the next build")
	defer c.Close()
	t.Logf("engine restarted in %s", time.Since(start).Round(time.Millisecond))
	states2 := &vertexStates{started: map[string]bool{}, cached: map[string]bool{}}
	ch = make(chan *client.SolveStatus)
	done = make(chan struct{})
	go func() { defer close(done); states2.watch(ch, nil) }()
	_, err = c.Solve(ctx, twoSteps(t, sleeper, "short step", "sleep", "0"), opt, ch)
	<-done
	require.NoError(t, err)
	t.Logf("rerun: started %v, cached %v", states2.started, states2.cached)
	assert.True(t, states2.cached["first step"], "the step that finished before the kill comes from the cache")
	assert.False(t, states2.cached["short step"])
}
