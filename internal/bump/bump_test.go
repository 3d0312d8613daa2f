package bump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/bump/upstream"
	"github.com/hadron-linux/hadron/internal/fetch"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/tests/fakeupstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// srvToken stands for the fake server's URL in recipes and golden files.
const srvToken = "http://upstream.test"

// world is a project tree on disk wired to a fake upstream.
type world struct {
	t    testing.TB
	srv  *fakeupstream.Server
	root string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, srv: fakeupstream.New(t), root: t.TempDir()}
	return w
}

// recipe writes recipes/<name>/recipe.yaml (srvToken replaced by the
// server's URL) and a lock pinning the given sources at their current
// content on the server.
func (w *world) recipe(name, yaml string, pins ...lockfile.Pin) {
	w.t.Helper()
	dir := filepath.Join(w.root, "recipes", name)
	require.NoError(w.t, os.MkdirAll(dir, 0o755))
	require.NoError(w.t, os.WriteFile(filepath.Join(dir, "recipe.yaml"), []byte(w.real(yaml)), 0o644))
	version := ""
	for _, line := range strings.Split(yaml, "\n") {
		if v, ok := strings.CutPrefix(line, "version: "); ok {
			version = strings.Trim(strings.Fields(v)[0], `"'`)
		}
	}
	for i := range pins {
		pins[i].URL = w.real(pins[i].URL)
		pins[i].Git = w.real(pins[i].Git)
	}
	require.NoError(w.t, lockfile.Write(filepath.Join(w.root, lockfile.PathFor(name)),
		&lockfile.Lock{Recipe: name, Version: version, Sources: pins}))
}

// file serves content at /dl/<name> and returns its archive pin.
func (w *world) file(name string, content []byte) lockfile.Pin {
	w.srv.AddFile(name, content)
	s256, s512 := sha256.Sum256(content), sha512.Sum512(content)
	return lockfile.Pin{URL: srvToken + "/dl/" + name, SHA256: hex.EncodeToString(s256[:]),
		SHA512: hex.EncodeToString(s512[:]), Size: int64(len(content))}
}

// tarball serves the fake archive of name-version as /dl/<name>-<version><ext>.
func (w *world) tarball(name, version, ext string) lockfile.Pin {
	return w.file(name+"-"+version+ext, fakeupstream.Tarball(name, version))
}

func (w *world) image(name, yaml string) {
	w.t.Helper()
	dir := filepath.Join(w.root, "images")
	require.NoError(w.t, os.MkdirAll(dir, 0o755))
	require.NoError(w.t, os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(yaml), 0o644))
}

func (w *world) real(s string) string   { return strings.ReplaceAll(s, srvToken, w.srv.URL) }
func (w *world) masked(s string) string { return strings.ReplaceAll(s, w.srv.URL, srvToken) }

func (w *world) read(rel string) string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.root, rel))
	require.NoError(w.t, err)
	return w.masked(string(b))
}

func (w *world) options() Options {
	return Options{
		Root:     w.root,
		Jobs:     4,
		Upstream: upstream.Config{GitHubAPI: w.srv.APIURL()},
		Fetch:    &fetch.Fetcher{CacheDir: w.t.TempDir(), Backoff: time.Millisecond},
		Timeout:  time.Minute,
	}
}

const xzRecipe = `# xz: LZMA compression.
# The comments and layout of this file must survive a bump.
name: xz
version: 5.6.3   # keep this comment
description: "XZ Utils"
license: 0BSD

sources:
  # release tarball, versioned URL
  - url: ` + srvToken + `/dl/xz-${version}.tar.xz

build:
  style: autotools
upstream:
  kind: github-releases
  repo: tukaani-project/xz
  constraint: ">= 5.4, < 6"   # 6.x changes the CLI
`

// makeRecipe is a recipe built with make from one .tar.gz archive served
// by the fake upstream at /dl/<name>-${version}.tar.gz, tracking upstream
// (a YAML flow mapping such as "{kind: github-tags, repo: a/one}").
func makeRecipe(name, version, license, upstream string) string {
	return fmt.Sprintf(`name: %s
version: %q
license: %s
sources:
  - url: %s/dl/%s-${version}.tar.gz
build: {style: make}
upstream: %s
`, name, version, license, srvToken, name, upstream)
}

