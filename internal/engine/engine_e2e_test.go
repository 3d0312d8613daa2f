package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testBinary returns the buildkitd the lifecycle test runs: $HADRON_BUILDKITD,
// else out/bin/buildkitd from `make` / tests/harness/prepare.sh, else ""
// (the engine then finds or builds one itself).
func testBinary(t *testing.T) string {
	if p := os.Getenv("HADRON_BUILDKITD"); p != "" {
		return p
	}
	gomod, err := findGoMod(".")
	require.NoError(t, err)
	p := filepath.Join(filepath.Dir(gomod), "out", "bin", "buildkitd")
	if isExecutable(p) {
		return p
	}
	return ""
}

// TestEngineLifecycle starts a real buildkitd, checks its status, reuses it,
// restarts it for a new configuration and stops it.
func TestEngineLifecycle(t *testing.T) {
	if os.Getenv("HADRON_E2E") != "1" {
		t.Skip("starts a real buildkitd (needs root and runc); set HADRON_E2E=1 to run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	cfg := Config{
		Root:               t.TempDir(),
		Binary:             testBinary(t),
		ModuleDir:          ".",
		InsecureRegistries: []string{"127.0.0.1:5999"},
		Log:                t.Logf,
	}
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Stop(context.Background()) })

	st, err := e.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Running)

	start := time.Now()
	require.NoError(t, e.Start(ctx))
	t.Logf("buildkitd answered after %s", time.Since(start))

	st, err = e.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.Running)
	require.True(t, st.Healthy, "status error: %v", st.Err)
	assert.NotEmpty(t, st.Version)
	require.NotEmpty(t, st.Workers)
	assert.Contains(t, st.Workers[0].Platforms, "linux/amd64")
	assert.Equal(t, "overlayfs", st.Workers[0].Labels["org.mobyproject.buildkit.worker.snapshotter"])
	assert.FileExists(t, e.Paths().Socket)
	firstPID := st.PID

	// Start again: the healthy daemon is reused.
	require.NoError(t, e.Start(ctx))
	st, err = e.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, firstPID, st.PID)

	// Connect through the engine, as the CLI does without --addr.
	c, err := ConnectConfig(ctx, "", cfg)
	require.NoError(t, err)
	ws, err := c.ListWorkers(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, ws)
	require.NoError(t, c.Close())

	// Another registry list means another buildkitd.toml: restart.
	cfg2 := cfg
	cfg2.InsecureRegistries = []string{"127.0.0.1:6000"}
	e2, err := New(cfg2)
	require.NoError(t, err)
	require.NoError(t, e2.Start(ctx))
	st, err = e2.Status(ctx)
	require.NoError(t, err)
	require.True(t, st.Healthy, "status error: %v", st.Err)
	assert.NotEqual(t, firstPID, st.PID)
	toml, err := os.ReadFile(e2.Paths().Config)
	require.NoError(t, err)
	assert.Contains(t, string(toml), `[registry."127.0.0.1:6000"]`)
	assert.False(t, isBuildkitd(firstPID), "the old daemon was stopped")

	require.NoError(t, e2.Stop(ctx))
	st, err = e2.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Running)
	assert.NoFileExists(t, e2.Paths().Socket)
	assert.NoFileExists(t, e2.Paths().PIDFile)
	assert.FileExists(t, e2.Paths().LogFile, "the log is kept")

	// Stopping a stopped engine is fine.
	require.NoError(t, e2.Stop(ctx))
}
