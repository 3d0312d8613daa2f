package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// GitHub lists a repository's releases or tags through the REST API.
type GitHub struct {
	Config
	// Repo is "owner/name".
	Repo string
	// Releases lists releases (drafts skipped) instead of tags.
	Releases bool
}

type ghRelease struct {
	TagName    string `json:"tag_name"`
	Draft      bool   `json:"draft"`
	Prerelease bool   `json:"prerelease"`
}

type ghTag struct {
	Name   string `json:"name"`
	Commit struct {
		SHA string `json:"sha"`
	} `json:"commit"`
}

// List fetches every page (up to MaxPages) and returns the tags.
func (g *GitHub) List(ctx context.Context) ([]Tag, error) {
	base := strings.TrimRight(g.GitHubAPI, "/")
	if base == "" {
		base = DefaultGitHubAPI
	}
	what := "tags"
	if g.Releases {
		what = "releases"
	}
	next := fmt.Sprintf("%s/repos/%s/%s?per_page=100", base, g.Repo, what)
	pages := g.MaxPages
	if pages <= 0 {
		pages = 10
	}
	var out []Tag
	for page := 0; next != "" && page < pages; page++ {
		body, link, err := g.get(ctx, next)
		if err != nil {
			return nil, fmt.Errorf("github %s of %s: %w", what, g.Repo, err)
		}
		if g.Releases {
			var rs []ghRelease
			if err := json.Unmarshal(body, &rs); err != nil {
				return nil, fmt.Errorf("github releases of %s: decode: %w", g.Repo, err)
			}
			for _, r := range rs {
				if !r.Draft && r.TagName != "" {
					out = append(out, Tag{Name: r.TagName, Prerelease: r.Prerelease})
				}
			}
		} else {
			var ts []ghTag
			if err := json.Unmarshal(body, &ts); err != nil {
				return nil, fmt.Errorf("github tags of %s: decode: %w", g.Repo, err)
			}
			for _, t := range ts {
				out = append(out, Tag{Name: t.Name, Commit: t.Commit.SHA})
			}
		}
		next = nextLink(link)
	}
	return out, nil
}

// get performs one API request and maps GitHub's error answers.
func (g *GitHub) get(ctx context.Context, url string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "hadron-bump")
	if g.GitHubToken != "" {
		req.Header.Set("Authorization", "Bearer "+g.GitHubToken)
	}
	resp, err := g.client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, resp.Header.Get("Link"), nil
	case (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests) &&
		(resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("Retry-After") != ""):
		var notes []string
		if reset := resetTime(resp.Header); !reset.IsZero() {
			notes = append(notes, "resets at "+reset.UTC().Format(time.RFC3339))
		}
		if g.GitHubToken == "" {
			notes = append(notes, "set GITHUB_TOKEN for a higher limit")
		}
		if len(notes) == 0 {
			return nil, "", ErrRateLimited
		}
		return nil, "", fmt.Errorf("%w (%s)", ErrRateLimited, strings.Join(notes, "; "))
	case resp.StatusCode == http.StatusNotFound:
		return nil, "", fmt.Errorf("repository %s: %w (HTTP 404)", g.Repo, ErrNotFound)
	default:
		return nil, "", fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, apiMessage(body))
	}
}

// resetTime reads X-RateLimit-Reset (Unix seconds).
func resetTime(h http.Header) time.Time {
	n, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// apiMessage extracts GitHub's {"message": ...} from an error body.
func apiMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

var linkNextRE = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="next"`)

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(link string) string {
	if m := linkNextRE.FindStringSubmatch(link); m != nil {
		return m[1]
	}
	return ""
}