// build a tree with one recipe per situation the issue lists.
func fullWorld(t *testing.T) *world {
	w := newWorld(t)
	s := w.srv

	// Updated within the constraint; 6.0.0 held back, a beta and a draft ignored.
	s.SetReleases("tukaani-project/xz",
		fakeupstream.Release{Tag: "v6.0.0"}, fakeupstream.Release{Tag: "v5.9.0beta", Prerelease: true},
		fakeupstream.Release{Tag: "v5.8.1"}, fakeupstream.Release{Tag: "v5.8.2", Draft: true}, fakeupstream.Release{Tag: "v5.6.3"})
	w.tarball("xz", "5.8.1", ".tar.xz")
	w.recipe("xz", xzRecipe, w.tarball("xz", "5.6.3", ".tar.xz"))

	// Up to date, pin verified.
	s.SetTags("madler/zlib", "v1.3.1", "v1.3", "v1.2.13")
	w.recipe("zlib", makeRecipe("zlib", "1.3.1", "Zlib", "{kind: github-tags, repo: madler/zlib}"),
		w.tarball("zlib", "1.3.1", ".tar.gz"))

	// HTML index with the openssh scheme.
	s.AddIndex("openssh", "openssh-9.8p1.tar.gz", "openssh-9.9p1.tar.gz", "openssh-9.9p2.tar.gz", "openssh-10.0p1.tar.gz", "openssh-10.0p1.tar.gz.asc")
	w.tarball("openssh", "10.0p1", ".tar.gz")
	w.recipe("openssh", `name: openssh
version: 9.9p1
license: BSD-2-Clause
sources:
  - url: `+srvToken+`/dl/openssh-${version}.tar.gz
dependencies:
  build: [zlib]
  runtime: [zlib]
build: {style: autotools}
upstream:
  kind: http-index
  url: `+srvToken+`/dl/openssh/
  regex: 'openssh-(\d+\.\d+p\d+)\.tar\.gz"'
  scheme: openssh
  constraint: ">= 9.8, < 11"
`, w.tarball("openssh", "9.9p1", ".tar.gz"))

	// Date versions from an index.
	s.AddIndex("tzcode", "snapshot-20250101.tar.gz", "snapshot-20251003.tar.gz", "snapshot-2025-13-01.tar.gz")
	w.tarball("snapshot", "20251003", ".tar.gz")
	w.recipe("snapshot", `name: snapshot
version: "20250101"
license: MIT
sources:
  - url: `+srvToken+`/dl/snapshot-${version}.tar.gz
build: {style: make}
upstream:
  kind: http-index
  url: `+srvToken+`/dl/tzcode/
  regex: 'snapshot-([0-9-]+)\.tar\.gz"'
  scheme: date
`, w.tarball("snapshot", "20250101", ".tar.gz"))

	// Kernel stable series through git tags over smart HTTP.
	kernelGit, _ := s.AddGitRepo(t, "linux", "v6.12.7", "v6.12.8", "v6.13-rc1", "v6.13")
	w.tarball("linux", "6.12.8", ".tar.xz")
	w.recipe("linux", `name: linux
version: 6.12.7
license: GPL-2.0-only
sources:
  - url: `+srvToken+`/dl/linux-${version}.tar.xz
build: {style: kbuild}
upstream:
  kind: git-tags
  url: `+w.masked(kernelGit)+`
  scheme: kernel
  constraint: "~6.12"
`, w.tarball("linux", "6.12.7", ".tar.xz"))

	// A git source moved to the new tag's commit.
	toolGit, commits := s.AddGitRepo(t, "tool", "v0.193", "v0.194")
	w.recipe("tool", `name: tool
version: "0.193"
license: MIT
sources:
  - git: `+w.masked(toolGit)+`
    commit: `+commits["v0.193"]+`  # v0.193
build: {style: make}
upstream: {kind: git-tags, url: `+w.masked(toolGit)+`, constraint: ">= 0.190"}
`, lockfile.Pin{Git: w.masked(toolGit), Commit: commits["v0.193"]})

	// New version's tarball is missing (moved): failure for this recipe only.
	s.SetReleases("example/moved", fakeupstream.Release{Tag: "2.1"}, fakeupstream.Release{Tag: "2.0"})
	w.recipe("moved", makeRecipe("moved", "2.0", "MIT", "{kind: github-releases, repo: example/moved}"),
		w.tarball("moved", "2.0", ".tar.gz"))

	// Pinned version re-tagged upstream: checksum changed.
	s.SetTags("example/retagged", "1.0")
	pin := w.tarball("retagged", "1.0", ".tar.gz")
	w.recipe("retagged", makeRecipe("retagged", "1.0", "MIT", "{kind: github-tags, repo: example/retagged}"),
		pin)
	s.AddFile("retagged-1.0.tar.gz", []byte("a different archive under the same name\n"))

	// GitHub rate limit and a repository that is gone.
	s.SetReleases("example/limited", fakeupstream.Release{Tag: "9.0"})
	s.SetRateLimited("example/limited", true)
	w.recipe("limited", makeRecipe("limited", "1.0", "MIT", "{kind: github-releases, repo: example/limited}"),
		w.tarball("limited", "1.0", ".tar.gz"))
	w.recipe("gone", makeRecipe("gone", "1.0", "MIT", "{kind: github-releases, repo: example/gone}"),
		w.tarball("gone", "1.0", ".tar.gz"))

	// Nothing allowed by the constraint.
	s.SetTags("example/strict", "v3.0", "v3.1")
	w.recipe("strict", makeRecipe("strict", "2.5", "MIT", `{kind: github-tags, repo: example/strict, constraint: "~2.5"}`),
		w.tarball("strict", "2.5", ".tar.gz"))

	// A recipe without upstream block is not considered.
	w.recipe("local", `name: local
version: "1"
license: MIT
sources:
  - url: `+srvToken+`/dl/local-1.tar.gz
build: {style: make}
`, w.file("local-1.tar.gz", []byte("local\n")))

	w.image("mini", "name: mini\npackages: [xz, zlib]\n")
	w.image("ssh", "name: ssh\npackages: [openssh]\n")
	w.image("plain", "name: plain\npackages: [local]\n")
	return w
}

