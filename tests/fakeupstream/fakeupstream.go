// Package fakeupstream is a local stand-in for the upstreams `hadron bump`
// talks to, for tests and benchmarks: one httptest server that answers like
// the GitHub REST API (releases, tags, pagination, rate limits, 404), serves
// HTML download indexes and tarballs, and serves real git repositories over
// git's smart HTTP protocol (git http-backend as a CGI program).
//
// Every request can be delayed (Latency) to make concurrency measurable.
package fakeupstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Release is one GitHub release.
type Release struct {
	Tag        string
	Prerelease bool
	Draft      bool
}

// Server is the fake upstream. Its URL is Server.URL; the GitHub API lives
// under URL+"/api", indexes and files under URL+"/dl/", git repositories
// under URL+"/git/<name>.git".
type Server struct {
	*httptest.Server

	// Latency delays every response.
	Latency time.Duration
	// PageSize is how many entries one GitHub API page holds (default 100,
	// like per_page=100); small values exercise pagination.
	PageSize int

	mu         sync.Mutex
	files      map[string][]byte // "/dl/..." -> content
	releases   map[string][]Release
	tags       map[string][]string
	limited    map[string]bool // repo, or "" for every repo
	gitRoot    string
	gitBackend string

	requests    atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	authHeaders sync.Map // Authorization values seen
}

// New starts a server that is closed when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		files:    map[string][]byte{},
		releases: map[string][]Release{},
		tags:     map[string][]string{},
		limited:  map[string]bool{},
		gitRoot:  tb.TempDir(),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// APIURL is the GitHub API base URL to configure in the bump tool.
func (s *Server) APIURL() string { return s.URL + "/api" }

// Requests returns how many requests the server has answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MaxInFlight returns the most requests the server was answering at once
// since the last ResetMaxInFlight: how concurrent its client really was.
func (s *Server) MaxInFlight() int64 { return s.maxInFlight.Load() }

// ResetMaxInFlight starts a new MaxInFlight measurement.
func (s *Server) ResetMaxInFlight() { s.maxInFlight.Store(0) }

// SawAuthorization reports whether some request carried this
// Authorization header value.
func (s *Server) SawAuthorization(v string) bool {
	_, ok := s.authHeaders.Load(v)
	return ok
}

// AddFile serves content at /dl/<name> and returns its URL. Adding the same
// name again replaces the content (a re-tagged release).
func (s *Server) AddFile(name string, content []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files["/dl/"+name] = bytes.Clone(content)
	return s.URL + "/dl/" + name
}

// RemoveFile stops serving /dl/<name> (a moved tarball).
func (s *Server) RemoveFile(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, "/dl/"+name)
}

// AddIndex serves an HTML directory listing at /dl/<dir>/ linking every
// name, and returns its URL.
func (s *Server) AddIndex(dir string, names ...string) string {
	var b strings.Builder
	b.WriteString("<html><head><title>Index of /" + html.EscapeString(dir) + "/</title></head><body><pre>\n")
	b.WriteString(`<a href="../">../</a>` + "\n")
	for _, n := range names {
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>    03-Oct-2025 10:00   1M\n", html.EscapeString(n), html.EscapeString(n))
	}
	b.WriteString("</pre></body></html>\n")
	return s.AddFile(dir+"/", []byte(b.String()))
}

// SetReleases sets the GitHub releases of repo ("owner/name"), newest
// first as GitHub lists them.
func (s *Server) SetReleases(repo string, rs ...Release) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releases[repo] = rs
}

// SetTags sets the GitHub tags of repo.
func (s *Server) SetTags(repo string, tags ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tags[repo] = tags
}

// SetRateLimited makes API requests for repo ("" for every repository)
// fail like an exhausted GitHub rate limit (HTTP 403,
// X-RateLimit-Remaining: 0).
func (s *Server) SetRateLimited(repo string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[repo] = on
}

