package repro_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/ocilayout"
	"github.com/hadron-linux/hadron/internal/repro"
	"github.com/hadron-linux/hadron/tests/ocitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// image is a two-package image whose second package holds stamp.
func image(stamp string, extra ...ocitest.File) []ocitest.Layer {
	return []ocitest.Layer{
		{CreatedBy: "package tiny-a 1", Files: []ocitest.File{{Path: "usr/share/tiny/a", Content: "a\n"}}},
		{CreatedBy: "package tiny-b 1", Files: append([]ocitest.File{
			{Path: "usr/share/tiny/b", Content: "b\n"},
			{Path: "usr/share/tiny/stamp", Content: stamp},
		}, extra...)},
	}
}

func layouts(t *testing.T, a, b []ocitest.Layer) (*ocilayout.Layout, *ocilayout.Layout) {
	t.Helper()
	da, db := t.TempDir(), t.TempDir()
	ocitest.WriteLayout(t, da, a...)
	ocitest.WriteLayout(t, db, b...)
	la, err := ocilayout.Open(da)
	require.NoError(t, err)
	lb, err := ocilayout.Open(db)
	require.NoError(t, err)
	return la, lb
}

func sha(s string) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(s))) }

// TestCompareLayoutsIdentical: two layouts of the same image compare equal
// artifact by artifact: index, manifest, config and both layers.
func TestCompareLayoutsIdentical(t *testing.T) {
	a, b := layouts(t, image("Tue Nov 14\n"), image("Tue Nov 14\n"))
	r, err := repro.CompareLayouts(context.Background(), a, b, repro.Options{})
	require.NoError(t, err)
	assert.True(t, r.Reproducible())
	var kinds []string
	for _, it := range r.Items {
		kinds = append(kinds, string(it.Kind)+" "+it.Name)
	}
	assert.Equal(t, []string{
		"index index.json", "manifest linux/amd64", "config linux/amd64",
		"layer linux/amd64 1/2 (package tiny-a 1)", "layer linux/amd64 2/2 (package tiny-b 1)",
	}, kinds)
	var out bytes.Buffer
	require.NoError(t, r.Write(&out, false))
	assert.Equal(t, "reproducible: all 5 compared artifacts are identical\n", out.String())
}

// TestCompareLayoutsNamesPackageAndFile: a package whose layer holds the
// build date is named, with the file, both sizes and digests; a file only
// one build wrote is listed too. The untouched package is identical.
func TestCompareLayoutsNamesPackageAndFile(t *testing.T) {
	a, b := layouts(t, image("Tue Nov 14 22:13:20 UTC 2023\n"),
		image("Wed Nov 15 09:01:02 UTC 2023\n", ocitest.File{Path: "usr/share/tiny/uuid", Content: "f00\n"}))
	r, err := repro.CompareLayouts(context.Background(), a, b, repro.Options{})
	require.NoError(t, err)
	assert.False(t, r.Reproducible())
	differ := map[string]repro.Item{}
	for _, it := range r.Differing() {
		differ[string(it.Kind)+" "+it.Name] = it
	}
	assert.Contains(t, differ, "index index.json")
	assert.Contains(t, differ, "manifest linux/amd64")
	assert.NotContains(t, differ, "layer linux/amd64 1/2 (package tiny-a 1)")
	cfg := differ["config linux/amd64"]
	assert.Contains(t, strings.Join(cfg.Details, "\n"), "rootfs.diff_ids[1]: ")
	assert.NotContains(t, strings.Join(cfg.Details, "\n"), "rootfs.diff_ids[0]")

	layer, ok := differ["layer linux/amd64 2/2 (package tiny-b 1)"]
	require.True(t, ok, "the package's layer differs: %v", differ)
	require.Len(t, layer.Files, 2)
	assert.Equal(t, "usr/share/tiny/stamp", layer.Files[0].Path)
	assert.Equal(t, []string{"content"}, layer.Files[0].Changes())
	assert.Equal(t, "usr/share/tiny/uuid", layer.Files[1].Path)
	assert.Equal(t, []string{"only in b"}, layer.Files[1].Changes())

	var out bytes.Buffer
	require.NoError(t, r.Write(&out, false))
	text := out.String()
	for _, want := range []string{
		"DIFFERS    layer linux/amd64 2/2 (package tiny-b 1)",
		"usr/share/tiny/stamp: content",
		"a: 29 bytes " + sha("Tue Nov 14 22:13:20 UTC 2023\n"),
		"b: 29 bytes " + sha("Wed Nov 15 09:01:02 UTC 2023\n"),
		"usr/share/tiny/uuid: only in b",
		"NOT REPRODUCIBLE: 4 of 5 compared artifacts differ",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "tiny-a", "identical items are left out")
	out.Reset()
	require.NoError(t, r.Write(&out, true))
	assert.Contains(t, out.String(), "identical  layer linux/amd64 1/2 (package tiny-a 1)")
}

