package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryStoresBlobsOnDisk(t *testing.T) {
	blobs := filepath.Join(t.TempDir(), "blobs")
	r, err := newRegistryServer(blobs, 0)
	require.NoError(t, err)
	defer r.Close()
	assert.True(t, strings.HasPrefix(r.Host(), "127.0.0.1:"), r.Host())

	img, err := random.Image(4096, 2)
	require.NoError(t, err)
	ref, err := name.NewTag(r.Host()+"/test/img:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithContext(context.Background())))

	want, err := img.Digest()
	require.NoError(t, err)
	got, err := remote.Head(ref)
	require.NoError(t, err)
	assert.Equal(t, want, got.Digest)

	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		d, err := l.Digest()
		require.NoError(t, err)
		assert.FileExists(t, filepath.Join(blobs, d.Algorithm, d.Hex), "layer blobs live on disk")
	}
}

// fakeSources writes small stand-ins for the Debian tarballs into dir and
// returns a Sources table pinning their digests.
func fakeSources(t *testing.T, dir string) []Source {
	t.Helper()
	var out []Source
	for _, s := range Sources {
		content := []byte("contents of " + s.File)
		require.NoError(t, os.WriteFile(filepath.Join(dir, s.DebianOrig), content, 0o644))
		sum := sha256.Sum256(content)
		s.SHA256 = hex.EncodeToString(sum[:])
		out = append(out, s)
	}
	return out
}

func TestMirrorServesUpstreamNames(t *testing.T) {
	dir := t.TempDir()
	srcs := fakeSources(t, dir)
	require.NoError(t, FetchSources(context.Background(), dir, srcs), "all files present: no download")
	m, err := newMirrorServer(dir, srcs)
	require.NoError(t, err)
	defer m.Close()

	mirrors := m.Mirrors()
	prefixes := map[string]bool{}
	for _, s := range srcs {
		for _, prefix := range s.URLPrefixes {
			prefixes[prefix] = true
			mirror, ok := mirrors[prefix]
			require.True(t, ok, "no mirror for %s", prefix)
			assert.True(t, strings.HasPrefix(mirror, "http://127.0.0.1:"), mirror)
			assert.True(t, strings.HasSuffix(mirror, "/"), mirror)
			resp, err := http.Get(mirror + s.File)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode, mirror+s.File)
			assert.Equal(t, "contents of "+s.File, string(body))
		}
	}
	// Files of one Debian pool folder (a substitute's) share their prefix.
	assert.Len(t, mirrors, len(prefixes), "one mirror prefix per upstream prefix")

	resp, err := http.Get(mirrors[srcs[0].URLPrefixes[0]] + "unknown.tar.gz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestFetchSourcesRejectsWrongDigest(t *testing.T) {
	dir := t.TempDir()
	srcs := fakeSources(t, dir)
	srcs[1].SHA256 = strings.Repeat("0", 64)
	err := FetchSources(context.Background(), dir, srcs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), srcs[1].File)
	assert.Contains(t, err.Error(), "want "+strings.Repeat("0", 64))
}

func TestSourcesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Sources {
		t.Run(s.File, func(t *testing.T) {
			assert.Regexp(t, `^[0-9a-f]{64}$`, s.SHA256)
			assert.True(t, strings.HasPrefix(s.DebianOrig, s.DebianSource+"_"), s.DebianOrig)
			if s.URL != "" {
				// A declared substitute's file, served under its own
				// Debian name from its pool folder.
				assert.Equal(t, s.File, s.DebianOrig)
				assert.Equal(t, []string{strings.TrimSuffix(s.URL, s.File)}, s.URLPrefixes)
				assert.True(t, strings.HasPrefix(s.URL, "http://deb.debian.org/debian/pool/"), s.URL)
				return
			}
			assert.Contains(t, s.DebianOrig, ".orig.tar.")
			assert.Equal(t, filepath.Ext(s.File), filepath.Ext(s.DebianOrig), "same compression as upstream")
			require.NotEmpty(t, s.URLPrefixes)
			for _, p := range s.URLPrefixes {
				assert.True(t, strings.HasPrefix(p, "https://") && strings.HasSuffix(p, "/"), p)
				assert.False(t, seen[p], "prefix %s listed twice", p)
				seen[p] = true
			}
		})
	}
	assert.Equal(t, "musl", sourceDir(Sources[0]))
	assert.Equal(t, "xz", sourceDir(Sources[1]))
	assert.Equal(t, "busybox", sourceDir(Sources[2]))
}

