package e2e

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helloC and helloCXX are the programs the toolchain tests compile.
const (
	helloC = `#include <stdio.h>
int main(void) { printf("hello from C on musl\n"); return 0; }
`
	helloCXX = `#include <iostream>
#include <string>
#include <vector>
int main() {
	std::vector<std::string> w{"hello", "from", "C++", "on", "musl"};
	std::string s;
	for (const auto &x : w) s += (s.empty() ? "" : " ") + x;
	try { throw std::runtime_error(s); } catch (const std::exception &e) { std::cout << e.what() << std::endl; }
	return 0;
}
`
)

// helloTree copies the project tree and adds recipe hello (a C and a C++
// program built with the tree's cross toolchain, $CC and $CXX) and image
// hello (hello and busybox, for a shell). When glibc is set the recipe is
// compiled by stage 0's own gcc instead: the deliberately wrong binary the
// ELF gate must reject.
func helloTree(t *testing.T, glibc bool) string {
	t.Helper()
	dir := copyTree(t)
	env := ""
	if glibc {
		env = "  env:\n    CC: gcc\n    CXX: g++\n"
	}
	files := map[string]string{
		"recipes/hello/files/hello.c":  helloC,
		"recipes/hello/files/hello.cc": helloCXX,
		"recipes/hello/recipe.yaml": `name: hello
version: "1"
license: MIT
files: [files/hello.c, files/hello.cc]
dependencies:
  build: [musl]
  runtime: [musl, gcc-libs]
build:
  style: custom
` + env + `  compile: |
    $CC $CFLAGS -o hello-c /recipe/files/hello.c
    $CXX $CXXFLAGS -o hello-cxx /recipe/files/hello.cc
  install: |
    install -D -m 0755 hello-c /out/usr/bin/hello-c
    install -D -m 0755 hello-cxx /out/usr/bin/hello-cxx
`,
		"images/hello.yaml": "name: hello\npackages: [hello, busybox]\narches: [amd64, arm64]\n",
	}
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
	return dir
}

// needed returns the DT_NEEDED entries of an ELF file.
func needed(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err, path)
	defer f.Close()
	libs, err := f.ImportedLibraries()
	require.NoError(t, err, path)
	slices.Sort(libs)
	return libs
}

// assertHelloLinkage checks what the hello programs of an exported image
// link against: musl only for C; libstdc++ (and libgcc_s) on top for C++.
func assertHelloLinkage(t *testing.T, root string, arch recipe.Arch) {
	t.Helper()
	assert.Equal(t, []string{"libc.so"}, needed(t, filepath.Join(root, "usr/bin/hello-c")), "C links only against musl")
	cxx := needed(t, filepath.Join(root, "usr/bin/hello-cxx"))
	assert.Contains(t, cxx, "libstdc++.so.6")
	assert.Contains(t, cxx, "libc.so")
	for _, l := range cxx {
		assert.Contains(t, []string{"libc.so", "libstdc++.so.6", "libgcc_s.so.1"}, l, "C++ links against musl, libstdc++ and libgcc_s only")
	}
	assertELFClean(t, root, arch)
}

// TestToolchainHello builds C and C++ programs with the amd64 cross
// toolchain (x86_64-hadron-linux-musl-gcc/g++), runs them natively in a
// BuildKit step whose root is the image (no stage 0), and checks their
// linkage and the ELF gate on the exported image.
func TestToolchainHello(t *testing.T) {
	e := setup(t)
	dir := helloTree(t, false)
	out := buildTo(t, e, dir, "hello")
	assertHelloLinkage(t, out, recipe.ArchAMD64)

	got := runInImage(t, e, dir, "hello", "set -e; /usr/bin/hello-c; /usr/bin/hello-cxx")
	assert.Equal(t, "hello from C on musl\nhello from C++ on musl\n", got)
}

// TestToolchainHelloArm64 builds the same programs with the aarch64 cross
// toolchain and runs them under qemu-user. Full tier: a second cold gcc.
func TestToolchainHelloArm64(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	out := buildTo(t, e, helloTree(t, false), "hello", "linux/arm64")
	assertHelloLinkage(t, out, recipe.ArchARM64)

	qemu, err := exec.LookPath("qemu-aarch64-static")
	require.NoError(t, err, "qemu-aarch64-static is needed (make deps installs qemu-user-static)")
	for prog, want := range map[string]string{"hello-c": "hello from C on musl", "hello-cxx": "hello from C++ on musl"} {
		// musl's loader run directly, with the image's library path (see
		// TestMiniArm64Cross for why not -L).
		got, err := exec.Command(qemu, filepath.Join(out, "usr/lib/libc.so"), "--library-path", filepath.Join(out, "usr/lib"),
			filepath.Join(out, "usr/bin", prog)).CombinedOutput()
		require.NoError(t, err, "%s: %s", prog, got)
		assert.Equal(t, want, strings.TrimSpace(string(got)), prog)
	}
}

// TestELFGateRejectsGlibcBinary compiles the hello recipe with stage 0's
// gcc (glibc) on purpose: the build fails at the gate step "hello: elf
// gate", whose log names the package's files and the rules they break,
// and nothing is exported.
func TestELFGateRejectsGlibcBinary(t *testing.T) {
	e := setup(t)
	dir := helloTree(t, true)
	out := t.TempDir()
	req := e.request(dir, "hello")
	req.Outputs = []string{"type=local,dest=" + out}
	var mu sync.Mutex
	names := map[digest.Digest]string{}
	logs := map[digest.Digest]*strings.Builder{}
	failed := map[string]bool{}
	req.OnStatus = func(s *client.SolveStatus) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range s.Vertexes {
			names[v.Digest] = v.Name
			if v.Error != "" {
				failed[v.Name] = true
			}
		}
		for _, l := range s.Logs {
			if logs[l.Vertex] == nil {
				logs[l.Vertex] = &strings.Builder{}
			}
			logs[l.Vertex].Write(l.Data)
		}
	}
	_, err := solve.Build(context.Background(), e.client, req)
	require.Error(t, err, "the ELF gate fails the build")
	t.Logf("error: %v", err)
	mu.Lock()
	defer mu.Unlock()
	assert.True(t, failed["hello: elf gate"], "the step that failed is hello's gate")
	var gate string
	for d, n := range names {
		if n == "hello: elf gate" && logs[d] != nil {
			gate += logs[d].String()
		}
	}
	t.Logf("gate log:\n%s", gate)
	assert.Contains(t, gate, "hello: usr/bin/hello-c: interpreter:")
	assert.Contains(t, gate, "hello: usr/bin/hello-c: glibc-symbol-version:")
	assert.Contains(t, gate, "hello: usr/bin/hello-cxx: interpreter:")
	assert.Contains(t, gate, "hello: usr/bin/hello-cxx: glibc-symbol-version:")
	// Its DT_NEEDED (libstdc++.so.6, libm.so.6, libgcc_s.so.1, libc.so.6)
	// are all provided in the closure (gcc-libs; musl answers for libc
	// and libm): the loader and the symbol versions are what betray glibc.
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries, "a failed gate exports nothing")
}