// AddGitRepo creates a git repository <name>.git with one commit per tag
// (annotated tags for odd positions, lightweight for even ones) and returns
// its smart-HTTP URL and the commit of each tag. It skips the test when git
// or git-http-backend is missing.
func (s *Server) AddGitRepo(tb testing.TB, name string, tags ...string) (string, map[string]string) {
	tb.Helper()
	backend := s.backend(tb)
	work := filepath.Join(tb.TempDir(), name)
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(),
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org",
			"GIT_AUTHOR_DATE=2025-10-03T00:00:00Z", "GIT_COMMITTER_DATE=2025-10-03T00:00:00Z",
			"GIT_CONFIG_NOSYSTEM=1", "HOME="+work)
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		tb.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	commits := map[string]string{}
	for i, t := range tags {
		if err := os.WriteFile(filepath.Join(work, "VERSION"), []byte(t+"\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
		git("add", "VERSION")
		git("commit", "-q", "-m", "release "+t)
		if i%2 == 1 {
			git("tag", "-a", "-m", "release "+t, t)
		} else {
			git("tag", t)
		}
		commits[t] = git("rev-parse", "HEAD")
	}
	bare := filepath.Join(s.gitRoot, name+".git")
	git("clone", "-q", "--bare", work, bare)
	s.mu.Lock()
	s.gitBackend = backend
	s.mu.Unlock()
	return s.URL + "/git/" + name + ".git", commits
}

// backend finds git-http-backend.
func (s *Server) backend(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		tb.Skipf("git not available: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("git-http-backend not available: %v", err)
	}
	return p
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if a := r.Header.Get("Authorization"); a != "" {
		s.authHeaders.Store(a, true)
	}
	if s.Latency > 0 {
		select {
		case <-time.After(s.Latency):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(r.URL.Path, "/git/"):
		s.mu.Lock()
		backend := s.gitBackend
		s.mu.Unlock()
		if backend == "" {
			http.NotFound(w, r)
			return
		}
		h := &cgi.Handler{
			Path:   backend,
			Root:   "/git",
			Env:    []string{"GIT_PROJECT_ROOT=" + s.gitRoot, "GIT_HTTP_EXPORT_ALL=1"},
			Stderr: io.Discard,
		}
		h.ServeHTTP(w, r)
	default:
		s.mu.Lock()
		content, ok := s.files[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		_, _ = w.Write(content)
	}
}

// serveAPI answers /api/repos/<owner>/<name>/{releases,tags}.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/repos/"), "/")
	if len(parts) != 3 || !strings.HasPrefix(r.URL.Path, "/api/repos/") {
		s.notFound(w)
		return
	}
	repo := parts[0] + "/" + parts[1]
	s.mu.Lock()
	limited := s.limited[""] || s.limited[repo]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if limited {
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", "1767225600") // 2026-01-01T00:00:00Z
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
		return
	}
	s.mu.Lock()
	var items []any
	var known bool
	switch parts[2] {
	case "releases":
		var rs []Release
		rs, known = s.releases[repo]
		for _, rel := range rs {
			items = append(items, map[string]any{"tag_name": rel.Tag, "prerelease": rel.Prerelease, "draft": rel.Draft})
		}
	case "tags":
		var ts []string
		ts, known = s.tags[repo]
		for i, t := range ts {
			items = append(items, map[string]any{"name": t, "commit": map[string]string{"sha": fmt.Sprintf("%040x", i+1)}})
		}
	}
	s.mu.Unlock()
	if !known {
		s.notFound(w)
		return
	}
	size := s.PageSize
	if size <= 0 {
		size = 100
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	lo := min((page-1)*size, len(items))
	hi := min(lo+size, len(items))
	if hi < len(items) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, s.URL, r.URL.Path, q.Encode()))
	}
	out := items[lo:hi]
	if out == nil {
		out = []any{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
}

// Tarball returns deterministic stand-in archive bytes for name and
// version: different for every pair, identical across calls.
func Tarball(name, version string) []byte {
	return []byte(fmt.Sprintf("fake source archive of %s %s\n", name, version))
}
