package ocilayout_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hadron-linux/hadron/internal/ocilayout"
	"github.com/hadron-linux/hadron/tests/ocitest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImagesAndLayers: a layout written by another implementation
// (go-containerregistry) reads back as one linux/amd64 image whose layers
// carry their diff ids and history, and whose layer blobs decompress to
// the tars written.
func TestImagesAndLayers(t *testing.T) {
	dir := t.TempDir()
	ocitest.WriteLayout(t, dir,
		ocitest.Layer{CreatedBy: "package a 1", Files: []ocitest.File{{Path: "usr/share/a", Content: "a\n"}}},
		ocitest.Layer{CreatedBy: "package b 2", Files: []ocitest.File{{Path: "usr/share/b", Content: "bb\n"}, {Path: "usr/bin/b", Symlink: "../share/b"}}},
	)
	l, err := ocilayout.Open(dir)
	require.NoError(t, err)
	assert.Len(t, l.Index().Manifests, 1)
	imgs, err := l.Images(context.Background())
	require.NoError(t, err)
	require.Len(t, imgs, 1)
	img := imgs[0]
	assert.Equal(t, "linux/amd64", img.Platform)
	assert.Contains(t, string(img.ConfigJSON), `"architecture":"amd64"`)
	require.Len(t, img.Layers, 2)
	assert.Equal(t, "package a 1", img.Layers[0].CreatedBy)
	assert.Equal(t, "package b 2", img.Layers[1].CreatedBy)
	assert.Equal(t, "hadron", img.Layers[1].Comment)
	assert.NotEqual(t, img.Layers[1].DiffID, img.Layers[1].Descriptor.Digest, "diff id is of the uncompressed tar")

	rc, err := l.OpenLayer(context.Background(), img.Layers[1].Descriptor)
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
	assert.Equal(t, []string{"usr/share/b", "usr/bin/b"}, names)
}

// TestHistoryNotPerLayer: when the history does not have one entry per
// layer, no layer is named after it (a wrong name is worse than none).
func TestHistoryNotPerLayer(t *testing.T) {
	dir := t.TempDir()
	ocitest.WriteImage(t, dir, ocitest.Image{
		Layers: []ocitest.Layer{
			{Files: []ocitest.File{{Path: "a", Content: "a"}}},
			{Files: []ocitest.File{{Path: "b", Content: "b"}}},
		},
		History: []string{"only one entry"},
	})
	l, err := ocilayout.Open(dir)
	require.NoError(t, err)
	imgs, err := l.Images(context.Background())
	require.NoError(t, err)
	require.Len(t, imgs, 1)
	require.Len(t, imgs[0].Layers, 2)
	for _, ly := range imgs[0].Layers {
		assert.Empty(t, ly.CreatedBy)
		assert.NotEmpty(t, ly.DiffID)
	}
}

// TestOpenErrors: a directory without index.json is not a layout.
func TestOpenErrors(t *testing.T) {
	_, err := ocilayout.Open(t.TempDir())
	require.ErrorContains(t, err, "index.json")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.json"), []byte("{"), 0o644))
	_, err = ocilayout.Open(dir)
	require.ErrorContains(t, err, "index.json")
}

// TestImportArchive: an OCI layout tarball (what `-o type=oci,dest=x.tar`
// writes) imports into a content store and reads as the layout it packs:
// same index digest, same manifests and layers.
func TestImportArchive(t *testing.T) {
	dir := t.TempDir()
	ocitest.WriteLayout(t, dir,
		ocitest.Layer{CreatedBy: "package a 1", Files: []ocitest.File{{Path: "a", Content: "a"}}})
	archive := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(archive)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	require.NoError(t, tw.AddFS(os.DirFS(dir)))
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())

	want, err := ocilayout.Open(dir)
	require.NoError(t, err)
	got, err := ocilayout.ImportArchive(context.Background(), archive, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, want.IndexDigest, got.IndexDigest)
	wi, err := want.Images(context.Background())
	require.NoError(t, err)
	gi, err := got.Images(context.Background())
	require.NoError(t, err)
	assert.Equal(t, wi, gi)

	notImage := filepath.Join(t.TempDir(), "disk.img")
	require.NoError(t, os.WriteFile(notImage, make([]byte, 4096), 0o644))
	_, err = ocilayout.ImportArchive(context.Background(), notImage, t.TempDir())
	require.Error(t, err)
}
