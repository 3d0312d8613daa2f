package frontend

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainSolveErrorSubstitute: a digest mismatch of a substitute's file
// names the recipe, the upstream URL it stands for, the substitute, its
// declaration and the file, and says to review the declaration (not to run
// `hadron hashes pin`, which pins upstream sources).
func TestExplainSolveErrorSubstitute(t *testing.T) {
	const (
		upstream = "https://cdn.kernel.org/pub/linux/kernel/v7.x/linux-7.2.8.tar.xz"
		origURL  = "http://deb.debian.org/debian/pool/main/l/linux/linux_7.2.8.orig.tar.xz"
		debURL   = "http://deb.debian.org/debian/pool/main/l/linux/linux_7.2.8-1.debian.tar.xz"
		mirrored = "http://127.0.0.1:9/pool/linux/linux_7.2.8-1.debian.tar.xz"
		declFile = "vendor-hashes/substitutes/linux-7.2.8-debian.yaml"
	)
	origSum, debSum, got := strings.Repeat("a", 64), strings.Repeat("d", 64), strings.Repeat("b", 64)
	sub := &substitute.Substitute{
		Name: "linux-7.2.8-debian", Recipes: []string{"linux"}, Upstream: upstream, File: declFile,
		Files: []lockfile.Pin{{URL: origURL, SHA256: origSum}, {URL: debURL, SHA256: debSum}},
	}
	srcs := []convert.SourceRef{
		{Recipe: "xz", URL: "https://x/xz.tar.xz", SHA256: strings.Repeat("c", 64)},
		{Recipe: "linux", URL: upstream, Fetched: origURL, SHA256: origSum, Substitute: sub},
		{Recipe: "linux", URL: upstream, Fetched: mirrored, SHA256: debSum, Substitute: sub},
	}
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"file fetched from its own URL, solver format",
			fmt.Sprintf("failed to solve: digest mismatch for %s: sha256:%s (expected: sha256:%s)", origURL, got, origSum),
			"checksum mismatch for recipe linux: source " + upstream + ", substitute linux-7.2.8-debian (" + declFile + "): file " + origURL +
				": expected sha256:" + origSum + ", got sha256:" + got + "; the substitute's file changed: review it and pin it again in " + declFile},
		{"file fetched through a mirror, gateway format",
			fmt.Sprintf("rpc error: code = Unknown desc = digest mismatch sha256:%s: sha256:%s", got, debSum),
			"checksum mismatch for recipe linux: source " + upstream + ", substitute linux-7.2.8-debian (" + declFile + "): file " + mirrored +
				": expected sha256:" + debSum + ", got sha256:" + got + "; the substitute's file changed: review it and pin it again in " + declFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ExplainSolveError(errors.New(tt.raw), srcs)
			var ce *ChecksumError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "linux", ce.Recipe)
			assert.Equal(t, upstream, ce.URL)
			assert.Equal(t, "linux-7.2.8-debian", ce.Substitute)
			assert.Equal(t, declFile, ce.File)
			assert.Equal(t, tt.want, err.Error())
			assert.NotContains(t, err.Error(), "hadron hashes pin", "a substitute is pinned by hand, not by `hashes pin`")
		})
	}

	// An upstream source in the same build keeps the upstream message.
	err := ExplainSolveError(fmt.Errorf("digest mismatch sha256:%s: sha256:%s", got, strings.Repeat("c", 64)), srcs)
	var ce *ChecksumError
	require.ErrorAs(t, err, &ce)
	assert.Empty(t, ce.Substitute)
	assert.Empty(t, ce.File)
	assert.NotContains(t, err.Error(), "substitute")
	assert.Contains(t, err.Error(), "run `hadron hashes pin xz`")
}

// TestSubstitutesOption: the build option names substitutes, comma
// separated, and reaches the converter.
func TestSubstitutesOption(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]string
		want []string
	}{
		{"absent", map[string]string{}, nil},
		{"empty", map[string]string{OptSubstitutes: ""}, nil},
		{"one", map[string]string{OptSubstitutes: "linux-7.2.8-debian"}, []string{"linux-7.2.8-debian"}},
		{"several, spaced", map[string]string{OptSubstitutes: " linux-7.2.8-debian, gcc-14-debian ,"}, []string{"linux-7.2.8-debian", "gcc-14-debian"}},
		{"as a build-arg", map[string]string{"build-arg:" + OptSubstitutes: "linux-7.2.8-debian"}, []string{"linux-7.2.8-debian"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOptions(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, tt.want, o.Substitutes)
			assert.Equal(t, tt.want, o.ForArch("amd64").Substitutes)
		})
	}
}
