package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"github.com/hadron-linux/hadron/tests/fixtures/tarball"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixture recipe of TestSubstitute and the substitute that stands in
// for its only source. The upstream URL is never served: a build that
// fetched it instead of the substitute would fail.
const (
	substRecipe   = "subst-hello"
	substName     = "subst-hello-1.0-alt"
	substOrigin   = "e2e fixture, an orig tarball and a patch carrier"
	substUpstream = fixtureHost + "subst-hello/subst-hello-1.0.tar.gz"
	substPatch    = "debian/patches/greeting.patch"
)

const substGreetingPatch = `Make the greeting friendlier.
--- a/greeting.txt
+++ b/greeting.txt
@@ -1 +1 @@
-hello
+hello from the substitute
`

func substTarGz(t *testing.T, files map[string]string) []byte {
	return tarball.Gzip(t, files, time.Unix(epoch, 0))
}

func substSums(data []byte) (string, string) {
	a, b := sha256.Sum256(data), sha512.Sum512(data)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}

// substTree writes a project tree holding only the fixture recipe, its
// lock and the substitute declaration for the given files; patchPath is
// the declared patch's path in the patch carrier, treeSHA256 (when not
// empty) replaces the pinned sha256 of the tree file.
func substTree(t *testing.T, orig, carrier fixture, patchPath, treeSHA256 string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "recipes/"+substRecipe+"/recipe.yaml", `# Test fixture: its source only comes from a declared substitute.
name: `+substRecipe+`
version: "1.0"
license: MIT
sources:
  - url: `+fixtureHost+`subst-hello/${name}-${version}.tar.gz
build:
  style: custom
  install: |
    mkdir -p /out/usr/share/`+substRecipe+`
    cp -a /build/. /out/usr/share/`+substRecipe+`/
`)
	upstream := fixture{path: strings.TrimPrefix(substUpstream, fixtureHost), data: substTarGz(t, map[string]string{"subst-hello-1.0/greeting.txt": "hello\n"})}
	writeFile(t, dir, "vendor-hashes/"+substRecipe+".lock", upstream.lock(substRecipe, "1.0"))

	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nrecipes: [%s]\nupstream: %s\norigin: %s\ndiffers: a friendlier greeting\nfiles:\n", substName, substRecipe, substUpstream, substOrigin)
	for i, f := range []fixture{orig, carrier} {
		s256, s512 := substSums(f.data)
		if i == 0 && treeSHA256 != "" {
			s256 = treeSHA256
		}
		fmt.Fprintf(&b, "  - url: %s%s\n    sha256: %s\n    sha512: %s\n    size: %d\n", fixtureHost, f.path, s256, s512, len(f.data))
	}
	p256, _ := substSums([]byte(substGreetingPatch))
	fmt.Fprintf(&b, "tree: %s\npatches:\n  - from: %s\n    path: %s\n    sha256: %s\n    why: the fixture's greeting\n",
		path.Base(orig.path), path.Base(carrier.path), patchPath, p256)
	writeFile(t, dir, "vendor-hashes/substitutes/"+substName+".yaml", b.String())
	return dir
}

// TestSubstitute builds a recipe whose only source is replaced by a
// declared substitute (a tarball and a patch carrier on the loopback
// fixture server) through BuildKit: the patched tree is the package's
// content; a file that does not match its pin and a patch that is not in
// its carrier both fail with errors that name the substitute, the recipe
// and the upstream URL.
func TestSubstitute(t *testing.T) {
	e := setup(t)
	orig := fixture{path: "subst-pool/subst-hello_1.0.orig.tar.gz", data: substTarGz(t, map[string]string{
		"subst-hello-1.0/greeting.txt": "hello\n",
		"subst-hello-1.0/README":       "read me\n",
	})}
	carrier := fixture{path: "subst-pool/subst-hello_1.0-1.debian.tar.gz", data: substTarGz(t, map[string]string{
		substPatch:         substGreetingPatch,
		"debian/changelog": "subst-hello (1.0-1) unstable; urgency=medium\n",
	})}
	mirrors := maps.Clone(e.mirrors)
	maps.Copy(mirrors, serveFixtures(t, orig, carrier))

	// build runs the fixture recipe with the substitute, exporting its
	// package to out (when set), and returns the names of the vertices,
	// the build steps' output and the error.
	build := func(t *testing.T, dir, out string) (map[string]bool, string, error) {
		req := e.request(dir, substRecipe)
		req.Mirrors = mirrors
		req.Substitutes = []string{substName}
		if out != "" {
			req.Outputs = []string{"type=local,dest=" + out}
		}
		var mu sync.Mutex
		names := map[string]bool{}
		var logs strings.Builder
		req.OnStatus = func(s *client.SolveStatus) {
			mu.Lock()
			defer mu.Unlock()
			for _, v := range s.Vertexes {
				names[v.Name] = true
			}
			for _, l := range s.Logs {
				logs.Write(l.Data)
			}
		}
		_, err := solve.Build(context.Background(), e.client, req)
		mu.Lock()
		defer mu.Unlock()
		return names, logs.String(), err
	}
	vertex := "substitute " + substName + " for " + substUpstream + " (" + substOrigin + ")"

	t.Run("patched tree is the package", func(t *testing.T) {
		out := t.TempDir()
		names, logs, err := build(t, substTree(t, orig, carrier, substPatch, ""), out)
		require.NoError(t, err, "build output:\n%s", logs)
		assert.True(t, names[vertex], "vertex %q among %v", vertex, keys(names))
		assert.False(t, names[substRecipe+": fetch "+substUpstream], "upstream is not fetched")
		greeting, err := os.ReadFile(filepath.Join(out, "usr/share", substRecipe, "greeting.txt"))
		require.NoError(t, err)
		assert.Equal(t, "hello from the substitute\n", string(greeting))
		readme, err := os.ReadFile(filepath.Join(out, "usr/share", substRecipe, "README"))
		require.NoError(t, err)
		assert.Equal(t, "read me\n", string(readme))
	})

	t.Run("a file that does not match its pin", func(t *testing.T) {
		wrong := strings.Repeat("0", 64)
		_, logs, err := build(t, substTree(t, orig, carrier, substPatch, wrong), "")
		require.Error(t, err, "build output:\n%s", logs)
		msg := err.Error()
		assert.Contains(t, msg, "checksum mismatch for recipe "+substRecipe)
		assert.Contains(t, msg, "source "+substUpstream)
		assert.Contains(t, msg, "substitute "+substName+" (vendor-hashes/substitutes/"+substName+".yaml)")
		assert.Contains(t, msg, "expected sha256:"+wrong)
		s256, _ := substSums(orig.data)
		assert.Contains(t, msg, "got sha256:"+s256)
	})

	t.Run("a patch that is not in its carrier", func(t *testing.T) {
		missing := "debian/patches/missing.patch"
		names, logs, err := build(t, substTree(t, orig, carrier, missing, ""), "")
		require.Error(t, err)
		assert.True(t, names[vertex], "vertex %q among %v", vertex, keys(names))
		// BuildKit's error carries the failed step's command line, not its
		// output: the step's own message is in the build output, which
		// `hadron build` prints.
		want := fmt.Sprintf("substitute %s for recipe %s (%s): patch %s not found in %s", substName, substRecipe, substUpstream, missing, path.Base(carrier.path))
		assert.Contains(t, logs, want, "error: %v", err)
	})
}
