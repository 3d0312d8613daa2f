// Package fetch downloads upstream sources outside BuildKit, for pinning and
// verifying checksums (`hadron hashes`) and for bump checks. Downloads go
// through hashicorp/go-getter (HTTP(S) only, no archive unpacking, no magic
// detectors), are retried with exponential backoff, may be redirected to
// mirrors, and land in a content-addressed cache named by their SHA-256.
package fetch

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hadron-linux/hadron/internal/mirror"
	getter "github.com/hashicorp/go-getter/v2"
)

// Mirrors maps URL prefixes to replacement prefixes, e.g.
// "https://ftp.gnu.org/gnu/" -> "https://mirror.example.org/gnu/".
type Mirrors = mirror.Map

// Result describes one downloaded file.
type Result struct {
	// Path is the file in the cache (CacheDir/sha256/<hex>).
	Path string
	// SHA256 and SHA512 are lower-case hex digests of the content.
	SHA256 string
	SHA512 string
	// Size is the content length in bytes.
	Size int64
}

// Fetcher downloads files into a content-addressed cache. The zero value
// is not usable: CacheDir is required.
type Fetcher struct {
	// CacheDir holds the downloaded files (sha256/<hex>) and partial
	// downloads (tmp/).
	CacheDir string
	// Mirrors rewrites URLs before downloading.
	Mirrors Mirrors
	// Retries is how many times a failed download is tried again.
	// Client errors (HTTP 4xx other than 408 and 429) are not retried.
	Retries int
	// Backoff is the wait before the first retry; it doubles for each
	// further retry. Zero means one second.
	Backoff time.Duration
	// HTTPClient does the requests; nil means a client with a 30 minute
	// overall timeout per attempt.
	HTTPClient *http.Client
}

// DownloadError is a failed download. It names the URL that was tried and,
// when a mirror was used, the original URL.
type DownloadError struct {
	URL      string // the URL actually requested
	Original string // the URL before mirror rewriting
	Attempts int    // how many times it was tried
	Status   int    // last HTTP status, 0 when no response was received
	Err      error  // the last attempt's error
}

// Error describes the failure with both URLs.
func (e *DownloadError) Error() string {
	what := e.URL
	if e.Original != e.URL {
		what = fmt.Sprintf("%s (mirror of %s)", e.URL, e.Original)
	}
	tries := ""
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return fmt.Sprintf("download %s failed%s: %v", what, tries, e.Err)
}

// Unwrap returns the underlying error.
func (e *DownloadError) Unwrap() error { return e.Err }

// Download fetches url (after mirror rewriting) into the cache and returns
// its location, digests and size. The file is always downloaded anew, so
// that the digests describe what the server serves now.
func (f *Fetcher) Download(ctx context.Context, url string) (Result, error) {
	if f.CacheDir == "" {
		return Result{}, errors.New("fetch: no cache directory configured")
	}
	target := f.Mirrors.Rewrite(url)
	if !strings.HasPrefix(target, "https://") && !strings.HasPrefix(target, "http://") {
		return Result{}, &DownloadError{URL: target, Original: url, Attempts: 1,
			Err: errors.New("only http:// and https:// URLs can be downloaded")}
	}
	tmpDir := filepath.Join(f.CacheDir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("fetch: create cache: %w", err)
	}
	backoff := f.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	var last error
	status := 0
	attempt := 0
	for attempt = 1; attempt <= f.Retries+1; attempt++ {
		var res Result
		res, status, last = f.once(ctx, target, tmpDir)
		if last == nil {
			return res, nil
		}
		if ctx.Err() != nil || permanent(status) || attempt > f.Retries {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	if attempt > f.Retries+1 {
		attempt = f.Retries + 1
	}
	return Result{}, &DownloadError{URL: target, Original: url, Attempts: attempt, Status: status, Err: last}
}

// permanent reports whether an HTTP status means retrying is pointless.
func permanent(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// once makes one download attempt; it returns the last HTTP status seen.
func (f *Fetcher) once(ctx context.Context, url, tmpDir string) (Result, int, error) {
	tmp, err := os.CreateTemp(tmpDir, "dl-*")
	if err != nil {
		return Result{}, 0, fmt.Errorf("create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // no-op after the rename into the cache

	rec := &statusRecorder{}
	base := f.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Minute}
	}
	client := *base
	rec.next = client.Transport
	if rec.next == nil {
		rec.next = http.DefaultTransport
	}
	client.Transport = rec

	hg := &getter.HttpGetter{
		Client:                &client,
		DoNotCheckHeadFirst:   true,
		XTerraformGetDisabled: true,
	}
	// Only the HTTP(S) getter and no decompressors: no detectors for
	// other schemes, no unpacking. go-getter v2 keeps its cloud getters
	// (S3, GCS) in modules of their own, so none of them is linked in.
	c := &getter.Client{
		Getters:       []getter.Getter{hg},
		Decompressors: map[string]getter.Decompressor{},
	}
	if _, err := c.Get(ctx, &getter.Request{Src: url, Dst: tmpName, GetMode: getter.ModeFile}); err != nil {
		return Result{}, rec.status(), err
	}
	res, err := digest(tmpName)
	if err != nil {
		return Result{}, rec.status(), err
	}
	dir := filepath.Join(f.CacheDir, "sha256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, 0, fmt.Errorf("create cache: %w", err)
	}
	res.Path = filepath.Join(dir, res.SHA256)
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return Result{}, 0, fmt.Errorf("store download: %w", err)
	}
	if err := os.Rename(tmpName, res.Path); err != nil {
		return Result{}, 0, fmt.Errorf("store download: %w", err)
	}
	return res, rec.status(), nil
}

// Cached returns the cache path of content with the given SHA-256, when
// present.
func (f *Fetcher) Cached(sha256Hex string) (string, bool) {
	p := filepath.Join(f.CacheDir, "sha256", sha256Hex)
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

// digest computes the SHA-256, SHA-512 and size of a file.
func digest(path string) (Result, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("hash download: %w", err)
	}
	defer fh.Close()
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(h256, h512), fh)
	if err != nil {
		return Result{}, fmt.Errorf("hash download: %w", err)
	}
	return Result{
		SHA256: hex.EncodeToString(h256.Sum(nil)),
		SHA512: hex.EncodeToString(h512.Sum(nil)),
		Size:   n,
	}, nil
}

// statusRecorder remembers the status of the last HTTP response.
type statusRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	last int
}

// RoundTrip forwards the request and records the response status.
func (s *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil {
		s.mu.Lock()
		s.last = resp.StatusCode
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusRecorder) status() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
