package bump

import (
	"testing"

	"github.com/hadron-linux/hadron/internal/bump/upstream"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPick(t *testing.T) {
	tags := func(names ...string) []upstream.Tag {
		out := make([]upstream.Tag, len(names))
		for i, n := range names {
			out[i] = upstream.Tag{Name: n}
		}
		return out
	}
	gh := recipe.UpstreamGitHubTags
	tests := []struct {
		name         string
		up           recipe.Upstream
		tags         []upstream.Tag
		best, newest string // "" means none
		parsed       int
	}{
		{"newest release", recipe.Upstream{Kind: gh}, tags("v1.0", "v1.10", "v1.9", "latest"), "1.10", "1.10", 3},
		{"constraint holds back", recipe.Upstream{Kind: gh, Constraint: "< 1.10"}, tags("v1.0", "v1.10", "v1.9"), "1.9", "1.10", 3},
		{"pre-releases excluded", recipe.Upstream{Kind: gh}, tags("v2.0-rc1", "v1.9"), "1.9", "1.9", 2},
		{"pre-releases when asked", recipe.Upstream{Kind: gh, Constraint: ">= 2.0.0-rc.1"}, tags("v2.0rc2", "v1.9"), "2.0rc2", "2.0rc2", 2},
		{"github prerelease flag", recipe.Upstream{Kind: recipe.UpstreamGitHubReleases},
			[]upstream.Tag{{Name: "v3.0", Prerelease: true}, {Name: "v2.9"}}, "2.9", "2.9", 2},
		{"regex", recipe.Upstream{Kind: gh, Regex: `^release-(\d+\.\d+)$`}, tags("release-1.2", "v9.9", "release-1.3"), "1.3", "1.3", 2},
		{"underscored tags", recipe.Upstream{Kind: recipe.UpstreamGitHubReleases, Regex: `^R_([0-9]+_[0-9]+_[0-9]+)$`}, tags("R_2_5_0", "R_2_6_4", "R_2_6_3"), "2.6.4", "2.6.4", 3},
		{"index captures taken as-is", recipe.Upstream{Kind: recipe.UpstreamHTTPIndex, Regex: `x-(.*)`, Scheme: "openssh"}, tags("9.9p1", "10.0p1"), "10.0p1", "10.0p1", 2},
		{"kernel series", recipe.Upstream{Kind: recipe.UpstreamGitTags, Scheme: "kernel", Constraint: "~6.12"}, tags("v6.12.9", "v6.13", "v6.14-rc1", "v6.12.10"), "6.12.10", "6.13", 4},
		{"dates", recipe.Upstream{Kind: gh, Scheme: "date"}, tags("20240101", "2025-10-03", "v1.0"), "2025-10-03", "2025-10-03", 2},
		{"nothing allowed", recipe.Upstream{Kind: gh, Constraint: "~1.0"}, tags("v2.0"), "", "2.0", 1},
		{"nothing parses", recipe.Upstream{Kind: gh}, tags("latest", "nightly"), "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := pick(&tt.up, tt.tags)
			require.NoError(t, err)
			name := func(c *candidate) string {
				if c == nil {
					return ""
				}
				return c.v.Text
			}
			assert.Equal(t, tt.best, name(sel.best), "best")
			assert.Equal(t, tt.newest, name(sel.newest), "newest")
			assert.Equal(t, tt.parsed, sel.parsed)
			assert.Equal(t, len(tt.tags), sel.seen)
		})
	}
}

func TestPickErrors(t *testing.T) {
	for _, up := range []recipe.Upstream{
		{Kind: recipe.UpstreamGitHubTags, Scheme: "calver"},
		{Kind: recipe.UpstreamGitHubTags, Constraint: ">= banana"},
		{Kind: recipe.UpstreamGitHubTags, Regex: "("},
	} {
		_, err := pick(&up, nil)
		assert.Error(t, err, "%+v", up)
	}
}
