package fetch

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMirrorsRewrite(t *testing.T) {
	m := Mirrors{
		"https://ftp.gnu.org/":          "https://mirror.example/gnu-all/",
		"https://ftp.gnu.org/gnu/make/": "https://mirror.example/make/",
		"https://kernel.org/":           "http://10.0.0.1/kernel/",
	}
	tests := []struct{ in, want string }{
		{"https://ftp.gnu.org/gnu/make/make-4.4.tar.gz", "https://mirror.example/make/make-4.4.tar.gz"},
		{"https://ftp.gnu.org/gnu/bash/bash-5.2.tar.gz", "https://mirror.example/gnu-all/gnu/bash/bash-5.2.tar.gz"},
		{"https://kernel.org/pub/linux.tar.xz", "http://10.0.0.1/kernel/pub/linux.tar.xz"},
		{"https://example.org/x.tar.gz", "https://example.org/x.tar.gz"},
		{"https://FTP.gnu.org/gnu/Make/Make-4.4.tar.gz", "https://mirror.example/make/Make-4.4.tar.gz"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, m.Rewrite(tt.in))
	}
	assert.Equal(t, "https://a/b", Mirrors(nil).Rewrite("https://a/b"))
}

// payload is served as a .tar.gz but is not gzip: go-getter must not try to
// unpack it.
var payload = []byte("not really a tarball, just bytes\n")

func digests(b []byte) (string, string) {
	a, c := sha256.Sum256(b), sha512.Sum512(b)
	return hex.EncodeToString(a[:]), hex.EncodeToString(c[:])
}

func newFetcher(t *testing.T) *Fetcher {
	return &Fetcher{CacheDir: t.TempDir(), Retries: 2, Backoff: time.Millisecond}
}

func TestDownload(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write(payload)
	}))
	defer srv.Close()
	f := newFetcher(t)
	res, err := f.Download(context.Background(), srv.URL+"/xz-5.4.1.tar.gz")
	require.NoError(t, err)
	s256, s512 := digests(payload)
	assert.Equal(t, s256, res.SHA256)
	assert.Equal(t, s512, res.SHA512)
	assert.EqualValues(t, len(payload), res.Size)
	data, err := os.ReadFile(res.Path)
	require.NoError(t, err)
	assert.Equal(t, payload, data)
	p, ok := f.Cached(s256)
	assert.True(t, ok)
	assert.Equal(t, res.Path, p)

	// Always downloads anew.
	_, err = f.Download(context.Background(), srv.URL+"/xz-5.4.1.tar.gz")
	require.NoError(t, err)
	assert.EqualValues(t, 2, hits.Load())
	tmp, err := os.ReadDir(f.CacheDir + "/tmp")
	require.NoError(t, err)
	assert.Empty(t, tmp, "no partial downloads left behind")
}

func TestDownloadRetries(t *testing.T) {
	tests := []struct {
		name     string
		fails    int32 // requests answered with status before succeeding
		status   int
		retries  int
		wantHits int32
		wantErr  string
	}{
		{"recovers after transient errors", 2, http.StatusServiceUnavailable, 2, 3, ""},
		{"gives up after retries", 100, http.StatusInternalServerError, 2, 3, "failed after 3 attempts: bad response code: 500"},
		{"too many requests is retried", 1, http.StatusTooManyRequests, 1, 2, ""},
		{"not found is not retried", 100, http.StatusNotFound, 5, 1, "/src.tar.gz failed: bad response code: 404"},
		{"no retries configured", 100, http.StatusBadGateway, 0, 1, "bad response code: 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) <= tt.fails {
					w.WriteHeader(tt.status)
					return
				}
				_, _ = w.Write(payload)
			}))
			defer srv.Close()
			f := newFetcher(t)
			f.Retries = tt.retries
			_, err := f.Download(context.Background(), srv.URL+"/src.tar.gz")
			assert.Equal(t, tt.wantHits, hits.Load())
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), srv.URL+"/src.tar.gz")
			assert.Contains(t, err.Error(), tt.wantErr)
			var de *DownloadError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.status, de.Status)
		})
	}
}

func TestDownloadThroughMirror(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mirror/gnu/make-4.4.tar.gz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(payload)
	}))
	defer srv.Close()
	f := newFetcher(t)
	f.Mirrors = Mirrors{"https://upstream.invalid/": srv.URL + "/mirror/"}
	res, err := f.Download(context.Background(), "https://upstream.invalid/gnu/make-4.4.tar.gz")
	require.NoError(t, err)
	assert.EqualValues(t, len(payload), res.Size)
}

func TestUnreachableMirror(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more

	f := newFetcher(t)
	f.Retries = 1
	f.Mirrors = Mirrors{"https://ftp.gnu.org/": dead + "/gnu/"}
	_, err = f.Download(context.Background(), "https://ftp.gnu.org/gnu/make/make-4.4.tar.gz")
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "download "+dead+"/gnu/gnu/make/make-4.4.tar.gz (mirror of https://ftp.gnu.org/gnu/make/make-4.4.tar.gz) failed after 2 attempts")
	assert.Contains(t, msg, "connection refused")
}

func TestDownloadRejects(t *testing.T) {
	f := newFetcher(t)
	for _, u := range []string{"ftp://example.org/a.tar.gz", "file:///etc/passwd", "git::https://example.org/x.git", "s3::https://bucket/x"} {
		_, err := f.Download(context.Background(), u)
		require.Error(t, err, u)
		assert.Contains(t, err.Error(), "only http:// and https://")
	}
	_, err := (&Fetcher{}).Download(context.Background(), "https://example.org/a")
	require.ErrorContains(t, err, "no cache directory")
}

func TestDownloadCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	f := newFetcher(t)
	f.Retries = 50
	f.Backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.Download(ctx, srv.URL+"/x")
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second, "cancellation must stop the backoff wait")
}