// TestCompareLayoutsConfigOnly: same layers, but a history entry carries
// another time (what BuildKit wrote before the frontend passed the epoch):
// the config and so the manifest differ, and the report says which field.
func TestCompareLayoutsConfigOnly(t *testing.T) {
	la, lb := image("x"), image("x")
	lb[1].Created = ocitest.Epoch.Add(93 * time.Second)
	a, b := layouts(t, la, lb)
	r, err := repro.CompareLayouts(context.Background(), a, b, repro.Options{})
	require.NoError(t, err)
	var names []string
	for _, it := range r.Differing() {
		names = append(names, string(it.Kind))
	}
	assert.Equal(t, []string{"index", "manifest", "config"}, names, "the layers are the same")
	cfg := r.Differing()[2]
	assert.Equal(t, []string{`history[1].created: "2023-11-14T22:13:20Z" / "2023-11-14T22:14:53Z"`}, cfg.Details)
}

// TestCompareLayoutsMetadata: same content, another mode and time: the
// layer differs and the report says mode and mtime, not content.
func TestCompareLayoutsMetadata(t *testing.T) {
	lb := image("x")
	lb[1].Files[0].Mode = 0o755
	lb[1].Files[0].ModTime = time.Unix(1, 0)
	a, b := layouts(t, image("x"), lb)
	r, err := repro.CompareLayouts(context.Background(), a, b, repro.Options{})
	require.NoError(t, err)
	it := r.Differing()[len(r.Differing())-1]
	require.Equal(t, repro.KindLayer, it.Kind)
	require.Len(t, it.Files, 1)
	assert.Equal(t, []string{"mode", "mtime"}, it.Files[0].Changes())
	assert.Contains(t, strings.Join(it.Files[0].Lines(), "\n"), "mode 0755")
}

// fakeDiffoscope puts a diffoscope on PATH that checks it got two
// existing files, prints them and exits with code.
func fakeDiffoscope(t *testing.T, code int) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "diffoscope")
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1 $2\" = '--text -' ] || exit 9\ntest -s \"$3\" && test -s \"$4\" || exit 8\necho \"fake diffoscope: $(basename \"$3\") $(basename \"$4\")\"\nexit %d\n", code)
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return bin
}

// TestDiffoscopeOnLayers: with diffoscope on PATH, a differing layer gets
// its report on the two uncompressed tars (exit status 1 means "they
// differ", not a failure); another exit status is an error.
func TestDiffoscopeOnLayers(t *testing.T) {
	bin := fakeDiffoscope(t, 1)
	assert.Equal(t, bin, repro.FindDiffoscope())
	a, b := layouts(t, image("1"), image("2"))
	work := t.TempDir()
	r, err := repro.CompareLayouts(context.Background(), a, b, repro.Options{Diffoscope: bin, WorkDir: work})
	require.NoError(t, err)
	it := r.Differing()[len(r.Differing())-1]
	assert.Equal(t, "fake diffoscope: a.tar b.tar", it.Diffoscope)
	assert.FileExists(t, filepath.Join(work, "layer-2", "a.tar"))

	broken := fakeDiffoscope(t, 2)
	_, err = repro.CompareLayouts(context.Background(), a, b, repro.Options{Diffoscope: broken})
	require.ErrorContains(t, err, "diffoscope")
}

// TestFindDiffoscopeMissing: no diffoscope on PATH, none found.
func TestFindDiffoscopeMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	assert.Empty(t, repro.FindDiffoscope())
}

