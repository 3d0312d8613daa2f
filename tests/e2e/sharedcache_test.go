package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// execDigests returns the digests of the exec ops (build steps) of
// target's graph, marshalled as the frontend marshals it for req, and the
// names of its tool steps (the ELF gates). A tool step mounts the tools
// local, whose unique id is random in a solve (frontend.PlanLocalID is the
// plan's): its digest in the status stream is not the plan's, so it is
// matched by name.
func execDigests(t *testing.T, req solve.Request) (map[digest.Digest]bool, []string) {
	t.Helper()
	plan, err := solve.Plan(req)
	require.NoError(t, err)
	require.Len(t, plan.Platforms, 1)
	def, err := plan.Definition(context.Background(), 0, 0)
	require.NoError(t, err)
	execs := map[digest.Digest]bool{}
	var tools []string
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if op.GetExec() == nil {
			continue
		}
		d := digest.FromBytes(dt)
		if name := def.Metadata[d].Description["llb.customname"]; strings.HasSuffix(name, ": "+convert.StepELFGate) {
			tools = append(tools, name)
			continue
		}
		execs[d] = true
	}
	return execs, tools
}

// vertexLog records, per vertex digest, its name, whether any update
// said it came from the cache and whether it completed otherwise.
type vertexLog struct {
	mu       sync.Mutex
	names    map[digest.Digest]string
	cached   map[digest.Digest]bool
	executed map[digest.Digest]bool
}

func newVertexLog() *vertexLog {
	return &vertexLog{names: map[digest.Digest]string{}, cached: map[digest.Digest]bool{}, executed: map[digest.Digest]bool{}}
}

func (l *vertexLog) record(s *client.SolveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range s.Vertexes {
		l.names[v.Digest] = v.Name
		if v.Cached {
			l.cached[v.Digest] = true
		} else if v.Completed != nil && v.Error == "" {
			l.executed[v.Digest] = true
		}
	}
}

// TestRegistryCacheSharedBetweenEngines is the CI-fleet setup on one
// machine: two independent buildkitd instances, each with an empty state
// dir of its own. The first builds an image exporting its cache to the
// loopback registry (type=registry, mode=max); the second builds it
// importing that cache and executes no build step at all (every exec
// vertex in its status stream is cached).
//
// The image is a small tree of its own (tinyTree): what is tested is the
// cache path through Hadron's frontend, and on a fresh engine a real
// package would first need the cross toolchain (a cold gcc build). Without
// the frontend passing the client's cache imports on with its solve
// requests (frontend.CacheImports), every step re-ran on the second engine.
func TestRegistryCacheSharedBetweenEngines(t *testing.T) {
	harness.Require(t)
	e := setup(t)
	ref := e.registry + "/hadron/cache:tiny"
	req := e.request(tinyTree(t), "tiny")
	req.Substitutes = nil // the tiny tree declares none
	execs, gates := execDigests(t, req)
	require.NotEmpty(t, execs)
	assert.Empty(t, gates, "a tree without a toolchain has no ELF gates (the gates' cache path is the same as any step's)")

	addr1 := harness.StartIsolatedEngine(t)
	require.NotEqual(t, e.addr, addr1)
	c1, err := client.New(context.Background(), addr1)
	require.NoError(t, err)
	defer c1.Close()

	first := req
	first.CacheTo = []string{"type=registry,ref=" + ref + ",mode=max"}
	start := time.Now()
	_, err = solve.Build(context.Background(), c1, first)
	require.NoError(t, err, "build with --cache-to on the first engine")
	t.Logf("first engine (empty state): tiny built and cache exported to %s in %s", ref, time.Since(start).Round(time.Millisecond))

	addr2 := harness.StartIsolatedEngine(t)
	require.NotEqual(t, addr1, addr2)
	c2, err := client.New(context.Background(), addr2)
	require.NoError(t, err)
	defer c2.Close()

	second := req
	second.CacheFrom = []string{"type=registry,ref=" + ref}
	log := newVertexLog()
	second.OnStatus = log.record
	start = time.Now()
	_, err = solve.Build(context.Background(), c2, second)
	require.NoError(t, err, "build with --cache-from on the second engine")
	t.Logf("second engine (empty state): tiny built from the registry cache in %s", time.Since(start).Round(time.Millisecond))

	var cachedExecs int
	for d := range execs {
		assert.False(t, log.executed[d], "build step %q ran on the second engine", log.names[d])
		if log.cached[d] {
			cachedExecs++
		}
	}
	for d := range log.executed {
		if execs[d] {
			continue
		}
		t.Logf("ran (not a build step): %s", log.names[d])
	}
	// Every build step must be matched by digest: a step whose digest
	// differs between plan and solve (a local source's random id) would
	// otherwise escape the check above.
	assert.Equal(t, len(execs), cachedExecs, "the status stream reports every build step as cached")
	t.Logf("%d build steps in the graph, %d reported cached, 0 executed", len(execs), cachedExecs)
	cachedNames := map[string]bool{}
	for d := range log.cached {
		cachedNames[log.names[d]] = true
	}
	for d := range log.executed {
		assert.NotContains(t, gates, log.names[d], "ELF gate ran on the second engine")
	}
	for _, g := range gates {
		assert.True(t, cachedNames[g], "%s reported cached", g)
	}
}

// tinyTree writes a project tree without a toolchain: recipe tiny-b is
// built against tiny-a (in its /sysroot) and image tiny holds tiny-b and,
// at run time, tiny-a. Its steps run on stage 0 alone, in seconds.
func tinyTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"recipes/tiny-a/recipe.yaml": `name: tiny-a
version: "1"
license: MIT
build:
  style: custom
  install: |
    mkdir -p /out/usr/share/tiny
    echo a >/out/usr/share/tiny/a
`,
		"recipes/tiny-b/recipe.yaml": `name: tiny-b
version: "1"
license: MIT
dependencies:
  build: [tiny-a]
  runtime: [tiny-a]
build:
  style: custom
  compile: |
    cat /sysroot/usr/share/tiny/a >b
    echo b >>b
  install: |
    mkdir -p /out/usr/share/tiny
    cp b /out/usr/share/tiny/b
`,
		"images/tiny.yaml": "name: tiny\npackages: [tiny-b]\narches: [amd64]\n",
	}
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
	return dir
}
