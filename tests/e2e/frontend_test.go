package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontendimage"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/require"
	"github.com/tonistiigi/fsutil"
)

// pushFrontendImage builds cmd/hadron-frontend statically, wraps it in the
// frontend image and pushes it to the loopback registry.
func pushFrontendImage(t *testing.T, e env) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hadron-frontend")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/hadron-frontend")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build frontend: %s", out)
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	img, err := frontendimage.Build(data, "amd64", epoch)
	require.NoError(t, err)
	ref, err := name.ParseReference(e.registry+"/hadron/frontend:test", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	dgst, err := img.Digest()
	require.NoError(t, err)
	return fmt.Sprintf("%s/hadron/frontend@%s", e.registry, dgst)
}

// TestGatewayFrontendImage builds mini through the frontend image, exactly
// as `buildctl build --frontend gateway.v0 --opt source=<image>` does.
func TestGatewayFrontendImage(t *testing.T) {
	e := setup(t)
	ref := pushFrontendImage(t, e)
	attrs := e.request(repoRoot(t), "mini").Attrs()
	attrs["source"] = ref
	out := t.TempDir()
	_, err := e.client.Solve(context.Background(), nil, client.SolveOpt{
		Frontend:      "gateway.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": mustFS(t, repoRoot(t))},
		Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
	}, nil)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(out, "bin/busybox"))
	require.NoError(t, err)
}

// TestSyntaxLine builds from an image definition whose first line is
// `# syntax=<frontend image>`: BuildKit's Dockerfile frontend forwards to
// ours, as with `docker buildx build -f images/mini.yaml .`.
func TestSyntaxLine(t *testing.T) {
	e := setup(t)
	ref := pushFrontendImage(t, e)
	def, err := os.ReadFile(filepath.Join(repoRoot(t), "images/mini.yaml"))
	require.NoError(t, err)
	lines := strings.SplitN(string(def), "\n", 2)
	require.True(t, strings.HasPrefix(lines[0], "# syntax="), "images/mini.yaml starts with a syntax line")
	defDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(defDir, "mini.yaml"), []byte("# syntax="+ref+"\n"+lines[1]), 0o644))

	attrs := map[string]string{"filename": "mini.yaml"}
	for k, v := range e.request(repoRoot(t), "").Attrs() {
		if k != frontend.OptTarget && v != "" {
			attrs["build-arg:"+k] = v
		}
	}
	out := t.TempDir()
	_, err = e.client.Solve(context.Background(), nil, client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts: map[string]fsutil.FS{
			"context":    mustFS(t, repoRoot(t)),
			"dockerfile": mustFS(t, defDir),
		},
		Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
	}, nil)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(out, "usr/bin/xz"))
	require.NoError(t, err)
}

// TestChecksumMismatchThroughGateway: the same clear error when the
// frontend runs as an image.
func TestChecksumMismatchThroughGateway(t *testing.T) {
	e := setup(t)
	ref := pushFrontendImage(t, e)
	dir := copyTree(t)
	editFile(t, filepath.Join(dir, "vendor-hashes/musl.lock"), "sha256: 7d5b0b60", "sha256: 11111111")
	req := e.request(dir, "musl")
	req.Substitutes = nil
	attrs := req.Attrs()
	attrs["source"] = ref
	_, err := e.client.Solve(context.Background(), nil, client.SolveOpt{
		Frontend:      "gateway.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": mustFS(t, dir)},
	}, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "checksum mismatch for recipe musl")
	require.Contains(t, err.Error(), "https://musl.libc.org/releases/musl-1.2.3.tar.gz")
}
