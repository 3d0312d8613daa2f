package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// splitTree writes a project tree without a toolchain (its steps run on
// stage 0 alone, in seconds): recipe split-lib installs a program, a
// header, a pkg-config file, a static library and a manual page; recipe
// split-app is built against split-lib (reading its header and .pc file
// from /sysroot) and needs it at run time; image split holds split-app.
// Recipe split-bad installs into /bin.
func splitTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"recipes/split-lib/recipe.yaml": `name: split-lib
version: "1"
license: MIT
build:
  style: custom
  install: |
    mkdir -p /out/usr/bin /out/usr/sbin /out/usr/include /out/usr/lib/pkgconfig /out/usr/share/man/man1
    printf '#!/bin/sh\necho split-lib\n' >/out/usr/bin/split-tool
    chmod 0755 /out/usr/bin/split-tool
    printf '#!/bin/sh\necho split-admin\n' >/out/usr/sbin/split-admin
    chmod 0755 /out/usr/sbin/split-admin
    ln -s split-admin /out/usr/sbin/split-admin-link
    echo '#define SPLIT_LIB 1' >/out/usr/include/split.h
    printf 'Name: split\nVersion: 1\n' >/out/usr/lib/pkgconfig/split.pc
    echo '!<arch>' >/out/usr/lib/libsplit.a
    echo '.TH SPLIT-TOOL 1' >/out/usr/share/man/man1/split-tool.1
`,
		"recipes/split-app/recipe.yaml": `name: split-app
version: "1"
license: MIT
dependencies:
  build: [split-lib]
  runtime: [split-lib]
build:
  style: custom
  compile: |
    # The build sees split-lib's main and dev outputs, not its manuals.
    cat /sysroot/usr/include/split.h /sysroot/usr/lib/pkgconfig/split.pc >seen
    test -x /sysroot/usr/bin/split-tool
    test -e /sysroot/usr/lib/libsplit.a
    if test -e /sysroot/usr/share/man/man1/split-tool.1; then echo 'manual in the sysroot' >&2; exit 1; fi
  install: |
    mkdir -p /out/usr/share/split-app
    cp seen /out/usr/share/split-app/seen
`,
		"recipes/split-bad/recipe.yaml": `name: split-bad
version: "1"
license: MIT
build:
  style: custom
  install: |
    mkdir -p /out/bin
    echo x >/out/bin/split-bad
`,
		"images/split.yaml": "name: split\npackages: [split-app]\narches: [amd64]\nhostname: split\n",
	}
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
	return dir
}

// assertEpochTimes checks that every file, folder and link under root
// has SOURCE_DATE_EPOCH as its modification time.
func assertEpochTimes(t *testing.T, root string) {
	t.Helper()
	var n int
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := os.Lstat(p)
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		assert.Equal(t, int64(epoch), info.ModTime().Unix(), "%s: time", rel)
		n++
		return nil
	}))
	assert.Greater(t, n, 3)
}

