package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ucontextTree copies the project tree and adds recipe uctest: the
// ucontext recipe's own test program (recipes/ucontext/files/tests),
// linked dynamically against the installed libucontext.so, as systemd
// links it; image uctest holds it and its runtime closure.
func ucontextTree(t *testing.T) string {
	t.Helper()
	dir := copyTree(t)
	src, err := os.ReadFile(filepath.Join(dir, "recipes/ucontext/files/tests/uctest.c"))
	require.NoError(t, err)
	writeFile(t, dir, "recipes/uctest/files/uctest.c", string(src))
	writeFile(t, dir, "recipes/uctest/recipe.yaml", `name: uctest
version: "1"
license: MIT
files: [files/uctest.c]
dependencies:
  build: [musl, ucontext]
  runtime: [musl, ucontext]
build:
  style: custom
  compile: |
    $CC $CFLAGS -std=c11 -o uctest /recipe/files/uctest.c -lucontext
  install: |
    install -D -m 0755 uctest /out/usr/bin/uctest
`)
	writeFile(t, dir, "images/uctest.yaml", "name: uctest\npackages: [uctest, busybox]\narches: [amd64, arm64]\n")
	return dir
}

// assertUctestPassed checks the test program's report: every check ran
// and none failed.
func assertUctestPassed(t *testing.T, out string) {
	t.Helper()
	assert.NotContains(t, out, "FAIL")
	assert.Contains(t, out, "ok nine arguments arrive (registers and stack)")
	assert.Contains(t, out, "ok caller's signal mask restored")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out), "all ucontext checks passed"), "%s", out)
}

// TestUcontextAMD64 builds Hadron's ucontext with the amd64 cross
// toolchain and runs its tests natively in a BuildKit step whose root is
// the image (busybox for the shell): getcontext/makecontext/swapcontext round trips through the
// shared library systemd links against.
func TestUcontextAMD64(t *testing.T) {
	e := setup(t)
	dir := ucontextTree(t)
	out := buildTo(t, e, dir, "uctest")
	assert.Equal(t, []string{"libc.so", "libucontext.so.1"}, needed(t, filepath.Join(out, "usr/bin/uctest")))
	assertELFClean(t, out, recipe.ArchAMD64)
	got := runInImage(t, e, dir, "uctest", "/usr/bin/uctest; echo \"exit status $?\"")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(got), "exit status 0"), "%s", got)
	assertUctestPassed(t, strings.TrimSuffix(strings.TrimSpace(got), "exit status 0"))
}

// TestUcontextArm64 builds it with the aarch64 cross toolchain and runs
// the tests under qemu-user. Full tier: the arm64 toolchain is a second
// cold gcc build.
func TestUcontextArm64(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	out := buildTo(t, e, ucontextTree(t), "uctest", "linux/arm64")
	assertELFClean(t, out, recipe.ArchARM64)
	qemu, err := exec.LookPath("qemu-aarch64-static")
	require.NoError(t, err, "qemu-aarch64-static is needed (make deps installs qemu-user-static)")
	// musl's loader run directly, with the image's library path (see
	// TestMiniArm64Cross for why not -L).
	got, err := exec.Command(qemu, filepath.Join(out, "usr/lib/libc.so"), "--library-path", filepath.Join(out, "usr/lib"),
		filepath.Join(out, "usr/bin/uctest")).CombinedOutput()
	require.NoError(t, err, "%s", got)
	assertUctestPassed(t, string(got))
}
