// Package frontendimage assembles the gateway frontend image without a
// Docker engine: one layer holding the static hadron-frontend binary (the
// entrypoint BuildKit runs) and the static hadron binary that the
// frontend's own build steps run (the ELF gates of every image and
// package; boot targets: initrd, UKI, signing), so a gateway build needs
// nothing but the project tree.
// buildkit-frontends/Dockerfile describes the same image for `docker
// buildx build`; this package is what the tests and `make frontend-image`
// use where no Docker engine exists.
package frontendimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinaryPath is where the frontend binary lives inside the image.
const BinaryPath = "/bin/hadron-frontend"

// ToolsPath is where the hadron binary lives inside the image: the path
// tool steps (ELF gates, boot steps) run it at (convert.ToolsDir/convert.ToolBinary), so the
// frontend mounts its own image's /hadron-tools there unchanged.
const ToolsPath = "/hadron-tools/hadron"

// Build returns a reproducible linux/arch image running frontend (a static
// hadron-frontend executable) as a BuildKit gateway frontend and carrying
// hadron (a static hadron executable) at ToolsPath.
func Build(frontend, hadron []byte, arch string, epoch int64) (v1.Image, error) {
	if len(frontend) == 0 || len(hadron) == 0 {
		return nil, fmt.Errorf("frontend image: both the hadron-frontend and the hadron binary are needed")
	}
	created := time.Unix(epoch, 0).UTC()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"bin/", nil},
		{strings.TrimPrefix(BinaryPath, "/"), frontend},
		{path.Dir(strings.TrimPrefix(ToolsPath, "/")) + "/", nil},
		{strings.TrimPrefix(ToolsPath, "/"), hadron},
	} {
		h := &tar.Header{Name: f.name, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: created}
		if f.data != nil {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("frontend image layer: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("frontend image layer: %w", err)
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
