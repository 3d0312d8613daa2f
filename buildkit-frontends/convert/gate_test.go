package convert_test

import (
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// miniPackages is mini's runtime closure: the packages with a gate.
var miniPackages = []string{"musl", "busybox", "xz"}

// ref is one output of one vertex: what an op's input points at.
type ref struct {
	digest digest.Digest
	index  int64
}

func inputRef(v vertex, i int64) ref {
	in := v.op.Inputs[i]
	return ref{digest.Digest(in.Digest), in.Index}
}

// mountRef is what the exec v mounts at dest, and whether it is read-only.
func mountRef(t *testing.T, v vertex, dest string) (ref, bool) {
	t.Helper()
	for _, m := range v.op.GetExec().GetMounts() {
		if m.Dest == dest {
			return inputRef(v, m.Input), m.Readonly
		}
	}
	t.Fatalf("%s mounts nothing at %s", v.name, dest)
	return ref{}, false
}

// outputRef is the layer of the file step "<pkg>: output": pkg's main
// output.
func outputRef(byName map[string]vertex, pkg string) ref {
	return ref{byName[pkg+": "+convert.StepOutput].digest, 0}
}

// outRef is the output of the exec v's /out mount.
func outRef(t *testing.T, v vertex) ref {
	t.Helper()
	for _, m := range v.op.GetExec().GetMounts() {
		if m.Dest == "/out" {
			return ref{v.digest, m.Output}
		}
	}
	t.Fatalf("%s has no /out", v.name)
	return ref{}
}

// gateRefs are the outputs the file step v copies from, with the copy
// actions' options checked: an empty wildcard that adds no file.
func gateRefs(t *testing.T, v vertex) []ref {
	t.Helper()
	var out []ref
	for _, a := range v.op.GetFile().GetActions() {
		cp := a.GetCopy()
		if cp == nil || a.SecondaryInput >= int64(len(v.op.Inputs)) {
			continue // not a copy, or one of the step's own result (restamp)
		}
		assert.True(t, cp.AllowWildcard && cp.AllowEmptyWildcard, "%s: copy of %s may match nothing", v.name, cp.Src)
		assert.True(t, strings.HasSuffix(cp.Src, "*"), "%s: copy of %s is a wildcard", v.name, cp.Src)
		assert.Equal(t, "/", cp.Dest, v.name)
		out = append(out, inputRef(v, a.SecondaryInput))
	}
	return out
}

// TestMiniGates: mini's graph has one gate per non-host package of its
// runtime closure, each running elf-check for the arch on the package's
// runtime closure (main outputs, what the image holds) mounted read-only,
// and the image's finalize step depends on every gate.
func TestMiniGates(t *testing.T) {
	for _, arch := range []recipe.Arch{recipe.ArchAMD64, recipe.ArchARM64} {
		t.Run(string(arch), func(t *testing.T) {
			o := opts()
			o.Arch = arch
			vs := marshal(t, repoFS(t), "mini", o)
			byName := map[string]vertex{}
			var gates []string
			for _, v := range vs {
				byName[v.name] = v
				if strings.HasSuffix(v.name, ": "+convert.StepELFGate) {
					gates = append(gates, strings.TrimSuffix(v.name, ": "+convert.StepELFGate))
				}
			}
			assert.ElementsMatch(t, miniPackages, gates, "one gate per package of the closure; none for binutils, gcc, linux-headers")

			var wantGates []ref
			for _, pkg := range miniPackages {
				g := byName[pkg+": "+convert.StepELFGate]
				script := g.op.GetExec().GetMeta().GetArgs()
				require.NotEmpty(t, script, pkg)
				assert.Contains(t, script[len(script)-1],
					"/hadron-tools/hadron elf-check --arch "+string(arch)+" --package "+pkg+" "+convert.ClosureDir+"\n", pkg)

				closure, ro := mountRef(t, g, convert.ClosureDir)
				assert.True(t, ro, "%s: the closure is mounted read-only", pkg)
				_, ro = mountRef(t, g, convert.ToolsDir)
				assert.True(t, ro, "%s: the tools are mounted read-only", pkg)
				layer := outputRef(byName, pkg)
				if pkg == "xz" {
					merge := byName["xz: runtime closure"]
					require.Equal(t, ref{merge.digest, 0}, closure, "xz's closure is a merge")
					require.Len(t, merge.op.Inputs, 2)
					assert.ElementsMatch(t, []ref{outputRef(byName, "musl"), layer},
						[]ref{inputRef(merge, 0), inputRef(merge, 1)}, "the main outputs of xz and its runtime dependency musl")
				} else {
					assert.Equal(t, layer, closure, "%s has no runtime dependency: its closure is its main output", pkg)
				}
				wantGates = append(wantGates, outRef(t, g))
			}
			assert.ElementsMatch(t, wantGates, gateRefs(t, byName["mini: finalize"]), "finalize depends on every gate")
		})
	}
}

// TestGateKeepsLayers: the gates change no package layer. Every vertex of
// the ungated main outputs (Converter.Output) is in the image's
// definition with the same digest, the image merges exactly those layers
// and its finalize layer (no layer for a gate), and the tools source
// reaches the gates and the finalize step only.
func TestGateKeepsLayers(t *testing.T) {
	fsys := repoFS(t)
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), "busybox", "xz")
	require.NoError(t, err)
	img, err := c.Target("mini")
	require.NoError(t, err)
	vs := marshalState(t, img)
	inImage := map[digest.Digest]bool{}
	var merge vertex
	for _, v := range vs {
		inImage[v.digest] = true
		if v.name == "mini: assemble image" {
			merge = v
		}
	}
	var layers []ref
	for _, pkg := range miniPackages {
		st, err := c.Output(recipe.Ref{Recipe: pkg})
		require.NoError(t, err)
		lv := marshalState(t, st)
		for _, v := range lv[:len(lv)-1] { // the last is the definition's return
			assert.True(t, inImage[v.digest], "%s: vertex %q keeps its digest", pkg, v.name)
			assert.NotContains(t, v.name, convert.StepELFGate, "%s: the layer does not depend on a gate", pkg)
		}
		layers = append(layers, inputRef(lv[len(lv)-1], 0))
	}
	require.Len(t, merge.op.Inputs, len(miniPackages)+1, "the main outputs and finalize")
	for i, l := range layers {
		assert.Equal(t, l, inputRef(merge, int64(i)), "layer %d is %s's ungated main output", i, miniPackages[i])
	}

	// Another hadron (here: another tools source) changes the gates and
	// what depends on them, never a build step.
	o := opts()
	o.ToolsContext = "other-tools"
	before, after := names(vs), names(marshal(t, fsys, "mini", o))
	for n, d := range before {
		if after[n] == d {
			continue
		}
		switch {
		case strings.HasSuffix(n, ": "+convert.StepELFGate), n == "hadron tools", n == "mini: finalize", n == "mini: assemble image":
		default:
			t.Errorf("%q changed with the tools", n)
		}
	}
}

