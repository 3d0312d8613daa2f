package frontend

import (
	"encoding/json"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/sbom"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAttest(t *testing.T) {
	for _, tc := range []struct {
		specs []string
		want  map[string]string
		err   string
	}{
		{specs: nil, want: nil},
		{specs: []string{"type=sbom"}, want: map[string]string{"sbom": ""}},
		{specs: []string{"type=provenance,mode=max"}, want: map[string]string{"provenance": "mode=max"}},
		{specs: []string{"type=sbom", "type=provenance,mode=max,builder-id=https://ci.example/1"},
			want: map[string]string{"sbom": "", "provenance": "mode=max,builder-id=https://ci.example/1"}},
		{specs: []string{"TYPE=SBOM,generator=docker/scout-sbom-indexer:1"}, want: map[string]string{"sbom": "generator=docker/scout-sbom-indexer:1"}},
		{specs: []string{"type=sbom", "type=sbom,disabled=true"}, want: map[string]string{}},
		{specs: []string{`type=provenance,"builder-id=a,b"`}, want: map[string]string{"provenance": `"builder-id=a,b"`}},
		{specs: []string{"type=vex"}, err: `--attest "type=vex": want type=sbom or type=provenance`},
		{specs: []string{"mode=max"}, err: `--attest "mode=max": want type=sbom or type=provenance`},
		{specs: []string{`type=sbom,"x`}, err: `--attest "type=sbom,\"x"`},
	} {
		got, err := ParseAttest(tc.specs)
		if tc.err != "" {
			require.Error(t, err, "%q", tc.specs)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err, "%q", tc.specs)
		assert.Equal(t, tc.want, got, "%q", tc.specs)
	}
}

// TestParseOptionsAttest reads attestation requests as BuildKit does: the
// attest: attributes of buildctl and buildx, and the build-arg aliases.
func TestParseOptionsAttest(t *testing.T) {
	o, err := ParseOptions(map[string]string{
		"attest:sbom":                          "",
		"build-arg:BUILDKIT_ATTEST_PROVENANCE": "mode=max",
		"vcs:source":                           "https://git.example/hadron.git",
		"vcs:revision":                         "abc123",
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"sbom": "", "provenance": "mode=max"}, o.Attest)
	assert.Equal(t, sbom.VCS{Source: "https://git.example/hadron.git", Revision: "abc123"}, o.VCS)
	assert.True(t, o.WantsSBOM())

	_, err = ParseOptions(map[string]string{"attest:vex": ""})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown attestation type "vex"`)

	for attrs, want := range map[string]bool{
		"":                                    true,
		"generator=docker/scout-sbom-indexer": false, // BuildKit's scanner makes it
		"scan-stage=true":                     true,
	} {
		o, err := ParseOptions(map[string]string{"attest:sbom": attrs})
		require.NoError(t, err)
		assert.Equal(t, want, o.WantsSBOM(), "attest:sbom=%q", attrs)
	}
	o, err = ParseOptions(map[string]string{"attest:provenance": "mode=max"})
	require.NoError(t, err)
	assert.False(t, o.WantsSBOM(), "provenance alone")
}

// TestSBOMTargets: what the SBOM of each kind of target describes.
func TestSBOMTargets(t *testing.T) {
	tree := planTree(t)
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	opts := Options{}.WithDefaults()
	opts.SourceDateEpoch = 1700000000

	describe := func(name string) *sbom.Document {
		t.Helper()
		tg, err := target.Lookup(tree, name)
		require.NoError(t, err)
		d, err := SBOM(tree, opts, tg, amd64)
		require.NoError(t, err, name)
		return d
	}
	img := describe("base")
	assert.Equal(t, sbom.Artifact{Name: "base", Kind: sbom.KindImage, Contains: []string{"musl", "zlib"}}, img.Artifact)
	assert.NotNil(t, img.Package("make"), "build dependencies are described too")
	assert.False(t, img.Package("make").Installed)

	pkg := describe("zlib")
	assert.Equal(t, sbom.Artifact{Name: "zlib", Kind: sbom.KindPackage, Package: "zlib"}, pkg.Artifact)
	assert.True(t, pkg.Package("musl").Installed, "a package's runtime closure")

	boot := describe("tboot/boot")
	assert.Equal(t, sbom.KindBoot, boot.Artifact.Kind)
	assert.Equal(t, []string{"efi", "kern", "musl", "zlib"}, boot.Artifact.Contains,
		"the kernel and the package with systemd-boot and systemd-stub are part of the boot artifacts")
	assert.Equal(t, "Boot artifacts (trusted) with kernel kern.", boot.Artifact.Comment)

	// A system extension holds what its base does not: make, not musl.
	extTree := planTree(t, "ext", "name: ext\nkind: sysext\nextends: base\npackages: [make]\n")
	for _, name := range []string{"ext/sysext", "ext"} {
		tg, err := target.Lookup(extTree, name)
		require.NoError(t, err)
		d, err := SBOM(extTree, opts, tg, amd64)
		require.NoError(t, err, name)
		assert.Equal(t, sbom.Artifact{Name: name, Kind: sbom.KindImage, Contains: []string{"make"},
			Comment: "System extension of image base: the packages it adds to its base."}, d.Artifact, name)
	}

	_, err := SBOM(tree, opts, target.Target{Kind: target.KernelConfig, Name: "kern", Board: "b"}, amd64)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds no packages")

	// A plan's SBOM is the same document.
	plan, err := NewPlan(tree, opts, target.Target{Kind: target.Image, Name: "base"})
	require.NoError(t, err)
	fromPlan, err := plan.SBOM(amd64)
	require.NoError(t, err)
	a, err := fromPlan.SPDX()
	require.NoError(t, err)
	b, err := img.SPDX()
	require.NoError(t, err)
	assert.Equal(t, string(b), string(a))
	var doc struct {
		Created struct {
			Created string `json:"created"`
		} `json:"creationInfo"`
	}
	require.NoError(t, json.Unmarshal(a, &doc))
	assert.Equal(t, "2023-11-14T22:13:20Z", doc.Created.Created, "the build's SOURCE_DATE_EPOCH")

	opts.Substitutes = []string{"no-such-substitute"}
	_, err = SBOM(tree, opts, target.Target{Kind: target.Image, Name: "base"}, amd64)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown substitute "no-such-substitute"`)
}