// TestPackageSplits builds the split image and split-lib's dev output
// through BuildKit: the image holds split-lib's program but none of its
// headers, pkg-config files, static libraries or manuals, while
// split-app's build saw the header and the .pc file in /sysroot;
// split-lib:dev holds exactly those; the image is finalized (usr-merge
// links, empty machine-id, os-release with VERSION_ID and BUILD_ID),
// every time is SOURCE_DATE_EPOCH and a --no-cache rebuild gives the
// same layers. A package installing into /bin fails its install step,
// naming itself.
func TestPackageSplits(t *testing.T) {
	e := setup(t)
	dir := splitTree(t)

	req := e.request(dir, "split")
	req.Substitutes = nil // the tree declares none
	req.VersionID = "0.1"
	img := t.TempDir()
	req.Outputs = []string{"type=local,dest=" + img}
	_, err := solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)

	tool, err := os.Stat(filepath.Join(img, "usr/bin/split-tool"))
	require.NoError(t, err, "split-lib's program is in the image")
	assert.Equal(t, os.FileMode(0o755), tool.Mode().Perm())
	for _, p := range []string{"usr/include", "usr/lib/pkgconfig", "usr/lib/libsplit.a", "usr/share/man"} {
		_, err := os.Lstat(filepath.Join(img, p))
		assert.True(t, os.IsNotExist(err), "%s is not in the image", p)
	}
	seen, err := os.ReadFile(filepath.Join(img, "usr/share/split-app/seen"))
	require.NoError(t, err)
	assert.Equal(t, "#define SPLIT_LIB 1\nName: split\nVersion: 1\n", string(seen), "split-app's build read split-lib's dev files")

	for link, target := range map[string]string{"bin": "usr/bin", "sbin": "usr/bin", "lib": "usr/lib", "usr/sbin": "bin"} {
		got, err := os.Readlink(filepath.Join(img, link))
		require.NoError(t, err, "/%s is a link", link)
		assert.Equal(t, target, got)
	}
	_, err = os.Stat(filepath.Join(img, "bin/split-tool"))
	assert.NoError(t, err, "/bin/split-tool resolves through the link")
	// sbin merge: what the package installed in usr/sbin is in usr/bin,
	// its relative links too, and the old paths resolve.
	admin, err := os.Lstat(filepath.Join(img, "usr/bin/split-admin"))
	require.NoError(t, err, "usr/sbin/split-admin moved to usr/bin")
	assert.True(t, admin.Mode().IsRegular())
	assert.Equal(t, os.FileMode(0o755), admin.Mode().Perm())
	l, err := os.Readlink(filepath.Join(img, "usr/bin/split-admin-link"))
	require.NoError(t, err)
	assert.Equal(t, "split-admin", l)
	for _, p := range []string{"usr/sbin/split-admin", "sbin/split-admin-link"} {
		_, err := os.Stat(filepath.Join(img, p))
		assert.NoError(t, err, "/%s resolves through the links", p)
	}
	bin, err := os.Stat(filepath.Join(img, "usr/bin"))
	require.NoError(t, err)
	assert.Equal(t, int64(epoch), bin.ModTime().Unix(), "usr/bin keeps SOURCE_DATE_EPOCH after the move")
	mid, err := os.Stat(filepath.Join(img, "etc/machine-id"))
	require.NoError(t, err)
	assert.Zero(t, mid.Size(), "machine-id is empty: first boot")
	assert.Equal(t, os.FileMode(0o444), mid.Mode().Perm())
	osr, err := os.ReadFile(filepath.Join(img, "usr/lib/os-release"))
	require.NoError(t, err)
	assert.Contains(t, string(osr), "\nID=hadron\n")
	assert.Contains(t, string(osr), "\nVERSION_ID=0.1\n")
	assert.Contains(t, string(osr), fmt.Sprintf("\nBUILD_ID=%d\n", epoch), "BUILD_ID is the epoch")
	packages, err := os.ReadFile(filepath.Join(img, "usr/share/hadron/packages"))
	require.NoError(t, err)
	assert.Equal(t, "split-lib 1\nsplit-app 1\n", string(packages))
	assertEpochTimes(t, img)

	dev := t.TempDir()
	req = e.request(dir, "split-lib:dev")
	req.Substitutes = nil
	req.Outputs = []string{"type=local,dest=" + dev}
	_, err = solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)
	var got []string
	require.NoError(t, filepath.WalkDir(dev, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dev, p)
			got = append(got, rel)
		}
		return err
	}))
	assert.ElementsMatch(t, []string{"usr/include/split.h", "usr/lib/pkgconfig/split.pc", "usr/lib/libsplit.a"}, got,
		"split-lib:dev holds the header, the .pc file and the static library")
	assertEpochTimes(t, dev) // usr and usr/lib too, made by the include copy

	// Two clean builds of the image give the same layers: one per main
	// output and the finalize layer, byte for byte.
	export := func(noCache bool) []string {
		oci := filepath.Join(t.TempDir(), "split.tar")
		req := e.request(dir, "split")
		req.Substitutes = nil
		req.VersionID = "0.1"
		req.NoCache = noCache
		req.Outputs = []string{"type=oci,dest=" + oci}
		_, err := solve.Build(context.Background(), e.client, req)
		require.NoError(t, err)
		return ociLayers(t, oci)
	}
	first := export(false)
	assert.Len(t, first, 3, "split-lib's and split-app's main outputs and the finalize layer")
	assert.Equal(t, first, export(true), "layer digests of a cached and a --no-cache build")

	req = e.request(dir, "split-bad")
	req.Substitutes = nil
	var mu sync.Mutex
	names := map[digest.Digest]string{}
	logs := map[digest.Digest]*strings.Builder{}
	req.OnStatus = func(s *client.SolveStatus) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range s.Vertexes {
			names[v.Digest] = v.Name
		}
		for _, l := range s.Logs {
			if logs[l.Vertex] == nil {
				logs[l.Vertex] = &strings.Builder{}
			}
			logs[l.Vertex].Write(l.Data)
		}
	}
	_, err = solve.Build(context.Background(), e.client, req)
	require.Error(t, err, "a package installing into /bin fails")
	mu.Lock()
	defer mu.Unlock()
	var install string
	for d, n := range names {
		if n == "split-bad: install" && logs[d] != nil {
			install += logs[d].String()
		}
	}
	assert.Contains(t, install, "split-bad: installs into /bin: Hadron images are usr-merged")
}
