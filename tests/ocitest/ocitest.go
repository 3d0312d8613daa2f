// Package ocitest writes small OCI image layouts for tests with
// go-containerregistry: an independent writer of what internal/ocilayout
// reads, as BuildKit's oci exporter writes it (tar=false), one layer per
// Layer with a history entry naming it.
package ocitest

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// Epoch is the time of every file, history entry and config that does not
// set its own.
var Epoch = time.Unix(1700000000, 0).UTC()

// File is one entry of a layer: a regular file with Content, or a symlink
// to Symlink.
type File struct {
	Path, Content, Symlink string
	// Mode is the permission bits (default 0644); ModTime the time
	// (default Epoch).
	Mode    int64
	ModTime time.Time
}

// Layer is one layer and its history entry.
type Layer struct {
	CreatedBy string
	// Created is the history entry's time (default Epoch).
	Created time.Time
	Files   []File
}

// Image is an image to write.
type Image struct {
	Layers []Layer
	// History, when not nil, replaces the history the layers make: one
	// entry per string, at Epoch.
	History []string
}

// WriteLayout writes an OCI layout of a linux/amd64 image with layers
// (gzip-compressed, OCI media types) to dir.
func WriteLayout(t testing.TB, dir string, layers ...Layer) {
	t.Helper()
	WriteImage(t, dir, Image{Layers: layers})
}

// WriteImage writes an OCI layout of the linux/amd64 image im to dir.
func WriteImage(t testing.TB, dir string, im Image) {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range im.Layers {
		data := tarOf(t, l.Files)
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		require.NoError(t, err)
		created := l.Created
		if created.IsZero() {
			created = Epoch
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
			CreatedBy: l.CreatedBy, Created: v1.Time{Time: created}, Comment: "hadron",
		}})
		require.NoError(t, err)
	}
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: Epoch}
	if im.History != nil {
		cfg.History = nil
		for _, h := range im.History {
			cfg.History = append(cfg.History, v1.History{CreatedBy: h, Created: v1.Time{Time: Epoch}})
		}
	}
	img, err = mutate.ConfigFile(img, cfg)
	require.NoError(t, err)
	p, err := layout.Write(dir, empty.Index)
	require.NoError(t, err)
	require.NoError(t, p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"})))
}

// tarOf is an uncompressed tar of files, in order.
func tarOf(t testing.TB, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: f.Mode, ModTime: f.ModTime, Typeflag: tar.TypeReg, Size: int64(len(f.Content)), Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.ModTime.IsZero() {
			h.ModTime = Epoch
		}
		if f.Symlink != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, f.Symlink, 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(f.Content))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}
