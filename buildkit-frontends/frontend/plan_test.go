package frontend

import (
	"context"
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// planTree is a small tree with an image, base, and a trusted image,
// tboot (whose steps mount the tools as a local source); extra holds
// further image definitions as name, YAML pairs.
func planTree(t *testing.T, extra ...string) *project.Tree {
	t.Helper()
	fsys := projecttest.Tree(
		projecttest.Spec{Name: "musl"},
		projecttest.Spec{Name: "make", Runtime: []string{"musl"}},
		projecttest.Spec{Name: "zlib", Build: []string{"make"}, Runtime: []string{"musl"}},
		projecttest.Spec{Name: "kern", Style: recipe.StyleCustom},
		projecttest.Spec{Name: "efi", Style: recipe.StyleCustom},
	)
	projecttest.Image(fsys, "base", "zlib")
	fsys["images/tboot.yaml"] = &fstest.MapFile{Data: []byte("name: tboot\npackages: [zlib]\nboot: trusted\nkernel: kern\nefi: efi\ncmdline: console=ttyS0\n")}
	for i := 0; i+1 < len(extra); i += 2 {
		fsys["images/"+extra[i]+".yaml"] = &fstest.MapFile{Data: []byte(extra[i+1])}
	}
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	return tree
}

func planTargets(tree *project.Tree) []target.Target {
	return append(target.All(tree), target.Target{Kind: target.Boot, Name: "tboot"})
}

// TestPlanDefinitionIsStateMarshal: the definitions a plan shows are the
// very ones State.Marshal makes (with the fixed local id), byte for byte,
// although its targets share one marshal cache.
func TestPlanDefinitionIsStateMarshal(t *testing.T) {
	tree := planTree(t)
	targets := planTargets(tree)
	plan, err := NewPlan(tree, Options{}, targets...)
	require.NoError(t, err)
	for ti, tg := range targets {
		got, want := planAndStateMarshal(t, plan, ti)
		assert.Equal(t, want, got, "target %s", tg)
	}
}

// planAndStateMarshal returns the bytes of target ti's definition (first
// platform) as the plan marshals it and as State.Marshal does alone; it
// checks that both count the same vertices.
func planAndStateMarshal(t *testing.T, plan *Plan, ti int) (got, want []byte) {
	t.Helper()
	ctx := context.Background()
	pp := plan.Platforms[0]
	gd, err := plan.Definition(ctx, 0, ti)
	require.NoError(t, err)
	wd, err := pp.States[ti].Marshal(ctx, MarshalOptions(pp.Platform)...)
	require.NoError(t, err)
	require.NoError(t, RerunDownstream(wd))
	require.Equal(t, len(wd.Def)-1, VertexCount(gd))
	got, err = MarshalDefinition(gd)
	require.NoError(t, err)
	want, err = MarshalDefinition(wd)
	require.NoError(t, err)
	return got, want
}

// TestPlanDigestsStable: two plans of two loads of the same tree give the
// same bytes, local sources included; a target's definition is the same
// planned alone or with every other target.
func TestPlanDigestsStable(t *testing.T) {
	ctx := context.Background()
	digests := func(tree *project.Tree, targets ...target.Target) map[string]digest.Digest {
		plan, err := NewPlan(tree, Options{}, targets...)
		require.NoError(t, err)
		out := map[string]digest.Digest{}
		for ti, tg := range targets {
			def, err := plan.Definition(ctx, 0, ti)
			require.NoError(t, err)
			d, err := DefinitionDigest(def)
			require.NoError(t, err)
			out[tg.String()] = d
		}
		return out
	}
	first := digests(planTree(t), planTargets(planTree(t))...)
	require.Len(t, first, 8)
	assert.Equal(t, first, digests(planTree(t), planTargets(planTree(t))...))
	boot := target.Target{Kind: target.Boot, Name: "tboot"}
	assert.Equal(t, first["tboot/boot"], digests(planTree(t), boot)["tboot/boot"])

	// The boot steps' tools are a local source, with the plan's fixed id.
	plan, err := NewPlan(planTree(t), Options{}, boot)
	require.NoError(t, err)
	def, err := plan.Definition(ctx, 0, 0)
	require.NoError(t, err)
	locals := 0
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if src := op.GetSource(); src != nil && src.GetAttrs()[pb.AttrLocalUniqueID] != "" {
			locals++
			assert.Equal(t, PlanLocalID, src.GetAttrs()[pb.AttrLocalUniqueID])
		}
	}
	assert.Positive(t, locals, "the boot target has a local source")
}

