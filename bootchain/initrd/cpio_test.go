package initrd

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sample() []Entry {
	return []Entry{
		{Path: "/init", Mode: 0o755, Data: []byte("#!/bin/sh\necho hi\n")},
		{Path: "bin/busybox", Mode: 0o755, Data: []byte("not really busybox")},
		{Path: "bin/sh", Mode: fs.ModeSymlink | 0o777, LinkTarget: "busybox"},
		{Path: "dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, DevMajor: 5, DevMinor: 1},
		{Path: "etc", Mode: fs.ModeDir | 0o700},
		{Path: "tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
}

func TestWriteRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, sample(), 1700000000))
	got, err := Read(&buf)
	require.NoError(t, err)

	var paths []string
	byPath := map[string]Entry{}
	for _, e := range got {
		paths = append(paths, e.Path)
		byPath[e.Path] = e
	}
	assert.Equal(t, []string{"bin", "bin/busybox", "bin/sh", "dev", "dev/console", "etc", "init", "tmp"}, paths)
	tests := []struct {
		path string
		mode fs.FileMode
	}{
		{"bin", fs.ModeDir | 0o755},
		{"bin/busybox", 0o755},
		{"bin/sh", fs.ModeSymlink | 0o777},
		{"dev/console", fs.ModeDevice | fs.ModeCharDevice | 0o600},
		{"etc", fs.ModeDir | 0o700},
		{"init", 0o755},
		{"tmp", fs.ModeDir | fs.ModeSticky | 0o777},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			assert.Equal(t, tc.mode, byPath[tc.path].Mode)
		})
	}
	assert.Equal(t, "busybox", byPath["bin/sh"].LinkTarget)
	assert.Equal(t, []byte("#!/bin/sh\necho hi\n"), byPath["init"].Data)
	assert.Equal(t, uint32(5), byPath["dev/console"].DevMajor)
	assert.Equal(t, uint32(1), byPath["dev/console"].DevMinor)
}

func TestWriteIsReproducible(t *testing.T) {
	e := sample()
	rev := make([]Entry, len(e))
	for i := range e {
		rev[len(e)-1-i] = e[i]
	}
	var a, b bytes.Buffer
	require.NoError(t, WriteGzip(&a, e, 42))
	require.NoError(t, WriteGzip(&b, rev, 42))
	assert.Equal(t, a.Bytes(), b.Bytes(), "input order must not matter")

	var c bytes.Buffer
	require.NoError(t, WriteGzip(&c, e, 43))
	assert.NotEqual(t, a.Bytes(), c.Bytes(), "epoch must reach the archive")
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"duplicate", []Entry{{Path: "a", Data: []byte("1")}, {Path: "/a", Data: []byte("2")}}, "duplicate path"},
		{"escape", []Entry{{Path: "../etc/passwd"}}, "leaves the archive root"},
		{"empty", []Entry{{Path: "/"}}, "empty path"},
		{"parent is a file", []Entry{{Path: "a"}, {Path: "a/b"}}, "not a directory"},
		{"symlink without target", []Entry{{Path: "l", Mode: fs.ModeSymlink}}, "without a target"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(io.Discard, tc.entries, 0)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestSystemCpioReads checks the archive with GNU cpio, an independent reader.
func TestSystemCpioReads(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (apt-get install cpio)")
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, sample(), 0))
	cmd := exec.Command("cpio", "-it", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "bin\nbin/busybox\nbin/sh\ndev\ndev/console\netc\ninit\ntmp\n", string(out))
}

func TestWriteDir(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "usr/lib/os-release"), []byte("ID=hadron\n"), 0o644))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(root, "lib")))

	var a bytes.Buffer
	require.NoError(t, WriteDir(&a, root, 7))
	got, err := Read(bytes.NewReader(a.Bytes()))
	require.NoError(t, err)
	var names []string
	for _, e := range got {
		names = append(names, e.Path)
	}
	assert.Equal(t, "lib usr usr/lib usr/lib/os-release", strings.Join(names, " "))
	assert.Equal(t, "usr/lib", got[0].LinkTarget)
	assert.Equal(t, []byte("ID=hadron\n"), got[3].Data)
}

func TestGzipHeaderIsFixed(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteGzip(&buf, sample(), 0))
	zr, err := gzip.NewReader(&buf)
	require.NoError(t, err)
	assert.Empty(t, zr.Name)
	assert.True(t, zr.ModTime.IsZero())
}

// BenchmarkWriteGzip20MiB packs a 20 MiB initrd (busybox-like mix of
// files) with compression, the path a UKI build takes.
func BenchmarkWriteGzip20MiB(b *testing.B) {
	var entries []Entry
	chunk := bytes.Repeat([]byte("hadron initrd payload 0123456789\n"), 1<<15) // ~1 MiB
	for i := 0; i < 20; i++ {
		entries = append(entries, Entry{Path: "usr/lib/blob" + string(rune('a'+i)), Mode: 0o644, Data: chunk})
	}
	b.SetBytes(int64(20 * len(chunk)))
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteGzip(&buf, entries, 0); err != nil {
			b.Fatal(err)
		}
	}
}
