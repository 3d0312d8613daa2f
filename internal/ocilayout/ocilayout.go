// Package ocilayout reads OCI image layouts — a directory holding
// oci-layout, index.json and blobs/<algorithm>/<hex>, what BuildKit's oci
// exporter writes with tar=false — through containerd's content store
// and image handlers: the images a layout holds, their manifests, configs
// and layers, and a layer's uncompressed tar stream.
package ocilayout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/images/archive"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/containerd/v2/plugins/content/local"
	"github.com/containerd/platforms"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// IndexFile is the layout's entry point, relative to its directory.
const IndexFile = "index.json"

// AttestationAnnotation marks a manifest that BuildKit attaches to an
// image as an attestation (provenance, SBOM) rather than an image.
const AttestationAnnotation = "vnd.docker.reference.type"

// Layout is an OCI image layout on disk, read through a containerd
// content store rooted at its directory (whose blobs/ is the store's).
type Layout struct {
	dir   string
	store content.Store
	index ocispec.Index
	// IndexDigest is the digest of index.json as written.
	IndexDigest digest.Digest
}

// Open reads the layout in dir: its index.json, and a content store over
// its blobs.
func Open(dir string) (*Layout, error) {
	data, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("OCI layout %s: %s: %w", dir, IndexFile, err)
	}
	store, err := local.NewStore(dir)
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: content store: %w", dir, err)
	}
	return &Layout{dir: dir, store: store, index: idx, IndexDigest: digest.FromBytes(data)}, nil
}

// ImportArchive imports an image archive — an OCI layout tarball, what
// BuildKit's oci exporter writes by default, or a Docker archive — into a
// content store at dir with containerd's archive importer, and returns
// it as a Layout. For an OCI archive the index is the archive's own
// index.json (IndexDigest is its digest); for a Docker archive it is the
// one the importer makes.
func ImportArchive(ctx context.Context, path, dir string) (*Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image archive: %w", err)
	}
	defer f.Close()
	store, err := local.NewStore(dir)
	if err != nil {
		return nil, fmt.Errorf("image archive %s: content store: %w", path, err)
	}
	desc, err := archive.ImportIndex(ctx, store, f)
	if err != nil {
		return nil, fmt.Errorf("image archive %s: %w", path, err)
	}
	data, err := content.ReadBlob(ctx, store, desc)
	if err != nil {
		return nil, fmt.Errorf("image archive %s: index: %w", path, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("image archive %s: index: %w", path, err)
	}
	return &Layout{dir: dir, store: store, index: idx, IndexDigest: desc.Digest}, nil
}

// Dir is the layout's directory.
func (l *Layout) Dir() string { return l.dir }

// Index is the layout's index.json.
func (l *Layout) Index() ocispec.Index { return l.index }

// Image is one image manifest of a layout.
type Image struct {
	// Platform is os/arch[/variant] from the descriptor or the config;
	// an attestation manifest has "attestation" in front.
	Platform string
	// Manifest, Config: the descriptors, and the config's bytes.
	Manifest, Config ocispec.Descriptor
	ConfigJSON       []byte
	// Layers are the manifest's layers, bottom first.
	Layers []Layer
}

// Layer is one layer of an image.
type Layer struct {
	// Descriptor is the layer blob's descriptor.
	Descriptor ocispec.Descriptor
	// DiffID is the digest of the uncompressed layer, from the config.
	DiffID digest.Digest
	// CreatedBy is what the config's history says made the layer, and
	// Comment its comment: the layer's entry when the history has one
	// entry per layer (not counting empty ones), else empty.
	CreatedBy, Comment string
}

// Images walks the layout from its index (nested indexes included) with
// containerd's image handlers and returns every image manifest it finds,
// in walk order.
func (l *Layout) Images(ctx context.Context) ([]Image, error) {
	var out []Image
	handler := images.HandlerFunc(func(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		switch {
		case images.IsIndexType(desc.MediaType):
			return images.Children(ctx, l.store, desc)
		case images.IsManifestType(desc.MediaType):
			img, err := l.image(ctx, desc)
			if err != nil {
				return nil, err
			}
			out = append(out, img)
		}
		return nil, nil
	})
	if err := images.Walk(ctx, handler, l.index.Manifests...); err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", l.dir, err)
	}
	return out, nil
}

// image reads the manifest desc and its config.
func (l *Layout) image(ctx context.Context, desc ocispec.Descriptor) (Image, error) {
	m, err := images.Manifest(ctx, l.store, desc, platforms.All)
	if err != nil {
		return Image{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	cfgData, err := content.ReadBlob(ctx, l.store, m.Config)
	if err != nil {
		return Image{}, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(cfgData, &cfg); err != nil {
		return Image{}, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	img := Image{Manifest: desc, Config: m.Config, ConfigJSON: cfgData}
	switch {
	case desc.Platform != nil:
		img.Platform = platforms.Format(*desc.Platform)
	case cfg.OS != "":
		img.Platform = platforms.Format(cfg.Platform)
	}
	if t := desc.Annotations[AttestationAnnotation]; t != "" {
		img.Platform = "attestation " + img.Platform
	}
	var history []ocispec.History
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			history = append(history, h)
		}
	}
	for i, d := range m.Layers {
		ly := Layer{Descriptor: d}
		if i < len(cfg.RootFS.DiffIDs) {
			ly.DiffID = cfg.RootFS.DiffIDs[i]
		}
		if len(history) == len(m.Layers) {
			ly.CreatedBy, ly.Comment = history[i].CreatedBy, history[i].Comment
		}
		img.Layers = append(img.Layers, ly)
	}
	return img, nil
}

// OpenLayer returns the uncompressed tar stream of the layer blob desc
// (gzip, zstd or uncompressed, as containerd's decompressor detects).
func (l *Layout) OpenLayer(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	ra, err := l.store.ReaderAt(ctx, desc)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	dec, err := compression.DecompressStream(content.NewReader(ra))
	if err != nil {
		ra.Close()
		return nil, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	return &layerReader{dec: dec, ra: ra}, nil
}

// layerReader closes the decompressor and the blob.
type layerReader struct {
	dec compression.DecompressReadCloser
	ra  content.ReaderAt
}

func (r *layerReader) Read(p []byte) (int, error) { return r.dec.Read(p) }

func (r *layerReader) Close() error {
	err := r.dec.Close()
	if cerr := r.ra.Close(); err == nil {
		err = cerr
	}
	return err
}
