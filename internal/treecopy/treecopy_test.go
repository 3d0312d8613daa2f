package treecopy

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sample(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "usr/bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "usr/bin/tool"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "usr/data"), []byte("data"), 0o600))
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(src, "bin")))
	return src
}

func TestCopyKeepsFilesModesAndLinks(t *testing.T) {
	src, dst := sample(t), t.TempDir()
	require.NoError(t, Copy(src, dst, Options{}))
	data, err := os.ReadFile(filepath.Join(dst, "usr/data"))
	require.NoError(t, err)
	assert.Equal(t, "data", string(data))
	fi, err := os.Stat(filepath.Join(dst, "usr/bin/tool"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(dst, "usr/data"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	link, err := os.Readlink(filepath.Join(dst, "bin"))
	require.NoError(t, err)
	assert.Equal(t, "usr/bin", link)
}

func TestCopyStampsEveryEntry(t *testing.T) {
	src, dst := sample(t), t.TempDir()
	at := time.Unix(1700000000, 0)
	require.NoError(t, Copy(src, dst, Options{Stamp: &at}))
	for _, p := range []string{".", "usr", "usr/bin", "usr/bin/tool", "usr/data", "bin"} {
		fi, err := os.Lstat(filepath.Join(dst, p))
		require.NoError(t, err, p)
		assert.True(t, fi.ModTime().Equal(at), "%s: %s", p, fi.ModTime())
	}
}

func TestCopySpecialFiles(t *testing.T) {
	src := sample(t)
	require.NoError(t, syscall.Mkfifo(filepath.Join(src, "usr/fifo"), 0o644))
	err := Copy(src, t.TempDir(), Options{Strict: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "usr/fifo: unsupported file type")

	dst := t.TempDir()
	require.NoError(t, Copy(src, dst, Options{}))
	_, err = os.Lstat(filepath.Join(dst, "usr/fifo"))
	assert.True(t, os.IsNotExist(err), "skipped when not strict")
}
