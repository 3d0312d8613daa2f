package engine

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeExe creates an executable file at p.
func writeExe(t *testing.T, p string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
}

func TestBinaryFinderOrder(t *testing.T) {
	dir := t.TempDir()
	exeDir := filepath.Join(dir, "exe")
	pathDir := filepath.Join(dir, "path")
	binDir := filepath.Join(dir, "cache")
	explicit := filepath.Join(dir, "explicit", "buildkitd")
	nextToExe := filepath.Join(exeDir, "buildkitd")
	inPath := filepath.Join(pathDir, "buildkitd")
	cached := filepath.Join(binDir, "buildkit-v9.9.9", "buildkitd")

	tests := []struct {
		name     string
		explicit string
		present  []string
		want     string
		wantErr  string
	}{
		{"explicit wins", explicit, []string{explicit, nextToExe, inPath, cached}, explicit, ""},
		{"explicit missing is an error", explicit, []string{nextToExe}, "", "not an executable file"},
		{"next to executable", "", []string{nextToExe, inPath, cached}, nextToExe, ""},
		{"then PATH", "", []string{inPath, cached}, inPath, ""},
		{"then cache dir", "", []string{cached}, cached, ""},
		{"none", "", nil, "", "buildkitd not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, os.RemoveAll(dir))
			for _, p := range tt.present {
				writeExe(t, p)
			}
			f := binaryFinder{
				explicit: tt.explicit,
				binDir:   binDir,
				lookPath: func(name string) (string, error) {
					p := filepath.Join(pathDir, name)
					if isExecutable(p) {
						return p, nil
					}
					return "", exec.ErrNotFound
				},
				executable: func() (string, error) { return filepath.Join(exeDir, "hadron"), nil },
				version:    func() string { return "v9.9.9" },
			}
			got, err := f.find()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBinaryFinderNotFoundIsErrNoBinary(t *testing.T) {
	f := binaryFinder{
		binDir:     t.TempDir(),
		lookPath:   func(string) (string, error) { return "", exec.ErrNotFound },
		executable: func() (string, error) { return "", errors.New("unknown") },
		version:    func() string { return "" },
	}
	_, err := f.find()
	assert.ErrorIs(t, err, errNoBinary)
}

func TestBinaryBuildWithoutSourceTreeExplains(t *testing.T) {
	f := binaryFinder{
		binDir:   t.TempDir(),
		lookPath: func(string) (string, error) { return "", exec.ErrNotFound },
		version:  func() string { return "v0.1.0" },
	}
	_, err := f.build(context.Background(), t.Logf)
	require.ErrorIs(t, err, errNoBinary)
	assert.Contains(t, err.Error(), "--addr")
	assert.Contains(t, err.Error(), "v0.1.0")

	f.moduleDir = t.TempDir()
	_, err = f.build(context.Background(), t.Logf)
	require.ErrorIs(t, err, errNoBinary)
	assert.Contains(t, err.Error(), "no go.mod")
}

func TestPinnedVersion(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	gomod := filepath.Join(dir, "go.mod")
	require.NoError(t, os.WriteFile(gomod, []byte("module example.com/x\n\ngo 1.26\n\nrequire (\n\tgithub.com/moby/buildkit v0.34.2 // indirect\n)\n"), 0o644))

	found, err := findGoMod(sub)
	require.NoError(t, err)
	assert.Equal(t, gomod, found)
	v, err := pinnedVersion(found)
	require.NoError(t, err)
	assert.Equal(t, "v0.34.2", v)

	require.NoError(t, os.WriteFile(gomod, []byte("module example.com/x\n"), 0o644))
	_, err = pinnedVersion(gomod)
	assert.ErrorContains(t, err, "does not require github.com/moby/buildkit")
}

// TestRepoPinsBuildkit keeps the engine's build fallback working: hadron's
// own go.mod must pin BuildKit.
func TestRepoPinsBuildkit(t *testing.T) {
	gomod, err := findGoMod(".")
	require.NoError(t, err)
	v, err := pinnedVersion(gomod)
	require.NoError(t, err)
	assert.Regexp(t, `^v0\.\d+\.\d+`, v)
}

func TestPIDFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.pid")
	pid, err := readPID(p)
	require.NoError(t, err)
	assert.Zero(t, pid)
	require.NoError(t, writePID(p, 4242))
	pid, err = readPID(p)
	require.NoError(t, err)
	assert.Equal(t, 4242, pid)
	require.NoError(t, os.WriteFile(p, []byte("garbage\n"), 0o644))
	_, err = readPID(p)
	assert.ErrorContains(t, err, "not a process id")
}

func TestIsBuildkitdRejectsOtherProcesses(t *testing.T) {
	assert.False(t, isBuildkitd(0))
	assert.False(t, isBuildkitd(os.Getpid()), "the test binary is not buildkitd")
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.False(t, isBuildkitd(pid), "an exited process is not running")
}

func TestDialUnreachableIsQuickAndClear(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{"tcp://127.0.0.1:1", "cannot reach BuildKit at tcp://127.0.0.1:1"},
		{"unix:///nonexistent/buildkitd.sock", "cannot reach BuildKit at unix:///nonexistent/buildkitd.sock"},
		{"127.0.0.1:1234", "has no scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			start := time.Now()
			_, err := dial(context.Background(), tt.addr, 3*time.Second)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}