// TestCompareTrees: exported trees compare file by file; Explain adds its
// lines to a file whose content differs.
func TestCompareTrees(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(root, p, data string, mode os.FileMode) {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(data), mode))
		require.NoError(t, os.Chtimes(full, ocitest.Epoch, ocitest.Epoch))
	}
	for _, root := range []string{a, b} {
		write(root, "loader/loader.conf", "timeout 0\n", 0o644)
		require.NoError(t, os.Chtimes(filepath.Join(root, "loader"), ocitest.Epoch, ocitest.Epoch))
		require.NoError(t, os.Chtimes(filepath.Join(root), ocitest.Epoch, ocitest.Epoch))
	}
	write(a, "EFI/Linux/x.efi", "signed one way", 0o644)
	write(b, "EFI/Linux/x.efi", "signed another way", 0o644)
	require.NoError(t, os.Chtimes(filepath.Join(a, "EFI", "Linux"), ocitest.Epoch, ocitest.Epoch))
	require.NoError(t, os.Chtimes(filepath.Join(b, "EFI", "Linux"), ocitest.Epoch, ocitest.Epoch))
	require.NoError(t, os.Chtimes(filepath.Join(a, "EFI"), ocitest.Epoch, ocitest.Epoch))
	require.NoError(t, os.Chtimes(filepath.Join(b, "EFI"), ocitest.Epoch, ocitest.Epoch))
	write(b, "only-b", "", 0o600)

	var explained []string
	r, err := repro.CompareTrees(context.Background(), a, b, repro.Options{Explain: func(rel, pa, pb string) []string {
		explained = append(explained, rel)
		assert.FileExists(t, pa)
		assert.FileExists(t, pb)
		return []string{"explained " + rel}
	}})
	require.NoError(t, err)
	var differ []string
	for _, it := range r.Differing() {
		differ = append(differ, it.Name)
	}
	assert.Equal(t, []string{"EFI/Linux/x.efi", "only-b"}, differ)
	assert.Equal(t, []string{"EFI/Linux/x.efi"}, explained)
	assert.Equal(t, []string{"explained EFI/Linux/x.efi"}, r.Differing()[0].Details)
	assert.Len(t, r.Items, 6, "EFI, EFI/Linux, EFI/Linux/x.efi, loader, loader/loader.conf, only-b")

	same, err := repro.CompareTrees(context.Background(), a, a, repro.Options{})
	require.NoError(t, err)
	assert.True(t, same.Reproducible())
}

// TestCompareFiles: two single files (disk images) are one item.
func TestCompareFiles(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img"), filepath.Join(dir, "c.img")
	require.NoError(t, os.WriteFile(a, []byte("disk"), 0o644))
	require.NoError(t, os.WriteFile(b, []byte("disk"), 0o644))
	require.NoError(t, os.WriteFile(c, []byte("disk!"), 0o644))
	r, err := repro.CompareFiles(context.Background(), a, b, repro.Options{})
	require.NoError(t, err)
	assert.True(t, r.Reproducible())
	r, err = repro.CompareFiles(context.Background(), a, c, repro.Options{})
	require.NoError(t, err)
	require.False(t, r.Reproducible())
	assert.Equal(t, []string{"sizes: 4 / 5 bytes"}, r.Items[0].Details)
}

// TestEmptyReportIsNotReproducible: nothing compared proves nothing.
func TestEmptyReportIsNotReproducible(t *testing.T) {
	assert.False(t, (&repro.Report{}).Reproducible())
}

// BenchmarkCompareDifferingLayer compares two layouts whose second layer
// (1000 files of 4 KiB) differs in every file: decompression, tar
// listing and hashing of both blobs, the cost of a failing check.
func BenchmarkCompareDifferingLayer(b *testing.B) {
	files := func(salt string) []ocitest.File {
		out := make([]ocitest.File, 1000)
		for i := range out {
			out[i] = ocitest.File{Path: fmt.Sprintf("usr/lib/f%04d", i), Content: strings.Repeat(salt, 4096)}
		}
		return out
	}
	da, db := b.TempDir(), b.TempDir()
	ocitest.WriteLayout(b, da, ocitest.Layer{CreatedBy: "package a 1", Files: files("a")})
	ocitest.WriteLayout(b, db, ocitest.Layer{CreatedBy: "package a 1", Files: files("b")})
	la, err := ocilayout.Open(da)
	require.NoError(b, err)
	lb, err := ocilayout.Open(db)
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := repro.CompareLayouts(context.Background(), la, lb, repro.Options{})
		if err != nil || len(r.Differing()[len(r.Differing())-1].Files) != 1000 {
			b.Fatalf("compare: %v", err)
		}
	}
}
