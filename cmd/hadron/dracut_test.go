package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelRelease: --kver wins; --kver-file gives its one line (a kernel
// package's boot/kernel.release); an empty, multi-line or missing file is
// an error naming the file.
func TestKernelRelease(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	got, err := kernelRelease("6.1.0", write("unused", "7.2.8\n"))
	require.NoError(t, err)
	assert.Equal(t, "6.1.0", got)
	got, err = kernelRelease("", write("kernel.release", "7.2.8\n"))
	require.NoError(t, err)
	assert.Equal(t, "7.2.8", got)
	for name, body := range map[string]string{"empty": "\n", "two-lines": "7.2.8\n7.2.9\n"} {
		_, err := kernelRelease("", write(name, body))
		assert.ErrorContains(t, err, name+" must hold one line", name)
	}
	_, err = kernelRelease("", filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, "missing")
}

// TestDracutConfigWithoutRoot: an empty --root bakes no root= into the
// initramfs (a boot loader's entry names the slot), and a root is baked as
// root=... ro.
func TestDracutConfigWithoutRoot(t *testing.T) {
	for root, want := range map[string]string{"": "", "PARTLABEL=root-b": "root=PARTLABEL=root-b ro"} {
		out, err := runBootCLI(t, "dracut", "config", "--root", root)
		require.NoError(t, err)
		if want == "" {
			assert.NotContains(t, out, "kernel_cmdline", "root %q", root)
		} else {
			assert.Contains(t, out, `kernel_cmdline="`+want+`"`)
		}
	}
}
