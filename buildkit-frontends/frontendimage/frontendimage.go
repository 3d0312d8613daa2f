// Package frontendimage assembles the gateway frontend image without a
// Docker engine: one layer holding the static hadron-frontend binary, with
// the entrypoint BuildKit runs. buildkit-frontends/Dockerfile describes the
// same image for `docker buildx build`; this package is what the tests and
// `make frontend-image` use where no Docker engine exists.
package frontendimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinaryPath is where the frontend binary lives inside the image.
const BinaryPath = "/bin/hadron-frontend"

// Build returns a reproducible linux/arch image running binary (a static
// hadron-frontend executable) as a BuildKit gateway frontend.
func Build(binary []byte, arch string, epoch int64) (v1.Image, error) {
	created := time.Unix(epoch, 0).UTC()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created},
		{Name: "bin/hadron-frontend", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(binary)), ModTime: created},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("frontend image layer: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(binary); err != nil {
				return nil, fmt.Errorf("frontend image layer: %w", err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("frontend image layer: %w", err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("frontend image layer: %w", err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "hadron frontend image"},
	})
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = arch
	cfg.Created = v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{BinaryPath}
	cfg.Config.Labels = map[string]string{"moby.buildkit.frontend.network.none": "true"}
	return mutate.ConfigFile(img, cfg)
}