func TestNewPlanErrors(t *testing.T) {
	tree := planTree(t, "tboot64", "name: tboot64\npackages: [zlib]\narches: [amd64]\nboot: trusted\nkernel: kern\nefi: efi\ncmdline: console=ttyS0\n")
	_, err := NewPlan(tree, Options{})
	assert.ErrorContains(t, err, "no target given")
	ps, err := ParsePlatforms([]string{"linux/arm64"})
	require.NoError(t, err)
	_, err = NewPlan(tree, Options{Platforms: ps}, target.Target{Kind: target.Boot, Name: "tboot64"})
	assert.ErrorContains(t, err, "image tboot64 is not built for arm64: its arches are amd64 (images/tboot64.yaml:3)")
	_, err = NewPlan(tree, Options{Platforms: ps}, target.Target{Kind: target.Boot, Name: "tboot"})
	assert.NoError(t, err, "trusted boot for arm64")
	ps, err = ParsePlatforms([]string{"linux/s390x"})
	require.NoError(t, err)
	_, err = NewPlan(tree, Options{Platforms: ps}, target.Target{Kind: target.Image, Name: "base"})
	assert.ErrorContains(t, err, "platform linux/s390x")
}

// BenchmarkPlanAll500 is `hadron plan --all` on a generated 500-recipe
// tree without the load: convert every recipe and the image, then marshal
// and digest each one's definition.
func BenchmarkPlanAll500(b *testing.B) {
	tree, err := project.Load(projecttest.Random(500, 1))
	require.NoError(b, err)
	targets := target.All(tree)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		plan, err := NewPlan(tree, Options{}, targets...)
		if err != nil {
			b.Fatal(err)
		}
		for ti := range targets {
			def, err := plan.Definition(ctx, 0, ti)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := DefinitionDigest(def); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestDefinitionDigestIsTheMarshalledBytes: the streamed digest is the
// sha256 of MarshalDefinition's bytes (what `hadron plan --format llb`
// writes and `buildctl debug dump-llb` reads) for every target of the test
// tree, metadata and source map included.
func TestDefinitionDigestIsTheMarshalledBytes(t *testing.T) {
	ctx := context.Background()
	tree := planTree(t)
	targets := planTargets(tree)
	plan, err := NewPlan(tree, Options{}, targets...)
	require.NoError(t, err)
	for ti, tg := range targets {
		def, err := plan.Definition(ctx, 0, ti)
		require.NoError(t, err)
		require.NotEmpty(t, def.Metadata, "target %s", tg)
		b, err := MarshalDefinition(def)
		require.NoError(t, err)
		d, err := DefinitionDigest(def)
		require.NoError(t, err)
		assert.Equal(t, digest.FromBytes(b), d, "target %s", tg)
	}
	for name, def := range map[string]*llb.Definition{
		"an empty definition": {},
		"empty metadata":      {Def: [][]byte{{1}}, Metadata: map[digest.Digest]llb.OpMetadata{"sha256:00": {}, "sha256:01": {IgnoreCache: true}}},
	} {
		b, err := MarshalDefinition(def)
		require.NoError(t, err)
		d, err := DefinitionDigest(def)
		require.NoError(t, err)
		assert.Equal(t, digest.FromBytes(b), d, name)
	}
}

// TestPlanInParallelIsStateMarshal: with several cores the planner
// marshals packages on a second core while it converts, and the image's
// vertices level by level on every core; the definition is still the one
// State.Marshal makes alone, byte for byte, and the same with one core.
func TestPlanInParallelIsStateMarshal(t *testing.T) {
	fsys := projecttest.Random(120, 3)
	var digests []digest.Digest
	for _, procs := range []int{4, 1} {
		prev := runtime.GOMAXPROCS(procs)
		tree, err := project.Load(fsys)
		require.NoError(t, err)
		targets := target.All(tree)
		plan, err := NewPlan(tree, Options{}, targets...)
		require.NoError(t, err)
		for ti, tg := range targets {
			if tg.Kind != target.Image {
				continue
			}
			got, want := planAndStateMarshal(t, plan, ti)
			require.Equal(t, want, got, "target %s with %d cores", tg, procs)
			def, err := plan.Definition(context.Background(), 0, ti)
			require.NoError(t, err)
			require.Greater(t, VertexCount(def), 200, "a graph big enough to be marshalled in parallel")
			digests = append(digests, digest.FromBytes(got))
		}
		runtime.GOMAXPROCS(prev)
	}
	require.Len(t, digests, 2)
	assert.Equal(t, digests[0], digests[1], "the same definition with 4 cores and with 1")
}
