// Package upstream lists the versions an upstream project has published:
// GitHub releases or tags (REST API), plain git tags (git ls-remote over
// HTTP(S)), or the links of an HTTP download index matched by a regex.
//
// Listers return raw tag or entry names; turning them into versions (regex
// capture, scheme parsing, constraints) is the caller's job.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/hadron-linux/hadron/internal/recipe"
)

// DefaultGitHubAPI is the public GitHub REST API base URL.
const DefaultGitHubAPI = "https://api.github.com"

// Tag is one published upstream version as the upstream names it.
type Tag struct {
	// Name is the tag name, release tag or the regex capture of an index
	// entry.
	Name string
	// Commit is the commit a git tag points to (annotated tags peeled);
	// empty for other kinds.
	Commit string
	// Prerelease is set when the upstream itself flags the release as a
	// pre-release (GitHub releases).
	Prerelease bool
}

// Lister lists an upstream's published versions.
type Lister interface {
	List(ctx context.Context) ([]Tag, error)
}

// Config holds what listers need from outside.
type Config struct {
	// HTTPClient is used for every HTTP request; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// GitHubAPI is the GitHub REST API base URL; empty means
	// DefaultGitHubAPI. Tests point it at an httptest server.
	GitHubAPI string
	// GitHubToken authenticates API calls when set (see TokenFromEnv).
	GitHubToken string
	// Git is the git executable; empty means "git" from PATH.
	Git string
	// MaxPages bounds GitHub pagination (100 entries a page); 0 means 10.
	MaxPages int
}

// TokenFromEnv returns $GITHUB_TOKEN, or "" when it is unset.
func TokenFromEnv() string { return os.Getenv("GITHUB_TOKEN") }

// ErrNotFound is wrapped by errors for upstreams that do not exist (HTTP 404).
var ErrNotFound = errors.New("not found")

// ErrRateLimited is wrapped by errors for a GitHub API rate limit.
var ErrRateLimited = errors.New("GitHub API rate limit exceeded")

// For returns the lister for an upstream block.
func (c Config) For(u *recipe.Upstream) (Lister, error) {
	if u == nil {
		return nil, errors.New("recipe has no upstream block")
	}
	switch u.Kind {
	case recipe.UpstreamGitHubReleases:
		return &GitHub{Config: c, Repo: u.Repo, Releases: true}, nil
	case recipe.UpstreamGitHubTags:
		return &GitHub{Config: c, Repo: u.Repo}, nil
	case recipe.UpstreamGitTags:
		return &GitTags{Config: c, URL: u.URL}, nil
	case recipe.UpstreamHTTPIndex:
		return &HTTPIndex{Config: c, URL: u.URL, Regex: u.Regex}, nil
	}
	return nil, fmt.Errorf("unknown upstream kind %q", u.Kind)
}

func (c Config) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}
