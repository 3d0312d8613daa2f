package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ftsTree copies the project tree and adds recipe ftstest: the dracut
// recipe's own fts (recipes/dracut/files/fts) and its self-checking test
// program, built with Hadron's musl cross toolchain the way the dracut
// recipe builds dracut-install against it; image ftstest holds it.
func ftsTree(t *testing.T) string {
	t.Helper()
	dir := copyTree(t)
	for _, f := range []string{"fts.h", "fts.c", "fts-test.c"} {
		src, err := os.ReadFile(filepath.Join(dir, "recipes/dracut/files/fts", f))
		require.NoError(t, err)
		writeFile(t, dir, "recipes/ftstest/files/"+f, string(src))
	}
	writeFile(t, dir, "recipes/ftstest/recipe.yaml", `name: ftstest
version: "1"
license: GPL-2.0-or-later
files: [files]
dependencies:
  build: [musl]
  runtime: [musl]
build:
  style: custom
  compile: |
    $CC $CFLAGS -std=gnu99 -Wall -Werror -I/recipe/files -o fts-test /recipe/files/fts.c /recipe/files/fts-test.c
  install: |
    install -D -m 0755 fts-test /out/usr/bin/fts-test
`)
	writeFile(t, dir, "images/ftstest.yaml", "name: ftstest\npackages: [ftstest, busybox]\narches: [amd64]\n")
	return dir
}

// TestFtsMusl builds Hadron's fts for musl (what dracut-install walks
// folders with: musl has no fts) and runs its tests natively in a
// BuildKit step whose root is the image: every check passes, and they
// are the checks of Hadron's fts, not a C library's.
func TestFtsMusl(t *testing.T) {
	e := setup(t)
	dir := ftsTree(t)
	// The image has no /tmp: the test makes its tree under /out, the
	// step's writable mount.
	got := runInImage(t, e, dir, "ftstest", "mkdir /out/tmp; TMPDIR=/out/tmp /usr/bin/fts-test; echo \"exit status $?\"")
	out := strings.TrimSpace(got)
	require.True(t, strings.HasSuffix(out, "exit status 0"), "%s", got)
	assert.Contains(t, out, "# testing Hadron's fts")
	assert.NotContains(t, out, "not ok")
	plan := regexp.MustCompile(`(?m)^1\.\.([0-9]+)$`).FindStringSubmatch(out)
	require.NotNil(t, plan, "no test plan line in %s", out)
	assert.Equal(t, plan[1], strconv.Itoa(len(regexp.MustCompile(`(?m)^ok [0-9]+ `).FindAllString(out, -1))), "every planned check passed")
}
