package convert_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageLayersFollowTheMerge: the layer names an image's history gets
// are the inputs of its "assemble image" merge, in order: one layer per
// package output ("<recipe>: output"), the finalize layer last.
func TestImageLayersFollowTheMerge(t *testing.T) {
	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), roots(t, tree, "mini")...)
	require.NoError(t, err)
	st, err := c.Target("mini")
	require.NoError(t, err)
	vs := marshalState(t, st)
	byDigest := map[digest.Digest]string{}
	var assemble *vertex
	for i, v := range vs {
		byDigest[v.digest] = v.name
		if _, ok := v.op.Op.(*pb.Op_Merge); ok && v.name == "mini: assemble image" {
			assemble = &vs[i]
		}
	}
	require.NotNil(t, assemble, "mini: assemble image")
	var merged []string
	for _, in := range assemble.op.GetMerge().Inputs {
		merged = append(merged, byDigest[digest.Digest(assemble.op.Inputs[in.Input].Digest)])
	}

	layers := c.ImageLayers(target.Target{Kind: target.Image, Name: "mini"})
	require.Len(t, layers, len(merged))
	for i, l := range layers {
		if i == len(layers)-1 {
			assert.Equal(t, "finalize mini", l)
			assert.Equal(t, "mini: finalize", merged[i])
			continue
		}
		f := strings.Fields(l)
		require.Len(t, f, 3, l)
		assert.Equal(t, "package", f[0])
		ref := recipe.ParseRef(f[1])
		want := ref.Recipe + ": " + convert.StepOutput
		if !ref.Main() {
			want += " " + ref.Output
		}
		assert.Equal(t, want, merged[i], "layer %d", i)
		assert.Equal(t, tree.Recipes[ref.Recipe].Version, f[2])
	}
	assert.Contains(t, layers, "package busybox "+tree.Recipes["busybox"].Version)

	for _, tg := range []target.Target{{Kind: target.Recipe, Name: "xz"}, {Kind: target.Kernel, Name: "xz", Board: "b"}} {
		assert.Nil(t, c.ImageLayers(tg), "%s has no known layer list", tg)
	}
}

// TestKeepToolchain: with NoCache every build step ignores the cache;
// KeepToolchain exempts exactly the host recipes' steps (binutils, gcc),
// so a rebuild re-runs every package but not the cross compiler.
func TestKeepToolchain(t *testing.T) {
	host := map[string]bool{"binutils": true, "gcc": true}
	for _, tc := range []struct {
		name                   string
		noCache, keepToolchain bool
	}{
		{"cached", false, false},
		{"no-cache", true, false},
		{"no-cache keep-toolchain", true, true},
		{"keep-toolchain alone", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts()
			o.NoCache, o.KeepToolchain = tc.noCache, tc.keepToolchain
			var hostExecs, otherExecs int
			for _, v := range marshal(t, repoFS(t), "mini", o) {
				if _, ok := v.op.Op.(*pb.Op_Exec); !ok {
					continue
				}
				recipeName, _, _ := strings.Cut(v.name, ": ")
				want := tc.noCache && !(tc.keepToolchain && host[recipeName])
				assert.Equal(t, want, v.ignoreCache, "%s ignores the cache", v.name)
				if host[recipeName] {
					hostExecs++
				} else {
					otherExecs++
				}
			}
			assert.Greater(t, hostExecs, 3, "binutils and gcc steps")
			assert.Greater(t, otherExecs, 6, "package steps")
		})
	}
}

// TestKeepToolchainWithSubstitutes: offline, binutils' and gcc's sources
// are declared substitutes, made by a step of their own. With NoCache and
// KeepToolchain those steps are kept too, so that after the re-run marks
// are carried downstream (frontend.RerunDownstream, as every solve does)
// not one of the cross compiler's steps re-runs. The kernel's substitute,
// which feeds linux-headers (a package), still re-runs. Found when a
// scope-packages repro-check of images/base rebuilt gcc in its second
// build.
func TestKeepToolchainWithSubstitutes(t *testing.T) {
	o := opts()
	o.NoCache, o.KeepToolchain = true, true
	o.Substitutes = []string{"binutils-2.44-debian", "gcc-14.2.0-debian", "gmp-6.3.0-debian", "linux-7.2.8-debian"}
	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	c, err := convert.New(tree, o, roots(t, tree, "mini")...)
	require.NoError(t, err)
	st, err := c.Target("mini")
	require.NoError(t, err)
	def, err := st.Marshal(context.Background(), llb.LinuxAmd64, llb.LocalUniqueID(testLocalID))
	require.NoError(t, err)
	require.NoError(t, frontend.RerunDownstream(def))

	kept := map[string]bool{}
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		if op.GetExec() == nil {
			continue
		}
		md := def.Metadata[digest.FromBytes(dt)]
		name := md.Description["llb.customname"]
		recipeName, _, _ := strings.Cut(name, ": ")
		switch {
		case recipeName == "binutils" || recipeName == "gcc",
			strings.HasPrefix(name, "substitute binutils-"), strings.HasPrefix(name, "substitute gcc-"), strings.HasPrefix(name, "substitute gmp-"):
			assert.False(t, md.IgnoreCache, "%s is the toolchain's: kept", name)
			kept[name] = true
		default:
			assert.True(t, md.IgnoreCache, "%s re-runs", name)
		}
	}
	var substitutes int
	for name := range kept {
		if strings.HasPrefix(name, "substitute ") {
			substitutes++
		}
	}
	assert.Equal(t, 3, substitutes, "binutils', gcc's and gmp's substitute steps: %v", kept)
	assert.Greater(t, len(kept), 6, "and the compiler's own steps")
}

// isEpochCopy reports whether cp is the copy restamp makes: a whole tree's
// contents, with the epoch as every entry's time.
func isEpochCopy(cp *pb.FileActionCopy) bool {
	return cp.Src == "/" && cp.Dest == "/" && cp.DirCopyContents && !cp.AllowWildcard
}

// TestTreesAtEpoch: the finalize layer and the ESP end with a copy of
// what the step's earlier actions made, onto an empty tree, with the
// epoch as the time of every entry, directories included (a file action
// leaves the directory it writes into at the wall clock: two builds
// differed in the times of /etc, /usr, /loader, /EFI).
func TestTreesAtEpoch(t *testing.T) {
	for _, tc := range []struct {
		fsys   func(testing.TB) fstest.MapFS
		target string
		step   string
	}{
		{repoFS, "mini", "mini: finalize"},
		{bootFS, "tboot/boot", "tboot: esp"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			vs := marshal(t, tc.fsys(t), tc.target, opts())
			var step *vertex
			for i, v := range vs {
				if v.name == tc.step {
					step = &vs[i]
				}
			}
			require.NotNil(t, step, tc.step)
			actions := step.op.GetFile().GetActions()
			require.NotEmpty(t, actions)
			last := actions[len(actions)-1]
			cp := last.GetCopy()
			require.NotNil(t, cp, "%s ends with a copy", tc.step)
			assert.True(t, isEpochCopy(cp), "%s copies the whole tree", tc.step)
			assert.Equal(t, opts().SourceDateEpoch*int64(time.Second), cp.Timestamp, "every entry at the epoch")
			assert.GreaterOrEqual(t, last.SecondaryInput, int64(len(step.op.Inputs)), "the copy reads the step's own earlier result")
			assert.Equal(t, int64(-1), last.Input, "onto an empty tree")
		})
	}
}