func TestStage0Key(t *testing.T) {
	base := DefaultStage0()
	assert.Regexp(t, `^bookworm-amd64-[0-9a-f]{16}$`, base.Key())

	tests := []struct {
		name   string
		change func(*Stage0Spec)
		same   bool
	}{
		{"package order", func(s *Stage0Spec) { slices.Reverse(s.Packages) }, true},
		{"duplicate package", func(s *Stage0Spec) { s.Packages = append(s.Packages, "file") }, true},
		{"other mirror", func(s *Stage0Spec) { s.Mirror = "http://ftp.de.debian.org/debian" }, true},
		{"extra package", func(s *Stage0Spec) { s.Packages = append(s.Packages, "m4") }, false},
		{"other arch", func(s *Stage0Spec) { s.Arch = "arm64" }, false},
		{"other suite", func(s *Stage0Spec) { s.Suite = "trixie" }, false},
		{"other variant", func(s *Stage0Spec) { s.Variant = "buildd" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultStage0()
			s.Packages = append([]string(nil), s.Packages...)
			tt.change(&s)
			if tt.same {
				assert.Equal(t, base.Key(), s.Key())
			} else {
				assert.NotEqual(t, base.Key(), s.Key())
			}
		})
	}
}

func TestStage0Platform(t *testing.T) {
	tests := []struct {
		arch, os, architecture, variant string
	}{
		{"amd64", "linux", "amd64", ""},
		{"arm64", "linux", "arm64", ""},
		{"armhf", "linux", "arm", "v7"},
		{"i386", "linux", "386", ""},
	}
	for _, tt := range tests {
		t.Run(tt.arch, func(t *testing.T) {
			p, err := Stage0Spec{Arch: tt.arch}.Platform()
			require.NoError(t, err)
			assert.Equal(t, tt.os, p.OS)
			assert.Equal(t, tt.architecture, p.Architecture)
			assert.Equal(t, tt.variant, p.Variant)
		})
	}
	_, err := Stage0Spec{Arch: "vax"}.Platform()
	assert.ErrorContains(t, err, `unknown Debian architecture "vax"`)
}

func TestDebianMirrorOverride(t *testing.T) {
	t.Setenv("HADRON_DEBIAN_MIRROR", "http://mirror.example/debian")
	assert.Equal(t, "http://mirror.example/debian", DebianMirror())
	t.Setenv("HADRON_DEBIAN_MIRROR", "")
	assert.True(t, strings.HasSuffix(strings.TrimSuffix(DebianMirror(), "/"), "/debian"), DebianMirror())
}

func TestDirsFromEnv(t *testing.T) {
	t.Setenv(EnvRoot, "/tmp/e2e-root")
	t.Setenv(EnvCache, "")
	d, err := StateDir()
	require.NoError(t, err)
	assert.Equal(t, "/tmp/e2e-root", d)
	repo, err := RepoRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(repo, "go.mod"))
	c, err := CacheDir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(repo, "out", "cache"), c)
}

func TestEngineConfigIsPortIndependent(t *testing.T) {
	t.Setenv(EnvRegistryPort, "")
	a, err := EngineConfig()
	require.NoError(t, err)
	assert.Empty(t, a.InsecureRegistries, "free registry ports must not change buildkitd.toml")
	t.Setenv(EnvRegistryPort, "5123")
	b, err := EngineConfig()
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:5123"}, b.InsecureRegistries)
	assert.Equal(t, a.Root, b.Root)
}
