package upstream

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
)

// HTTPIndex lists versions found on a download index page (an Apache or
// nginx directory listing, a project's download page): every match of
// Regex in the page body contributes its first capture group.
type HTTPIndex struct {
	Config
	// URL is the index page.
	URL string
	// Regex must have a capture group around the version, e.g.
	// `openssh-(\d+\.\d+p\d+)\.tar\.gz`.
	Regex string
}

// maxIndex bounds the index page size (kernel.org's biggest listings are a
// few hundred KiB).
const maxIndex = 16 << 20

// List fetches the page and returns the distinct captures in page order.
func (h *HTTPIndex) List(ctx context.Context) ([]Tag, error) {
	if h.Regex == "" {
		return nil, fmt.Errorf("http index %s: upstream.regex is required for kind http-index", h.URL)
	}
	re, err := regexp.Compile(h.Regex)
	if err != nil {
		return nil, fmt.Errorf("http index %s: regex: %w", h.URL, err)
	}
	if re.NumSubexp() < 1 {
		return nil, fmt.Errorf("http index %s: regex %q has no capture group", h.URL, h.Regex)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("http index %s: %w", h.URL, err)
	}
	req.Header.Set("User-Agent", "hadron-bump")
	resp, err := h.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("http index: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("http index %s: %w (HTTP 404)", h.URL, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("http index %s: HTTP %d", h.URL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIndex+1))
	if err != nil {
		return nil, fmt.Errorf("http index %s: read: %w", h.URL, err)
	}
	if len(body) > maxIndex {
		return nil, fmt.Errorf("http index %s: page larger than %d bytes", h.URL, maxIndex)
	}
	seen := map[string]bool{}
	var out []Tag
	for _, m := range re.FindAllSubmatch(body, -1) {
		v := string(m[1])
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, Tag{Name: v})
	}
	return out, nil
}