// TestPackageTargetGated: a plain package target is its main output with
// a file step on top that depends on the package's gate and copies
// nothing; a host recipe has no gate.
func TestPackageTargetGated(t *testing.T) {
	vs := marshal(t, repoFS(t), "xz", opts())
	byName := map[string]vertex{}
	for _, v := range vs {
		byName[v.name] = v
	}
	top := vs[len(vs)-1]
	gated := byName["xz: gated"]
	require.Equal(t, ref{gated.digest, 0}, inputRef(top, 0), "the target is xz: gated")
	fa := gated.op.GetFile().GetActions()
	require.Len(t, fa, 1)
	assert.Equal(t, outputRef(byName, "xz"), inputRef(gated, fa[0].Input), "on top of xz's main output")
	assert.Equal(t, []ref{outRef(t, byName["xz: elf gate"])}, gateRefs(t, gated))
	assert.NotContains(t, byName, "musl: elf gate", "xz's own gate checks its closure, musl included")

	for _, host := range []string{"gcc", "binutils"} {
		vs := marshal(t, repoFS(t), host, opts())
		var install vertex
		for _, v := range vs {
			assert.NotContains(t, v.name, convert.StepELFGate, "%s is a host recipe", host)
			assert.NotEqual(t, "hadron tools", v.name, "%s runs no tool", host)
			if v.name == host+": install" {
				install = v
			}
		}
		assert.Equal(t, outRef(t, install), inputRef(vs[len(vs)-1], 0), "%s: the target is its package layer", host)
	}
}
