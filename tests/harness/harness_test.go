package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
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
	assert.Contains(t, err.Error(), srcs[1].DebianOrig)
	assert.Contains(t, err.Error(), "expected "+strings.Repeat("0", 64))
	assert.Regexp(t, `actual [0-9a-f]{64}`, err.Error())
}

func TestPoolURL(t *testing.T) {
	tests := []struct {
		name, mirror string
		src          Source
		want         string
	}{
		{"musl", "http://deb.debian.org/debian", Sources[0],
			"http://deb.debian.org/debian/pool/main/m/musl/musl_1.2.6.orig.tar.gz"},
		{"mirror with slash", "http://mirror.example/debian/", Sources[2],
			"http://mirror.example/debian/pool/main/b/busybox/busybox_1.35.0.orig.tar.bz2"},
		{"lib package", "http://m/debian", Source{File: "libcap-2.66.tar.xz", DebianSource: "libcap2", DebianOrig: "libcap2_2.66.orig.tar.xz"},
			"http://m/debian/pool/main/libc/libcap2/libcap2_2.66.orig.tar.xz"},
		{"full URL moved to the mirror", "http://m/debian", sourceFile(t, "linux_7.2.8.orig.tar.xz"),
			"http://m/debian/pool/main/l/linux/linux_7.2.8.orig.tar.xz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PoolURL(tc.mirror, tc.src)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := PoolURL("http://m/debian", Source{File: "x-1.tar.gz"})
	assert.ErrorContains(t, err, "source x-1.tar.gz: no Debian source package")
}

func TestAptSourceArgPinsTheVersion(t *testing.T) {
	tests := []struct {
		src     Source
		want    string
		wantErr string
	}{
		{src: Sources[0], want: "musl=1.2.6-1"},
		{src: Sources[1], want: "xz-utils=5.4.1-1+deb12u1"},
		{src: Sources[2], want: "busybox=1:1.35.0-4+deb12u1"},
		{src: Source{File: "musl-1.2.3.tar.gz", DebianSource: "musl"}, wantErr: "source musl-1.2.3.tar.gz: no Debian version pinned"},
	}
	for _, tc := range tests {
		t.Run(tc.src.File, func(t *testing.T) {
			got, err := AptSourceArg(tc.src)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3-1":            "1.2.3",
		"1:1.35.0-4+deb12u1": "1.35.0",
		"2:3.8.2+dfsg-1":     "3.8.2+dfsg",
		"059":                "059",
		"1.0-2-3":            "1.0-2",
	} {
		assert.Equal(t, want, UpstreamVersion(in), in)
	}
}

// TestFetchSourcesTakesTheExactPoolFile serves a fake Debian pool that
// also holds a newer release of every package: FetchSources asks for the
// pinned files by name only, and a pool file whose digest is not the
// pinned one is an error naming the file, the expected and the actual
// digest, and leaves nothing behind.
func TestFetchSourcesTakesTheExactPoolFile(t *testing.T) {
	pool := t.TempDir()
	var srcs []Source
	for i, s := range Sources[:3] {
		content := []byte("pool file " + s.DebianOrig)
		u, err := PoolURL("", s)
		require.NoError(t, err)
		p := filepath.Join(pool, filepath.FromSlash(u))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, content, 0o644))
		newer := strings.Replace(p, UpstreamVersion(s.DebianVersion), "99.0", 1)
		require.NoError(t, os.WriteFile(newer, []byte("a newer release"), 0o644))
		sum := sha256.Sum256(content)
		s.SHA256 = hex.EncodeToString(sum[:])
		if i == 2 {
			s.SHA256 = strings.Repeat("ab", 32)
		}
		srcs = append(srcs, s)
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Path)
		http.ServeFile(w, r, filepath.Join(pool, filepath.FromSlash(r.URL.Path)))
	}))
	defer srv.Close()
	t.Setenv("HADRON_DEBIAN_MIRROR", srv.URL)

	dir := t.TempDir()
	require.NoError(t, FetchSources(context.Background(), dir, srcs[:2]))
	assert.Equal(t, []string{"/pool/main/m/musl/musl_1.2.6.orig.tar.gz", "/pool/main/x/xz-utils/xz-utils_5.4.1.orig.tar.xz"}, asked)
	for _, s := range srcs[:2] {
		b, err := os.ReadFile(filepath.Join(dir, s.DebianOrig))
		require.NoError(t, err)
		assert.Equal(t, "pool file "+s.DebianOrig, string(b))
	}

	err := FetchSources(context.Background(), dir, srcs)
	require.Error(t, err)
	var de *DigestError
	require.ErrorAs(t, err, &de)
	sum := sha256.Sum256([]byte("pool file busybox_1.35.0.orig.tar.bz2"))
	for _, want := range []string{"busybox-1.35.0.tar.bz2", "busybox_1.35.0.orig.tar.bz2",
		"expected " + strings.Repeat("ab", 32), "actual " + hex.EncodeToString(sum[:])} {
		assert.Contains(t, err.Error(), want)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"musl_1.2.6.orig.tar.gz", "xz-utils_5.4.1.orig.tar.xz"}, names, "no partial or wrong file left")
}

func TestSourcesTable(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Sources {
		t.Run(s.File, func(t *testing.T) {
			assert.Regexp(t, `^[0-9a-f]{64}$`, s.SHA256)
			assert.True(t, strings.HasPrefix(s.DebianOrig, s.DebianSource+"_"), s.DebianOrig)
			require.NotEmpty(t, s.DebianVersion, "apt-get source needs the exact version")
			if s.URL == "" {
				assert.True(t, strings.HasPrefix(s.DebianOrig, s.DebianSource+"_"+UpstreamVersion(s.DebianVersion)+".orig.tar."),
					"%s is the .orig of %s %s", s.DebianOrig, s.DebianSource, s.DebianVersion)
			}
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

// sourceFile returns the entry of Sources with the given file name.
func sourceFile(t *testing.T, file string) Source {
	t.Helper()
	for _, s := range Sources {
		if s.File == file {
			return s
		}
	}
	t.Fatalf("no source %s", file)
	return Source{}
}
