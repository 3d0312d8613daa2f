package disk

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func time0() time.Time { return time.Unix(1500000000, 0) }

// tree writes the same small tree, creating files in the given order and
// with a different mtime each time, so that only the content matches.
func tree(t *testing.T, dir string, order []string, mtime time.Time) {
	t.Helper()
	content := map[string]string{
		"etc/os-release": "ID=hadron\n",
		"usr/bin/hello":  "#!/bin/sh\necho hello\n",
		"usr/lib/empty":  "",
	}
	for _, p := range order {
		writeFile(t, filepath.Join(dir, p), content[p])
		require.NoError(t, os.Chtimes(filepath.Join(dir, p), mtime, mtime))
	}
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(dir, "bin")))
}

func TestRootFSReproducible(t *testing.T) {
	for _, tc := range []struct {
		typ  FSType
		tool string
		// magic and its offset identify the format
		off   int64
		magic []byte
	}{
		{EROFS, "mkfs.erofs", 1024, []byte{0xe2, 0xe1, 0xf5, 0xe0}},
		{Squashfs, "mksquashfs", 0, []byte("hsqs")},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			need(t, tc.tool)
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
			tree(t, a, []string{"etc/os-release", "usr/bin/hello", "usr/lib/empty"}, time0())
			tree(t, b, []string{"usr/lib/empty", "usr/bin/hello", "etc/os-release"}, time.Now())
			uuid := GUID("test", epoch, "rootfs")
			var sums []string
			for _, src := range []string{a, b} {
				out := src + ".img"
				require.NoError(t, RootFS{Type: tc.typ, Dir: src, UUID: uuid, Epoch: epoch}.Build(t.Context(), out))
				sums = append(sums, sha(t, out))
			}
			require.Equal(t, sums[0], sums[1], "same tree, different creation order and mtimes: images differ")

			f, err := os.Open(a + ".img")
			require.NoError(t, err)
			defer f.Close()
			got := make([]byte, len(tc.magic))
			_, err = f.ReadAt(got, tc.off)
			require.NoError(t, err)
			require.Equal(t, tc.magic, got)
		})
	}
}

func TestRootFSErrors(t *testing.T) {
	_, err := RootFS{Type: "ext9", Dir: "/x"}.Args("o")
	require.ErrorContains(t, err, "unsupported type")
	_, err = RootFS{Type: EROFS, Dir: "/x"}.Args("o")
	require.ErrorContains(t, err, "fixed UUID")
	_, err = RootFS{Type: EROFS}.Args("o")
	require.ErrorContains(t, err, "no source directory")
	err = RootFS{Type: Squashfs, Dir: "/nonexistent"}.Build(t.Context(), filepath.Join(t.TempDir(), "o"))
	require.ErrorContains(t, err, "not a directory")
}
