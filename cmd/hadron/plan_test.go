package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planJSONOf runs `hadron plan` with args and --format json and decodes
// its output.
func planJSONOf(t *testing.T, args ...string) []planEntry {
	t.Helper()
	stdout, stderr, code := runHadronCLI(t, append(args, "--format", "json")...)
	require.Equal(t, 0, code, stderr)
	var out []planEntry
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	return out
}

// TestPlanDigestStable: the same tree planned twice, by two commands, gives
// the same digests; a change to one recipe changes the digest of what
// depends on it and nothing else.
func TestPlanDigestStable(t *testing.T) {
	dir := writeTree(t, smallTree())
	args := []string{"-C", dir, "plan", "base", "zlib", "make", "musl", "--platform", "linux/amd64,linux/arm64"}
	first := planJSONOf(t, args...)
	require.Len(t, first, 8, "four targets on two platforms")
	second := planJSONOf(t, args...)
	assert.Equal(t, first, second)
	for _, e := range first {
		_, err := digest.Parse(e.Digest)
		assert.NoError(t, err, e.Digest)
		assert.Positive(t, e.Vertices)
	}
	assert.Equal(t, planEntry{Target: "base", Kind: "image", Platform: "linux/amd64", Digest: first[0].Digest, Vertices: first[0].Vertices}, first[0])
	assert.NotEqual(t, first[0].Digest, first[1].Digest, "amd64 and arm64 differ")

	// A new pin for make's source: its fetch, and so everything built
	// from make, changes.
	p := filepath.Join(dir, "vendor-hashes/make.lock")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	pinned := regexp.MustCompile(`sha256: [0-9a-f]{64}`)
	require.True(t, pinned.Match(data), string(data))
	data = pinned.ReplaceAll(data, []byte("sha256: "+strings.Repeat("5", 64)))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	edited := planJSONOf(t, args...)
	byTarget := func(es []planEntry) map[string]string {
		m := map[string]string{}
		for _, e := range es {
			m[e.Target+" "+e.Platform] = e.Digest
		}
		return m
	}
	before, after := byTarget(first), byTarget(edited)
	for _, k := range []string{"musl linux/amd64", "musl linux/arm64"} {
		assert.Equal(t, before[k], after[k], "%s does not depend on make", k)
	}
	for _, k := range []string{"make linux/amd64", "zlib linux/amd64", "base linux/amd64"} {
		assert.NotEqual(t, before[k], after[k], "%s depends on make", k)
	}
}

// TestPlanFormatLLB: --format llb writes the definition as protobuf, which
// buildkit's pb and llb packages read back; the digest and vertex count
// plan prints are those of that definition.
func TestPlanFormatLLB(t *testing.T) {
	dir := writeTree(t, smallTree())
	entries := planJSONOf(t, "-C", dir, "plan", "base")
	require.Len(t, entries, 1)

	stdout, stderr, code := runHadronCLI(t, "-C", dir, "plan", "base", "--format", "llb")
	require.Equal(t, 0, code, stderr)
	raw := []byte(stdout)
	assert.Equal(t, entries[0].Digest, digest.FromBytes(raw).String(), "the digest is that of the written definition")

	var def pb.Definition
	require.NoError(t, def.UnmarshalVT(raw))
	ops := 0
	names := map[string]bool{}
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if op.Op != nil {
			ops++
		}
		names[def.Metadata[string(digest.FromBytes(dt))].GetDescription()["llb.customname"]] = true
	}
	assert.Equal(t, entries[0].Vertices, ops, "vertex count = operations in the definition")
	assert.True(t, names["base: assemble image"], "vertices keep their names: %v", names)

	parsed, err := llb.ReadFrom(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Len(t, parsed.Def, len(def.Def))

	out := filepath.Join(t.TempDir(), "base.llb")
	_, stderr, code = runHadronCLI(t, "-C", dir, "plan", "base", "--format", "llb", "-o", out)
	require.Equal(t, 0, code, stderr)
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, raw, written)
}

