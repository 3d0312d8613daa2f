package harness

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func TestLayerFromFileCachesDigests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "layer.tar.gz")
	writeGzip(t, path, "first")

	check := func() {
		t.Helper()
		want, err := tarball.LayerFromFile(path)
		require.NoError(t, err)
		got, err := layerFromFile(path)
		require.NoError(t, err)
		wd, err := want.Digest()
		require.NoError(t, err)
		gd, err := got.Digest()
		require.NoError(t, err)
		assert.Equal(t, wd, gd, "digest")
		wi, err := want.DiffID()
		require.NoError(t, err)
		gi, err := got.DiffID()
		require.NoError(t, err)
		assert.Equal(t, wi, gi, "diffID")
		ws, _ := want.Size()
		gs, _ := got.Size()
		assert.Equal(t, ws, gs)
	}

	check()
	assert.FileExists(t, path+".json")
	check() // from the sidecar

	// A changed tarball must not be described by the stale sidecar.
	writeGzip(t, path, "second, longer content")
	future := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(path, future, future))
	check()
}
