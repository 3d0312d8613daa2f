package grub

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEnvRoundTrip(t *testing.T) {
	env := Env{"saved_entry": "hadron-b", "next_entry": "", "boot_count": "2"}
	block, err := env.Encode()
	require.NoError(t, err)
	require.Len(t, block, EnvSize)
	require.True(t, bytes.HasPrefix(block, []byte("# GRUB Environment Block\nboot_count=2\nnext_entry=\nsaved_entry=hadron-b\n#")))
	got, err := ParseEnv(block)
	require.NoError(t, err)
	require.Equal(t, env, got)
}

func TestEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		env  Env
		want string
	}{
		{Env{"a=b": "x"}, "bad variable name"},
		{Env{"": "x"}, "bad variable name"},
		{Env{"a": "x\ny"}, "newline or backslash"},
		{Env{"a": strings.Repeat("x", EnvSize)}, "do not fit"},
	} {
		_, err := tc.env.Encode()
		require.ErrorContains(t, err, tc.want)
	}
	_, err := ParseEnv([]byte("short"))
	require.ErrorContains(t, err, "size")
	_, err = ParseEnv(bytes.Repeat([]byte{'#'}, EnvSize))
	require.ErrorContains(t, err, "missing header")
}

// TestEnvGrubEditenvInterop checks that grub-editenv reads and edits our
// block, and that we read what it writes back.
func TestEnvGrubEditenvInterop(t *testing.T) {
	tool, err := exec.LookPath("grub-editenv")
	if err != nil {
		t.Skip("grub-editenv not installed (apt-get install grub-common)")
	}
	path := filepath.Join(t.TempDir(), "grubenv")
	block, err := Env{"saved_entry": "hadron-a"}.Encode()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, block, 0o644))

	out, err := exec.Command(tool, path, "list").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "saved_entry=hadron-a\n", string(out))

	out, err = exec.Command(tool, path, "set", "next_entry=hadron-b").CombinedOutput()
	require.NoError(t, err, string(out))
	edited, err := os.ReadFile(path)
	require.NoError(t, err)
	got, err := ParseEnv(edited)
	require.NoError(t, err)
	require.Equal(t, Env{"saved_entry": "hadron-a", "next_entry": "hadron-b"}, got)
}

func BenchmarkEnvEncode(b *testing.B) {
	env := Env{"saved_entry": "hadron-a", "next_entry": "hadron-b"}
	for b.Loop() {
		if _, err := env.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}