func TestRun(t *testing.T) {
	w := fullWorld(t)
	before := map[string]string{}
	for _, n := range []string{"moved", "retagged", "limited", "gone", "strict", "zlib", "local"} {
		before["recipes/"+n+"/recipe.yaml"] = w.read("recipes/" + n + "/recipe.yaml")
		before[lockfile.PathFor(n)] = w.read(lockfile.PathFor(n))
	}
	o := w.options()
	o.Verify = true
	o.Affected = true
	var log bytes.Buffer
	o.Log = &log
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)

	status := map[string]Status{}
	for _, r := range rep.Results {
		status[r.Recipe] = r.Status
	}
	assert.Equal(t, map[string]Status{
		"xz": StatusUpdated, "openssh": StatusUpdated, "snapshot": StatusUpdated, "linux": StatusUpdated, "tool": StatusUpdated,
		"zlib":  StatusCurrent,
		"moved": StatusFailed, "retagged": StatusFailed, "limited": StatusFailed, "gone": StatusFailed, "strict": StatusFailed,
	}, status)
	assert.Equal(t, Failed, rep.Outcome())
	assert.Contains(t, rep.Problem(), "5 of 11 recipes failed: gone, limited, moved, retagged, strict")

	// Failures leave their files alone, byte for byte.
	for f, content := range before {
		assert.Equal(t, content, w.read(f), f)
	}
	// The edited recipe keeps its comments and layout.
	golden.Assert(t, "xz.recipe.golden", []byte(w.read("recipes/xz/recipe.yaml")))
	assert.Equal(t, strings.Replace(xzRecipe, "version: 5.6.3 ", "version: 5.8.1 ", 1), w.read("recipes/xz/recipe.yaml"))
	golden.Assert(t, "xz.lock.golden", []byte(w.read(lockfile.PathFor("xz"))))
	assert.Contains(t, w.read("recipes/tool/recipe.yaml"), "  # v0.193\n", "comment kept next to the new commit")

	var md, js bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	require.NoError(t, rep.WriteJSON(&js))
	golden.Assert(t, "report.md.golden", []byte(w.masked(md.String())))
	golden.Assert(t, "report.json.golden", []byte(w.masked(js.String())))
	assert.Equal(t, 11, strings.Count(log.String(), "\n"), "one progress line per recipe")

	// The tree is consistent afterwards: a second run has nothing to update.
	rep2, err := Run(context.Background(), w.options())
	require.NoError(t, err)
	assert.Empty(t, rep2.with(StatusUpdated, StatusAvailable))
}

