package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoDir is the real project tree.
func repoDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../..")
	require.NoError(t, err)
	return d
}

// TestBuildFailsFastBeforeBuildKit: problems in the tree or the target are
// reported by the local planning step, before any engine is contacted
// (the --addr below would fail differently).
func TestBuildFailsFastBeforeBuildKit(t *testing.T) {
	dir := writeTree(t, smallTree())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"-C", repoDir(t), "build", "nosuch", "--addr", "tcp://127.0.0.1:1"}, `no recipe named "nosuch"`},
		{"unknown platform", []string{"-C", repoDir(t), "build", "mini", "--platform", "linux/s390x", "--addr", "tcp://127.0.0.1:1"}, "unsupported platform linux/s390x"},
		{"bad output", []string{"-C", repoDir(t), "build", "mini", "-o", "type=", "--addr", "tcp://127.0.0.1:1"}, "--output"},
		{"bad progress", []string{"-C", repoDir(t), "build", "mini", "--progress", "fancy", "--addr", "tcp://127.0.0.1:1"}, "--progress"},
		{"broken tree", []string{"-C", dir, "build", "mini", "--addr", "tcp://127.0.0.1:1"}, "recipe"},
	}
	// Break the small tree: a dangling build dependency.
	p := filepath.Join(dir, "recipes/musl/recipe.yaml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(data), "name: musl", "name: musl\ndependencies:\n  build: [ghost]", 1)), 0o644))
	tests[4].want = "ghost"

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, stderr, code := runHadronCLI(t, tt.args...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, "cannot reach BuildKit", "planning must fail before the engine is contacted")
			t.Logf("failed in %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr))
		})
	}
}

// TestBuildUnreachableBuildKit: a valid plan with an engine that is not
// there fails quickly, naming the address.
func TestBuildUnreachableBuildKit(t *testing.T) {
	start := time.Now()
	_, stderr, code := runHadronCLI(t, "-C", repoDir(t), "build", "mini", "--addr", "tcp://127.0.0.1:1")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "cannot reach BuildKit at tcp://127.0.0.1:1")
	assert.Less(t, time.Since(start), 30*time.Second)
}
