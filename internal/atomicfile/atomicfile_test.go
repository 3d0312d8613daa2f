package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name    string
		old     string // "" means no file before
		perm    os.FileMode
		content string
	}{
		{name: "new file", perm: 0o644, content: "new\n"},
		{name: "replaces", old: "old content\n", perm: 0o600, content: "new\n"},
		{name: "empty", old: "old\n", perm: 0o644, content: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "f.yaml")
			if tt.old != "" {
				require.NoError(t, os.WriteFile(file, []byte(tt.old), 0o666))
			}
			require.NoError(t, WriteFile(file, []byte(tt.content), tt.perm))
			got, err := os.ReadFile(file)
			require.NoError(t, err)
			assert.Equal(t, tt.content, string(got))
			st, err := os.Stat(file)
			require.NoError(t, err)
			assert.Equal(t, tt.perm, st.Mode().Perm())
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file left behind")
		})
	}
}

func TestWriteFileFails(t *testing.T) {
	dir := t.TempDir()
	// A non-empty folder cannot be renamed over: the write succeeds, the
	// rename fails, and nothing may be left behind.
	target := filepath.Join(dir, "busy")
	require.NoError(t, os.Mkdir(target, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(target, "x"), []byte("kept"), 0o644))
	require.Error(t, WriteFile(target, []byte("new"), 0o644))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "temporary file removed")
	got, err := os.ReadFile(filepath.Join(target, "x"))
	require.NoError(t, err)
	assert.Equal(t, "kept", string(got))

	err = WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644)
	assert.ErrorContains(t, err, "missing")
}
