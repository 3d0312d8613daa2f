package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTree materialises an in-memory tree in a temporary folder.
func writeTree(t *testing.T, fsys fstest.MapFS) string {
	t.Helper()
	dir := t.TempDir()
	for name, f := range fsys {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, f.Data, 0o644))
	}
	return dir
}

// runHadronCLI runs the CLI in-process and returns stdout, stderr and the
// exit code main would use.
func runHadronCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		code = 1
		var ec exitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		errb.WriteString("hadron: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

type spec = projecttest.Spec

func smallTree() fstest.MapFS {
	fsys := projecttest.Tree(
		spec{Name: "musl"},
		spec{Name: "make", Runtime: []string{"musl"}},
		spec{Name: "zlib", Build: []string{"make"}, Runtime: []string{"musl"}},
	)
	projecttest.Image(fsys, "base", "zlib")
	return fsys
}

func TestValidateCommand(t *testing.T) {
	dir := writeTree(t, smallTree())
	out, _, code := runHadronCLI(t, "-C", dir, "validate")
	assert.Equal(t, 0, code)
	assert.Equal(t, "ok: 3 recipes, 3 lock files, 1 images\n", out)

	bad := smallTree()
	projecttest.Add(bad, spec{Name: "a", Build: []string{"b"}})
	projecttest.Add(bad, spec{Name: "b", Build: []string{"a"}})
	bad["recipes/zlib/recipe.yaml"].Data = append(bad["recipes/zlib/recipe.yaml"].Data, "homepag: https://zlib.net\n"...)
	delete(bad, "vendor-hashes/make.lock")
	projecttest.Image(bad, "base", "zlib", "zlb")
	dir = writeTree(t, bad)
	_, errOut, code := runHadronCLI(t, "-C", dir, "validate")
	assert.Equal(t, 1, code)
	assert.Equal(t, "images/base.yaml:4: package \"zlb\": no such recipe; did you mean `zlib`?\n"+
		"recipes/a/recipe.yaml:8: build dependency cycle: a -> b -> a\n"+
		"recipes/make/recipe.yaml:1: recipe make has no lock file vendor-hashes/make.lock; run `hadron hashes pin make`\n"+
		"recipes/zlib/recipe.yaml:12: unknown key `homepag`; did you mean `homepage`?\n"+
		"hadron: 4 problems\n", errOut)
}

func TestGraphCommand(t *testing.T) {
	dir := writeTree(t, smallTree())
	out, errOut, code := runHadronCLI(t, "-C", dir, "graph", "--target", "base")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `digraph "hadron-amd64-base" {`)
	assert.Contains(t, out, `"zlib" -> "make";`)
	assert.Contains(t, out, `"zlib" -> "musl" [style=dashed];`)
	assert.Contains(t, out, `"zlib" [label="zlib\n1.0"];`)
	assert.Contains(t, out, `"image:base" -> "zlib" [style=dashed];`)

	out, errOut, code = runHadronCLI(t, "-C", dir, "graph", "--target", "zlib", "--format", "json", "--arch", "arm64")
	require.Equal(t, 0, code, errOut)
	var g graphJSON
	require.NoError(t, json.Unmarshal([]byte(out), &g))
	assert.Equal(t, "arm64", g.Arch)
	assert.Equal(t, []string{"musl", "make", "zlib"}, g.Order)
	assert.Equal(t, []string{"musl", "make"}, g.Recipes[2].BuildEnv)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--target", "nope"}, `graph: no image images/nope.yaml and no recipe named "nope"`},
		{[]string{"--arch", "riscv64"}, `unknown arch "riscv64"`},
		{[]string{"--format", "svg"}, `--format "svg": want dot or json`},
	} {
		_, errOut, code = runHadronCLI(t, append([]string{"-C", dir, "graph"}, tt.args...)...)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, tt.want)
	}
}

func TestHashesPinAndVerify(t *testing.T) {
	var tampered atomic.Bool
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !strings.HasPrefix(r.URL.Path, "/src/") {
			http.NotFound(w, r)
			return
		}
		body := "contents of " + r.URL.Path
		if tampered.Load() && strings.Contains(r.URL.Path, "zlib") {
			body += " (re-tagged upstream)"
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()

	fsys := smallTree()
	for _, n := range []string{"musl", "make", "zlib"} {
		delete(fsys, "vendor-hashes/"+n+".lock")
	}
	// Sources live at https://example.org/src/...; the mirror sends them to the test server.
	fsys["hadron.yaml"] = &fstest.MapFile{Data: []byte("mirrors:\n  https://example.org/: " + srv.URL + "/\n")}
	dir := writeTree(t, fsys)

	_, errOut, code := runHadronCLI(t, "-C", dir, "hashes", "pin")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "name recipes or pass --all")

	_, errOut, code = runHadronCLI(t, "-C", dir, "hashes", "pin", "zlib", "--retries", "0")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "pinned zlib 1.0 (1 sources) in vendor-hashes/zlib.lock")
	lock, err := os.ReadFile(filepath.Join(dir, "vendor-hashes", "zlib.lock"))
	require.NoError(t, err)
	assert.Contains(t, string(lock), "url: https://example.org/src/zlib-1.0.tar.gz\n")

	_, errOut, code = runHadronCLI(t, "-C", dir, "hashes", "pin", "--all")
	require.Equal(t, 0, code, errOut)
	out, errOut, code := runHadronCLI(t, "-C", dir, "validate")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "3 lock files")

	out, errOut, code = runHadronCLI(t, "-C", dir, "hashes", "verify")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "ok: 3 recipes verified\n", out)

	tampered.Store(true)
	_, errOut, code = runHadronCLI(t, "-C", dir, "hashes", "verify", "zlib", "make")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "vendor-hashes/zlib.lock:5: zlib: https://example.org/src/zlib-1.0.tar.gz: sha256 mismatch: expected ")
	assert.Contains(t, errOut, ", actual ")
	assert.Contains(t, errOut, "size mismatch: expected 32, actual 53")
	assert.NotContains(t, errOut, "make:")

	_, errOut, code = runHadronCLI(t, "-C", dir, "hashes", "verify", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `no recipe "nope"`)
}

func TestHashesUnreachableMirror(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	fsys := smallTree()
	fsys["hadron.yaml"] = &fstest.MapFile{Data: []byte("mirrors:\n  https://example.org/: " + dead + "/\n")}
	dir := writeTree(t, fsys)
	_, errOut, code := runHadronCLI(t, "-C", dir, "hashes", "pin", "musl", "--retries", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "recipes/musl/recipe.yaml:6: musl: download "+dead+"/src/musl-1.0.tar.gz (mirror of https://example.org/src/musl-1.0.tar.gz) failed")
	before, err := os.ReadFile(filepath.Join(dir, "vendor-hashes", "musl.lock"))
	require.NoError(t, err)
	assert.Equal(t, fsys["vendor-hashes/musl.lock"].Data, before, "a failed pin leaves the old lock alone")
}
