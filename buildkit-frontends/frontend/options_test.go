package frontend

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]string
		check   func(t *testing.T, o Options)
		wantErr string
	}{
		{
			name: "defaults",
			raw:  map[string]string{},
			check: func(t *testing.T, o Options) {
				assert.Equal(t, []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}, o.Platforms)
				assert.Equal(t, "context", o.ContextName)
				assert.Equal(t, "dockerfile", o.DefinitionName)
				assert.Equal(t, int64(0), o.SourceDateEpoch)
			},
		},
		{
			name: "opts",
			raw: map[string]string{"target": "mini", "platform": "linux/amd64,linux/arm64", "stage0": "r/s@sha256:x",
				"source-date-epoch": "42", "mirrors": "https://a/=http://m/a/;https://b/=http://m/b/", "check": "true"},
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "mini", o.Target)
				require.Len(t, o.Platforms, 2)
				assert.Equal(t, "arm64", o.Platforms[1].Architecture)
				assert.Equal(t, int64(42), o.SourceDateEpoch)
				assert.Equal(t, map[string]string{"https://a/": "http://m/a/", "https://b/": "http://m/b/"}, o.Mirrors)
				assert.True(t, o.Check)
			},
		},
		{
			name: "build args as docker buildx passes them",
			raw:  map[string]string{"build-arg:stage0": "img", "build-arg:SOURCE-DATE-EPOCH": "7"},
			check: func(t *testing.T, o Options) {
				assert.Equal(t, "img", o.Stage0)
				assert.Equal(t, int64(7), o.SourceDateEpoch)
			},
		},
		{name: "no-cache present", raw: map[string]string{"no-cache": ""}, check: func(t *testing.T, o Options) { assert.True(t, o.NoCache) }},
		{name: "bad epoch", raw: map[string]string{"source-date-epoch": "yesterday"}, wantErr: "source-date-epoch"},
		{name: "negative epoch", raw: map[string]string{"source-date-epoch": "-1"}, wantErr: "non-negative"},
		{name: "bad platform", raw: map[string]string{"platform": "linux/amd64/v2/x"}, wantErr: "platform"},
		{name: "bad mirror", raw: map[string]string{"mirrors": "https://a/"}, wantErr: "prefix=replacement"},
		{name: "bad check", raw: map[string]string{"check": "maybe"}, wantErr: "check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOptions(tt.raw)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestMirrorsRoundTrip(t *testing.T) {
	m := map[string]string{"https://b/": "http://x/b/", "https://a/": "http://x/a/"}
	s := FormatMirrors(m)
	assert.Equal(t, "https://a/=http://x/a/;https://b/=http://x/b/", s)
	back, err := ParseMirrors(s)
	require.NoError(t, err)
	assert.Equal(t, m, back)
}

func TestExplainSolveError(t *testing.T) {
	want := strings.Repeat("a", 64)
	got := strings.Repeat("b", 64)
	srcs := []convert.SourceRef{
		{Recipe: "musl", URL: "https://musl.libc.org/releases/musl-1.2.3.tar.gz", Fetched: "http://127.0.0.1:9/musl-1.2.3.tar.gz", SHA256: want},
		{Recipe: "xz", URL: "https://x/xz.tar.xz", SHA256: strings.Repeat("c", 64)},
	}
	for _, raw := range []string{
		fmt.Sprintf("failed to solve: digest mismatch for http://127.0.0.1:9/musl-1.2.3.tar.gz: sha256:%s (expected: sha256:%s)", got, want),
		fmt.Sprintf("rpc error: code = Unknown desc = digest mismatch sha256:%s: sha256:%s", got, want),
	} {
		err := ExplainSolveError(errors.New(raw), srcs)
		require.True(t, IsChecksumError(err), raw)
		msg := err.Error()
		assert.Contains(t, msg, "recipe musl")
		assert.Contains(t, msg, "https://musl.libc.org/releases/musl-1.2.3.tar.gz")
		assert.Contains(t, msg, "fetched from http://127.0.0.1:9/musl-1.2.3.tar.gz")
		assert.Contains(t, msg, "expected sha256:"+want)
		assert.Contains(t, msg, "got sha256:"+got)
	}
	other := errors.New("exit code 2")
	assert.Same(t, other, ExplainSolveError(other, srcs))
	assert.NoError(t, ExplainSolveError(nil, srcs))
}

func TestExplainMissingSecret(t *testing.T) {
	raw := errors.New(`failed to solve: process "/bin/sh -c ..." did not complete: secret db.crt: not found`)
	err := ExplainSolveError(raw, nil)
	var ms *MissingSecretError
	require.ErrorAs(t, err, &ms)
	assert.Equal(t, "db.crt", ms.ID)
	assert.Contains(t, err.Error(), `secret "db.crt" was not passed to the build: pass --secret id=db.crt,src=PATH`)
	assert.ErrorIs(t, err, raw, "the BuildKit error stays reachable")
}

// TestExplainSolveErrorSharedURL: two recipes fetch the same URL (gcc's
// scratch musl and the musl recipe); the recipe whose pin BuildKit
// expected is the one named, even when the other recipe's pin is the
// digest of what was fetched.
func TestExplainSolveErrorSharedURL(t *testing.T) {
	good := strings.Repeat("a", 64) // gcc's pin = the real file
	bad := strings.Repeat("1", 64)  // musl's edited pin
	url := "https://musl.libc.org/releases/musl-1.2.3.tar.gz"
	srcs := []convert.SourceRef{
		{Recipe: "gcc", URL: url, SHA256: good},
		{Recipe: "musl", URL: url, SHA256: bad},
	}
	raw := fmt.Sprintf("failed to solve: digest mismatch for http://127.0.0.1:9/musl-1.2.3.tar.gz: sha256:%s (expected: sha256:%s)", good, bad)
	msg := ExplainSolveError(errors.New(raw), srcs).Error()
	assert.Contains(t, msg, "checksum mismatch for recipe musl")
	assert.Contains(t, msg, "expected sha256:"+bad)
	assert.Contains(t, msg, "got sha256:"+good)
}