func TestDryRun(t *testing.T) {
	w := fullWorld(t)
	snapshot := func() map[string]string {
		out := map[string]string{}
		require.NoError(t, filepath.WalkDir(w.root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			out[p] = string(b)
			return err
		}))
		return out
	}
	before := snapshot()
	requests := w.srv.Requests()
	o := w.options()
	o.DryRun = true
	o.Verify = true // ignored in a dry run
	o.Fetch = nil   // a dry run downloads nothing
	o.Affected = true
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, before, snapshot(), "a dry run writes nothing")
	assert.Equal(t, []string{"linux", "moved", "openssh", "snapshot", "tool", "xz"}, rep.Changed())
	assert.Equal(t, []string{"gone", "limited", "strict"}, rep.Failed())
	assert.Less(t, w.srv.Requests()-requests, int64(20), "listing only, no downloads")
	require.NotNil(t, rep.Affected)
	assert.Equal(t, []string{"mini", "ssh"}, rep.Affected.Images)
	assert.Equal(t, []string{"linux", "moved", "openssh", "snapshot", "tool", "xz"}, rep.Affected.Recipes)
	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	golden.Assert(t, "dryrun.md.golden", []byte(w.masked(md.String())))
}

func TestOutcomes(t *testing.T) {
	w := newWorld(t)
	w.srv.SetTags("a/one", "v1.0", "v1.1")
	w.recipe("one", makeRecipe("one", "1.0", "MIT", "{kind: github-tags, repo: a/one}"),
		w.tarball("one", "1.0", ".tar.gz"))
	w.tarball("one", "1.1", ".tar.gz")

	o := w.options()
	o.DryRun = true
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, Updated, rep.Outcome(), "dry run with an update available")

	rep, err = Run(context.Background(), w.options())
	require.NoError(t, err)
	assert.Equal(t, Updated, rep.Outcome())
	assert.Empty(t, rep.Problem(), "an update is not a problem")

	rep, err = Run(context.Background(), w.options())
	require.NoError(t, err)
	assert.Equal(t, Nothing, rep.Outcome())
}

func TestSelectRecipes(t *testing.T) {
	w := fullWorld(t)
	o := w.options()
	o.DryRun = true
	o.Recipes = []string{"zlib", "xz", "zlib"}
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, rep.Results, 2)
	assert.Equal(t, "xz", rep.Results[0].Recipe)

	o.Recipes = []string{"nope", "local"}
	_, err = Run(context.Background(), o)
	assert.ErrorContains(t, err, `no recipe named "nope"`)
	assert.ErrorContains(t, err, "local (recipes/local/recipe.yaml) has no upstream block")
}

func TestBrokenTree(t *testing.T) {
	w := newWorld(t)
	w.recipe("bad", "name: bad\nversion: 1\nlicense: MIT\nsources: []\nbuild: {style: make}\n")
	_, err := Run(context.Background(), w.options())
	assert.ErrorContains(t, err, "recipes/bad/recipe.yaml")
}

func TestVerifyGitRetag(t *testing.T) {
	w := newWorld(t)
	url, commits := w.srv.AddGitRepo(t, "tool", "v1.0")
	stale := strings.Repeat("ab", 20) // what the tag pointed to before it moved
	w.recipe("tool", `name: tool
version: "1.0"
license: MIT
sources:
  - git: `+w.masked(url)+`
    commit: `+stale+`
build: {style: make}
upstream: {kind: git-tags, url: `+w.masked(url)+`}
`, lockfile.Pin{Git: w.masked(url), Commit: stale})
	o := w.options()
	o.Verify = true
	rep, err := Run(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, StatusFailed, rep.Results[0].Status)
	assert.Contains(t, rep.Results[0].Error, "tag v1.0 of "+url+" now points to "+commits["v1.0"]+", pinned "+stale)

	o.Verify = false
	rep, err = Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, StatusCurrent, rep.Results[0].Status, "without --verify pins are not checked")
}
