package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/bootchain/initrd"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInitrdPack(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "init"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	require.NoError(t, os.Symlink("busybox", filepath.Join(src, "bin/sh")))
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")

	tests := []struct {
		name string
		args []string
		gzip bool
	}{
		{"plain", nil, false},
		{"gzip", []string{"--gzip"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rd")
			stdout, stderr, code := runHadronCLI(t, append([]string{"initrd", "pack", src, out}, tt.args...)...)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "3 entries")
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, tt.gzip, bytes.HasPrefix(data, []byte{0x1f, 0x8b}), "gzip magic")

			// Same tree, same bytes: compare with the library directly.
			var want bytes.Buffer
			entries, err := initrd.ReadDir(src)
			require.NoError(t, err)
			write := initrd.Write
			if tt.gzip {
				write = initrd.WriteGzip
			}
			require.NoError(t, write(&want, entries, 1700000000))
			assert.Equal(t, want.Bytes(), data)
		})
	}
	_, stderr, code := runHadronCLI(t, "initrd", "pack", filepath.Join(src, "missing"), filepath.Join(t.TempDir(), "rd"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "missing")
}

// trustedTree is smallTree plus a kernel recipe and a trusted boot image.
func trustedTree() fstest.MapFS {
	fsys := smallTree()
	projecttest.Add(fsys, spec{Name: "linux", Style: recipe.StyleCustom})
	fsys["images/tb.yaml"] = &fstest.MapFile{Data: []byte("name: tb\npackages: [zlib]\nboot: trusted\nkernel: linux\nefi: zlib\ncmdline: console=ttyS0\n")}
	return fsys
}

// TestBuildBootTargetFailsFast: a boot target without its secrets, or an
// image without boot, fails before any engine is contacted.
func TestBuildBootTargetFailsFast(t *testing.T) {
	dir := writeTree(t, trustedTree())
	keys := t.TempDir()
	var secrets []string
	for _, id := range []string{"db.key", "db.crt"} {
		p := filepath.Join(keys, id)
		require.NoError(t, os.WriteFile(p, []byte("KEY-BYTES"), 0o600))
		secrets = append(secrets, "--secret", "id="+id+",src="+p)
	}
	tools := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(tools, "hadron"), nil, 0o755))
	base := []string{"-C", dir, "build", "--addr", "tcp://127.0.0.1:1", "--tools-dir", tools}
	all := append(append([]string(nil), secrets...), "--secret", "id=pcr.key,src="+filepath.Join(keys, "db.key"))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no secrets", []string{"tb/boot"}, `needs the secret "db.key": pass --secret id=db.key,src=PATH`},
		{"no pcr key", append([]string{"tb/boot"}, secrets...), `needs the secret "pcr.key": pass --secret id=pcr.key,src=PATH`},
		{"image without boot", append([]string{"base/boot"}, all...), "need boot: trusted"},
		{"unknown image", append([]string{"nope/boot"}, all...), "no image images/nope.yaml"},
		{"unknown output", append([]string{"tb/esp"}, all...), `image tb has no output "esp"`},
		{"disk without initrd", append([]string{"tb/disk"}, all...), "image tb has no disk: a disk is built for boot: trusted with initrd:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runHadronCLI(t, append(base, tt.args...)...)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tt.want)
			assert.NotContains(t, stderr, "cannot reach BuildKit")
			assert.NotContains(t, stderr, "KEY-BYTES")
			assert.False(t, strings.Contains(stderr, "panic"))
		})
	}
}
