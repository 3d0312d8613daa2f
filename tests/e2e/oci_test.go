package e2e

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/tests/harness"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ociLayers reads an OCI layout tarball and returns its single manifest's
// layer digests.
func ociLayers(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	blobs := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if h.Name == "index.json" || (strings.HasPrefix(h.Name, "blobs/sha256/") && h.Size < 1<<20) {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			blobs[h.Name] = b
		}
	}
	var idx ocispecs.Index
	require.NoError(t, json.Unmarshal(blobs["index.json"], &idx))
	require.Len(t, idx.Manifests, 1)
	var m ocispecs.Manifest
	require.NoError(t, json.Unmarshal(blobs["blobs/sha256/"+idx.Manifests[0].Digest.Encoded()], &m))
	out := make([]string, 0, len(m.Layers))
	for _, l := range m.Layers {
		out = append(out, l.Digest.String())
	}
	return out
}

// TestCLIBuildOCI runs the hadron binary as a user would: configuration from
// hadron.yaml (mirrors, stage0), --addr, an OCI export. The image has one
// layer per package plus the finalize layer; the packages' ELF gates,
// which the finalize step depends on, add none.
func TestCLIBuildOCI(t *testing.T) {
	e := setup(t)
	bin := filepath.Join(buildHadron(t), "hadron")

	cfg := "stage0: " + e.stage0 + "\nsource-date-epoch: " + strconv.FormatInt(epoch, 10) + "\nsubstitutes: [" + strings.Join(harness.Substitutes, ", ") + "]\nmirrors:\n"
	for k, v := range e.mirrors {
		cfg += "  \"" + k + "\": \"" + v + "\"\n"
	}
	cfgPath := filepath.Join(t.TempDir(), "hadron.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	oci := filepath.Join(t.TempDir(), "mini.tar")
	cmd := exec.Command(bin, "--config", cfgPath, "-C", repoRoot(t), "build", "mini",
		"--addr", e.addr, "--progress", "plain", "-o", "type=oci,dest="+oci)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	layers := ociLayers(t, oci)
	assert.Len(t, layers, 4, "musl, busybox, xz and finalize: one layer each, none for the ELF gates")
	for _, pkg := range []string{"musl", "busybox", "xz"} {
		assert.Contains(t, string(out), pkg+": elf gate", "the gates run this hadron binary")
	}
}
