package dirfs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"a.txt":           "hello\n",
		"sub/b.yaml":      "name: b\n",
		"sub/empty":       "",
		"sub/big/big.txt": strings.Repeat("0123456789", 2000), // more than one read
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	require.NoError(t, os.Symlink("a.txt", filepath.Join(dir, "link.txt")))
	return dir
}

// TestReadFileLikeDirFS: the same content and the same kinds of errors as
// os.DirFS for every case a loader meets.
func TestReadFileLikeDirFS(t *testing.T) {
	dir := tree(t)
	fast, std := dirfs.New(dir), os.DirFS(dir)
	for _, name := range []string{"a.txt", "sub/b.yaml", "sub/empty", "sub/big/big.txt", "link.txt"} {
		want, err := fs.ReadFile(std, name)
		require.NoError(t, err)
		got, err := fast.ReadFile(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	_, err := fast.ReadFile("missing/recipe.yaml")
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	assert.Contains(t, err.Error(), "missing/recipe.yaml")
	_, err = fast.ReadFile("sub")
	assert.Error(t, err, "a folder is not a file")
	_, err = fast.ReadFile("../etc/passwd")
	assert.True(t, errors.Is(err, fs.ErrInvalid), "%v", err)
}

func TestFSPassesFSTest(t *testing.T) {
	require.NoError(t, fstest.TestFS(dirfs.New(tree(t)), "a.txt", "sub/b.yaml", "sub/big/big.txt"))
}

func BenchmarkReadFile(b *testing.B) {
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "recipe.yaml"), []byte(strings.Repeat("key: value\n", 40)), 0o644))
	for _, c := range []struct {
		name string
		fsys fs.FS
	}{{"dirfs", dirfs.New(dir)}, {"os.DirFS", os.DirFS(dir)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fs.ReadFile(c.fsys, "recipe.yaml"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