// TestPlanAll: --all plans every recipe and image of a generated tree,
// and a target's LLB is the same planned alone or with all others.
func TestPlanAll(t *testing.T) {
	dir := writeTree(t, projecttest.Random(200, 7))
	all := planJSONOf(t, "-C", dir, "plan", "--all")
	require.Len(t, all, 201, "200 recipes and one image")
	assert.Equal(t, "pkg0000", all[0].Target)
	assert.Equal(t, "random", all[200].Target)
	assert.Equal(t, "image", all[200].Kind)
	for _, i := range []int{0, 150, 199, 200} {
		alone := planJSONOf(t, "-C", dir, "plan", all[i].Target)
		assert.Equal(t, []planEntry{all[i]}, alone, "target %s", all[i].Target)
	}
}

// TestPlanAllArches: --all plans, per platform, the images built for it:
// an image whose arches: leave the platform out is not part of "all"
// there (planning it alone is an error that says so).
func TestPlanAllArches(t *testing.T) {
	fsys := smallTree()
	fsys["images/only64.yaml"] = &fstest.MapFile{Data: []byte("name: only64\npackages: [zlib]\narches: [arm64]\n")}
	dir := writeTree(t, fsys)
	targets := func(args ...string) []string {
		var out []string
		for _, e := range planJSONOf(t, append([]string{"-C", dir, "plan", "--all"}, args...)...) {
			out = append(out, e.Target+" "+e.Platform)
		}
		return out
	}
	assert.Equal(t, []string{"make linux/amd64", "musl linux/amd64", "zlib linux/amd64", "base linux/amd64"}, targets())
	assert.Contains(t, targets("--platform", "linux/arm64"), "only64 linux/arm64")
	assert.NotContains(t, targets("--platform", "linux/amd64,linux/arm64"), "only64 linux/arm64", "not built for every platform given")
	_, stderr, code := runHadronCLI(t, "-C", dir, "plan", "only64")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, "image only64 is not built for amd64: its arches are arm64 (images/only64.yaml:3); choose one with --platform linux/arm64")
}

// TestBuildDryRun: build --dry-run prints what plan prints and contacts no
// engine (the address below is not listening).
func TestBuildDryRun(t *testing.T) {
	dir := writeTree(t, smallTree())
	plan, stderr, code := runHadronCLI(t, "-C", dir, "plan", "base")
	require.Equal(t, 0, code, stderr)
	dry, stderr, code := runHadronCLI(t, "-C", dir, "build", "base", "--dry-run", "--addr", "tcp://127.0.0.1:1")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, plan, dry)
	assert.Regexp(t, `^base\s+linux/amd64\s+sha256:[0-9a-f]{64}\s+\d+ vertices\n$`, dry)
}

func TestPlanErrors(t *testing.T) {
	dir := writeTree(t, smallTree())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"plan", "nosuch"}, `no image images/nosuch.yaml and no recipe named "nosuch" (images: base)`},
		{"bad target", []string{"plan", "base/pe"}, `image base has no output "pe" (only "boot", "disk", "uki" or "sysext")`},
		{"no target", []string{"plan"}, "give targets or --all"},
		{"targets and all", []string{"plan", "base", "--all"}, "give targets or --all"},
		{"bad format", []string{"plan", "base", "--format", "yaml"}, `--format "yaml": want text, json or llb`},
		{"llb of two targets", []string{"plan", "base", "zlib", "--format", "llb"}, "--format llb writes one definition"},
		{"llb of two platforms", []string{"plan", "base", "--format", "llb", "--platform", "linux/amd64,linux/arm64"}, "one target and one platform"},
		{"unknown platform", []string{"plan", "base", "--platform", "linux/s390x"}, "unsupported platform linux/s390x"},
		{"unknown dry-run target", []string{"build", "nosuch", "--dry-run"}, `no recipe named "nosuch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runHadronCLI(t, append([]string{"-C", dir}, tt.args...)...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
			assert.False(t, strings.Contains(stderr, "panic"))
		})
	}
}
