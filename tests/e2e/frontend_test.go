package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontendimage"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tonistiigi/fsutil"
)

var (
	frontendBinsOnce sync.Once
	frontendBins     string
	frontendBinsErr  error
)

// buildFrontendBinaries builds cmd/hadron-frontend and cmd/hadron
// statically, once per test binary, and returns their directory.
func buildFrontendBinaries(t *testing.T) string {
	t.Helper()
	frontendBinsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hadron-frontend-bins-")
		if err != nil {
			frontendBinsErr = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "./cmd/hadron-frontend", "./cmd/hadron")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			frontendBinsErr = fmt.Errorf("build frontend binaries: %v: %s", err, out)
			return
		}
		frontendBins = dir
	})
	require.NoError(t, frontendBinsErr)
	return frontendBins
}

// pushFrontendImage builds the frontend image (hadron-frontend plus the
// hadron binary its boot steps run) exactly as `make frontend-image` does
// and pushes it to the loopback registry. It returns the image reference,
// pinned by digest, and the directory holding both binaries.
func pushFrontendImage(t *testing.T, e env) (ref, bins string) {
	t.Helper()
	bins = buildFrontendBinaries(t)
	fe, err := os.ReadFile(filepath.Join(bins, "hadron-frontend"))
	require.NoError(t, err)
	hd, err := os.ReadFile(filepath.Join(bins, "hadron"))
	require.NoError(t, err)
	img, err := frontendimage.Build(fe, hd, "amd64", epoch)
	require.NoError(t, err)
	r, err := name.ParseReference(e.registry+"/hadron/frontend:test", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img))
	dgst, err := img.Digest()
	require.NoError(t, err)
	return fmt.Sprintf("%s/hadron/frontend@%s", e.registry, dgst), bins
}

// TestGatewayFrontendImage builds mini through the frontend image, exactly
// as `buildctl build --frontend gateway.v0 --opt source=<image>` does.
func TestGatewayFrontendImage(t *testing.T) {
	e := setup(t)
	ref, _ := pushFrontendImage(t, e)
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
	ref, _ := pushFrontendImage(t, e)
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
	ref, _ := pushFrontendImage(t, e)
	dir := copyTree(t)
	editFile(t, filepath.Join(dir, "vendor-hashes/musl.lock"), "sha256: d585fd3b", "sha256: 11111111")
	// musl builds with the cross toolchain, whose gcc, binutils and gmp
	// come through the harness's substitutes (e.request keeps them).
	req := e.request(dir, "musl")
	attrs := req.Attrs()
	attrs["source"] = ref
	_, err := e.client.Solve(context.Background(), nil, client.SolveOpt{
		Frontend:      "gateway.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": mustFS(t, dir)},
	}, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "checksum mismatch for recipe musl")
	require.Contains(t, err.Error(), "https://musl.libc.org/releases/musl-1.2.6.tar.gz")
}

// TestBootThroughGatewayImage builds a trusted <image>/boot target through
// the frontend image alone, as `buildctl build --frontend gateway.v0 --opt
// source=<image>` and `docker buildx build` do: the client sends the
// project tree and the keys, and no hadron-tools local. The initrd, UKI and
// signing steps run the hadron binary the frontend image carries.
func TestBootThroughGatewayImage(t *testing.T) {
	e := setup(t)
	dir := copyTree(t)
	fixtures := writeBootFixtures(t, dir)
	writeFile(t, dir, "images/gwboot.yaml", "name: gwboot\npackages: [boot-init]\nboot: trusted\n"+
		"kernel: debian-kernel\nefi: debian-efi\ncmdline: \"console=ttyS0 rdinit=/init\"\narches: [amd64]\n")
	esp, vertices := solveThroughGateway(t, e, dir, "gwboot/boot", fixtures)
	for _, n := range []string{"gwboot: initrd", "gwboot: uki", "gwboot: sign", "gwboot: esp"} {
		assert.True(t, vertices[n], "step %q ran", n)
	}
	assert.False(t, vertices["hadron tools"], "no tools local was read")

	img, err := os.ReadFile(filepath.Join(esp, "EFI/Linux/gwboot.efi"))
	require.NoError(t, err)
	inspectSignedUKI(t, img)
	boot, err := os.ReadFile(filepath.Join(esp, "EFI/BOOT/BOOTX64.EFI"))
	require.NoError(t, err)
	assert.NotEmpty(t, boot)
	conf, err := os.ReadFile(filepath.Join(esp, "loader/loader.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(conf), "default gwboot.efi")
}

// TestDiskThroughGatewayImage: the whole trusted disk of
// TestTrustedDiskFromFixtures, built through the frontend image as
// `docker buildx build` would (gateway.v0), comes out as the same kind of
// disk: its verity root hashes to the root hash on the UKI's signed
// command line. (TestTrustedDiskFromFixtures boots that disk.)
func TestDiskThroughGatewayImage(t *testing.T) {
	e := setup(t)
	qemutest.Require(t, "mcopy")
	dir := copyTree(t)
	fixtures := writeDiskFixtures(t, dir)
	out, vertices := solveThroughGateway(t, e, dir, "tdisk/disk", fixtures)
	for _, n := range []string{"tdisk: verity root", "tdisk: initrd", "tdisk: uki", "tdisk: sign", "tdisk: esp", "tdisk: disk"} {
		assert.True(t, vertices[n], "step %q ran", n)
	}
	img := filepath.Join(out, "tdisk.raw")
	inspectSignedUKI(t, espFile(t, img, "EFI/Linux/tdisk+3.efi"))
	checkVerityDisk(t, img, recipe.ArchAMD64)
}

// solveThroughGateway builds target of the tree at dir through the
// frontend image (gateway.v0, its source attribute naming the pushed
// image), with fixtures served as upstream sources and freshly generated
// keys as secrets, exports it to a local folder and returns that folder
// and the names of the vertices that ran.
func solveThroughGateway(t *testing.T, e env, dir, target string, fixtures []fixture) (string, map[string]bool) {
	t.Helper()
	ref, bins := pushFrontendImage(t, e)
	keys := filepath.Join(t.TempDir(), "keys")
	out, err := exec.Command(filepath.Join(bins, "hadron"), "keys", "generate", keys).CombinedOutput()
	require.NoError(t, err, "hadron keys generate: %s", out)
	secrets, err := build.ParseSecret([]string{
		"id=db.key,src=" + secureboot.KeyFile(keys, secureboot.DBName),
		"id=db.crt,src=" + secureboot.CertFile(keys, secureboot.DBName),
		"id=pcr.key,src=" + secureboot.KeyFile(keys, secureboot.PCRKeyName),
	})
	require.NoError(t, err)

	req := e.request(dir, target)
	req.Mirrors = maps.Clone(e.mirrors)
	maps.Copy(req.Mirrors, serveFixtures(t, fixtures...))
	attrs := req.Attrs()
	attrs["source"] = ref
	dest := t.TempDir()
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	vertices := map[string]bool{}
	go func() {
		defer close(done)
		for s := range ch {
			for _, v := range s.Vertexes {
				vertices[v.Name] = true
			}
		}
	}()
	start := time.Now()
	_, err = e.client.Solve(context.Background(), nil, client.SolveOpt{
		Frontend:      "gateway.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": mustFS(t, dir)},
		Session:       []session.Attachable{secrets},
		Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: dest}},
	}, ch)
	<-done
	require.NoError(t, err)
	t.Logf("%s through the frontend image in %s", target, time.Since(start).Round(time.Millisecond))
	return dest, vertices
}
