package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/tests/fakeupstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bumpTree writes a one-recipe tree whose upstream (a fake GitHub) has a
// newer tag.
func bumpTree(t *testing.T, srv *fakeupstream.Server) string {
	root := t.TempDir()
	srv.SetTags("example/one", "v1.1", "v1.0")
	old := fakeupstream.Tarball("one", "1.0")
	srv.AddFile("one-1.0.tar.gz", old)
	srv.AddFile("one-1.1.tar.gz", fakeupstream.Tarball("one", "1.1"))
	dir := filepath.Join(root, "recipes", "one")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "recipe.yaml"), []byte(`name: one
version: "1.0"  # bumped nightly
license: MIT
sources:
  - url: `+srv.URL+`/dl/one-${version}.tar.gz
build: {style: make}
upstream: {kind: github-tags, repo: example/one}
`), 0o644))
	s256, s512 := sha256.Sum256(old), sha512.Sum512(old)
	require.NoError(t, lockfile.Write(filepath.Join(root, lockfile.PathFor("one")), &lockfile.Lock{
		Recipe: "one", Version: "1.0",
		Sources: []lockfile.Pin{{URL: srv.URL + "/dl/one-1.0.tar.gz", SHA256: hex.EncodeToString(s256[:]),
			SHA512: hex.EncodeToString(s512[:]), Size: int64(len(old))}},
	}))
	return root
}

func runHadron(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return stdout.String(), 0
	}
	var ec exitCoder
	if errors.As(err, &ec) {
		return stdout.String(), ec.ExitCode()
	}
	t.Logf("stderr: %s", stderr.String())
	return stdout.String() + err.Error(), -1
}

func TestBumpCommand(t *testing.T) {
	srv := fakeupstream.New(t)
	root := bumpTree(t, srv)
	t.Setenv("GITHUB_TOKEN", "test-token")
	api := "--github-api=" + srv.APIURL()
	md := filepath.Join(t.TempDir(), "report.md")

	out, code := runHadron(t, "-C", root, "bump", api, "--dry-run", "--report", "json")
	assert.Equal(t, 10, code, "dry run with an update available: %s", out)
	var rep struct {
		DryRun  bool `json:"dry_run"`
		Results []struct{ Recipe, Status, Latest string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.True(t, rep.DryRun)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, "available", rep.Results[0].Status)
	assert.Equal(t, "1.1", rep.Results[0].Latest)
	assert.True(t, srv.SawAuthorization("Bearer test-token"), "GITHUB_TOKEN is used")

	out, code = runHadron(t, "-C", root, "bump", api, "--report-file", md, "one")
	assert.Equal(t, 10, code, out)
	assert.Contains(t, out, "| one | 1.0 | 1.1 |")
	written, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Equal(t, out, string(written), "--report-file gets the same markdown")
	recipe, err := os.ReadFile(filepath.Join(root, "recipes", "one", "recipe.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(recipe), "version: \"1.1\"  # bumped nightly\n")

	out, code = runHadron(t, "-C", root, "bump", api, "--verify")
	assert.Equal(t, 0, code, "nothing to do: %s", out)

	srv.AddFile("one-1.1.tar.gz", []byte("re-tagged\n"))
	out, code = runHadron(t, "-C", root, "bump", api, "--verify")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "CHECKSUM CHANGED")

	_, code = runHadron(t, "-C", root, "bump", "--report", "yaml")
	assert.Equal(t, -1, code)
	_, code = runHadron(t, "-C", root, "bump", "--report-file", "x.txt")
	assert.Equal(t, -1, code)
}
