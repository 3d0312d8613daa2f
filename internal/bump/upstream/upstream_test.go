package upstream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/fakeupstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func names(tags []Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Name
	}
	return out
}

func TestGitHub(t *testing.T) {
	srv := fakeupstream.New(t)
	srv.PageSize = 2 // force pagination
	srv.SetReleases("tukaani-project/xz",
		fakeupstream.Release{Tag: "v5.8.1"},
		fakeupstream.Release{Tag: "v5.9.0beta", Prerelease: true},
		fakeupstream.Release{Tag: "v6.0.0", Draft: true},
		fakeupstream.Release{Tag: "v5.6.3"},
		fakeupstream.Release{Tag: "v5.4.7"},
	)
	srv.SetTags("madler/zlib", "v1.3.1", "v1.3", "v1.2.13")
	cfg := Config{GitHubAPI: srv.APIURL(), GitHubToken: "sekrit"}

	l, err := cfg.For(&recipe.Upstream{Kind: recipe.UpstreamGitHubReleases, Repo: "tukaani-project/xz"})
	require.NoError(t, err)
	tags, err := l.List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"v5.8.1", "v5.9.0beta", "v5.6.3", "v5.4.7"}, names(tags), "drafts skipped, all pages read")
	assert.True(t, tags[1].Prerelease)
	assert.True(t, srv.SawAuthorization("Bearer sekrit"), "token sent")

	l, err = cfg.For(&recipe.Upstream{Kind: recipe.UpstreamGitHubTags, Repo: "madler/zlib"})
	require.NoError(t, err)
	tags, err = l.List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"v1.3.1", "v1.3", "v1.2.13"}, names(tags))
	assert.Len(t, tags[0].Commit, 40)
}

func TestGitHubErrors(t *testing.T) {
	srv := fakeupstream.New(t)
	srv.SetReleases("a/b", fakeupstream.Release{Tag: "1.0"})

	// Unknown repository: 404.
	_, err := (&GitHub{Config: Config{GitHubAPI: srv.APIURL()}, Repo: "a/missing", Releases: true}).List(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrNotFound), err.Error())
	assert.Contains(t, err.Error(), "a/missing")

	// Rate limited, without and with a token.
	srv.SetRateLimited("", true)
	_, err = (&GitHub{Config: Config{GitHubAPI: srv.APIURL()}, Repo: "a/b", Releases: true}).List(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrRateLimited), err.Error())
	assert.Contains(t, err.Error(), "resets at 2026-01-01T00:00:00Z")
	assert.Contains(t, err.Error(), "set GITHUB_TOKEN")
	_, err = (&GitHub{Config: Config{GitHubAPI: srv.APIURL(), GitHubToken: "t"}, Repo: "a/b"}).List(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrRateLimited))
	assert.NotContains(t, err.Error(), "set GITHUB_TOKEN")
}

func TestHTTPIndex(t *testing.T) {
	srv := fakeupstream.New(t)
	index := srv.AddIndex("openssh", "openssh-9.8p1.tar.gz", "openssh-9.8p1.tar.gz.asc", "openssh-9.9p2.tar.gz", "openssh-10.0p1.tar.gz", "README")
	tags, err := (&HTTPIndex{URL: index, Regex: `openssh-(\d+\.\d+p\d+)\.tar\.gz"`}).List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"9.8p1", "9.9p2", "10.0p1"}, names(tags), "distinct, in page order")

	tests := []struct {
		name  string
		h     HTTPIndex
		isNF  bool
		match string
	}{
		{"404", HTTPIndex{URL: srv.URL + "/dl/nothing/", Regex: `(x)`}, true, "HTTP 404"},
		{"no regex", HTTPIndex{URL: index}, false, "regex is required"},
		{"no group", HTTPIndex{URL: index, Regex: `openssh`}, false, "no capture group"},
		{"bad regex", HTTPIndex{URL: index, Regex: `(`}, false, "regex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.h.List(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.match)
			assert.Equal(t, tt.isNF, errors.Is(err, ErrNotFound))
		})
	}
}

func TestGitTags(t *testing.T) {
	srv := fakeupstream.New(t)
	url, commits := srv.AddGitRepo(t, "linux", "v6.12.7", "v6.12.8", "v6.13-rc1", "v6.13")
	tags, err := (&GitTags{URL: url}).List(context.Background())
	require.NoError(t, err)
	got := map[string]string{}
	for _, tg := range tags {
		got[tg.Name] = tg.Commit
	}
	assert.Equal(t, commits, got, "every tag, annotated ones peeled to their commit")

	_, err = (&GitTags{URL: srv.URL + "/git/missing.git"}).List(context.Background())
	assert.Error(t, err)

	for _, bad := range []string{"ext::sh -c touch% /tmp/pwned", "file:///etc", "ssh://host/x.git", "/local/path"} {
		_, err = (&GitTags{URL: bad}).List(context.Background())
		assert.ErrorContains(t, err, "only http:// and https://", bad)
	}
}

func TestParseLsRemote(t *testing.T) {
	out := "1111111111111111111111111111111111111111\trefs/tags/v1.0\n" +
		"2222222222222222222222222222222222222222\trefs/tags/v1.0^{}\n" +
		"3333333333333333333333333333333333333333\trefs/tags/v1.1\n" +
		"4444444444444444444444444444444444444444\trefs/heads/main\n"
	tags, err := parseLsRemote([]byte(out))
	require.NoError(t, err)
	assert.Equal(t, []Tag{
		{Name: "v1.0", Commit: "2222222222222222222222222222222222222222"},
		{Name: "v1.1", Commit: "3333333333333333333333333333333333333333"},
	}, tags)
	_, err = parseLsRemote([]byte("garbage\n"))
	assert.Error(t, err)
}

func TestContextCancel(t *testing.T) {
	srv := fakeupstream.New(t)
	srv.Latency = 2 * time.Second
	srv.SetTags("a/b", "1.0")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&GitHub{Config: Config{GitHubAPI: srv.APIURL()}, Repo: "a/b"}).List(ctx)
	assert.Error(t, err)
	assert.Less(t, time.Since(start), time.Second)
}

func TestForUnknownKind(t *testing.T) {
	_, err := Config{}.For(&recipe.Upstream{Kind: "svn"})
	assert.Error(t, err)
	_, err = Config{}.For(nil)
	assert.Error(t, err)
}
