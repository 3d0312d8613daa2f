package frontendimage_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontendimage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageCarriesTools: the image holds the frontend as its entrypoint
// and the hadron binary exactly where boot steps run it.
func TestImageCarriesTools(t *testing.T) {
	assert.Equal(t, path.Join(convert.ToolsDir, convert.ToolBinary), frontendimage.ToolsPath)
	img, err := frontendimage.Build([]byte("frontend"), []byte("hadron"), "amd64", 1700000000)
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{frontendimage.BinaryPath}, cfg.Config.Entrypoint)
	assert.Equal(t, "amd64", cfg.Architecture)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[h.Name] = string(b)
		assert.Equal(t, int64(1700000000), h.ModTime.Unix(), h.Name)
	}
	assert.Equal(t, "frontend", files["bin/hadron-frontend"])
	assert.Equal(t, "hadron", files["hadron-tools/hadron"])

	_, err = frontendimage.Build([]byte("frontend"), nil, "amd64", 0)
	assert.ErrorContains(t, err, "hadron binary")
}

// TestWriteOCITar: the archive is an OCI layout holding the image under
// its name, and the same image gives the same bytes.
func TestWriteOCITar(t *testing.T) {
	img, err := frontendimage.Build([]byte("frontend"), []byte("hadron"), "amd64", 1700000000)
	require.NoError(t, err)
	var a, b bytes.Buffer
	require.NoError(t, frontendimage.WriteOCITar(&a, img, "hadron-frontend:dev", 1700000000))
	require.NoError(t, frontendimage.WriteOCITar(&b, img, "hadron-frontend:dev", 1700000000))
	assert.Equal(t, a.Bytes(), b.Bytes(), "reproducible")

	dir := t.TempDir()
	tr := tar.NewReader(&a)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	idx, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, m.Manifests, 1)
	assert.Equal(t, "hadron-frontend:dev", m.Manifests[0].Annotations["org.opencontainers.image.ref.name"])
	want, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, want, m.Manifests[0].Digest)
}
