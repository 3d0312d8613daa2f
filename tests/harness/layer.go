package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerInfo is what it costs seconds to compute for a large compressed
// layer (hashing it and its decompressed form). It is kept next to the
// tarball in <tarball>.json and trusted while size and mtime match.
type layerInfo struct {
	Digest  string `json:"digest"`
	DiffID  string `json:"diffID"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"modTimeUnixNano"`
}

// fileLayer is a gzip-compressed layer on disk with known digests.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

func (l *fileLayer) Digest() (v1.Hash, error)           { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)           { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)               { return l.size, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	return types.OCILayer, nil
}

// layerFromFile returns the gzip-compressed tarball at path as an OCI
// layer, computing its digests only when the sidecar file is missing or
// stale.
func layerFromFile(path string) (v1.Layer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	sidecar := path + ".json"
	var info layerInfo
	if data, err := os.ReadFile(sidecar); err == nil && json.Unmarshal(data, &info) == nil &&
		info.Size == fi.Size() && info.ModTime == fi.ModTime().UnixNano() {
		if l, err := info.layer(path); err == nil {
			return l, nil
		}
	}
	tl, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("reading layer %s: %w", path, err)
	}
	digest, err := tl.Digest()
	if err != nil {
		return nil, fmt.Errorf("hashing layer %s: %w", path, err)
	}
	diffID, err := tl.DiffID()
	if err != nil {
		return nil, fmt.Errorf("hashing layer %s: %w", path, err)
	}
	info = layerInfo{Digest: digest.String(), DiffID: diffID.String(), Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	if data, err := json.Marshal(info); err == nil {
		_ = os.WriteFile(sidecar, data, 0o644) // a cache: losing it costs time only
	}
	return info.layer(path)
}

// layer builds the v1.Layer for the tarball at path described by info.
func (info layerInfo) layer(path string) (v1.Layer, error) {
	digest, err := v1.NewHash(info.Digest)
	if err != nil {
		return nil, err
	}
	diffID, err := v1.NewHash(info.DiffID)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToLayer(&fileLayer{path: path, digest: digest, diffID: diffID, size: info.Size})
}
