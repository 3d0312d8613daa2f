package convert_test

import (
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSystemdSetupLayer: an amd64 image holding systemd gets one more
// layer on top of its packages and finalize: what the image's own
// systemd-sysusers, systemd-tmpfiles --create and systemctl preset-all
// change, run in that order on the assembled image, offline, with the
// build's SOURCE_DATE_EPOCH. The history names it last.
func TestSystemdSetupLayer(t *testing.T) {
	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), roots(t, tree, "base")...)
	require.NoError(t, err)
	st, err := c.Target("base")
	require.NoError(t, err)
	vs := marshalState(t, st)
	byDigest := map[digest.Digest]vertex{}
	for _, v := range vs {
		byDigest[v.digest] = v
	}
	find := func(name string) vertex {
		t.Helper()
		for _, v := range vs {
			if v.name == name {
				return v
			}
		}
		t.Fatalf("no vertex %q", name)
		return vertex{}
	}
	input := func(v vertex, i int) vertex {
		t.Helper()
		require.Greater(t, len(v.op.Inputs), i, v.name)
		return byDigest[digest.Digest(v.op.Inputs[i].Digest)]
	}

	// The three tools run one after the other, the first on the
	// assembled image, each on the previous one's root.
	root := "base: assemble image"
	for _, step := range []struct{ name, tool string }{
		{"base: systemd-sysusers", "/usr/bin/systemd-sysusers"},
		{"base: systemd-tmpfiles --create", "/usr/bin/systemd-tmpfiles"},
		{"base: systemctl preset-all", "/usr/bin/systemctl"},
	} {
		v := find(step.name)
		ex := v.op.GetExec()
		require.NotNil(t, ex, step.name)
		assert.Equal(t, step.tool, ex.Meta.Args[0])
		assert.Equal(t, root, input(v, int(ex.Mounts[0].Input)).name, "%s runs on %s", step.name, root)
		assert.Equal(t, pb.NetMode_NONE, ex.Network)
		assert.Contains(t, ex.Meta.Env, "SOURCE_DATE_EPOCH=1700000000")
		assert.Contains(t, ex.Meta.Env, "SYSTEMD_OFFLINE=1")
		root = step.name
	}
	tmpfiles := find("base: systemd-tmpfiles --create").op.GetExec().Meta.Args
	for _, p := range []string{"/dev", "/proc", "/sys", "/run", "/tmp"} {
		assert.Contains(t, tmpfiles, "--exclude-prefix="+p)
	}

	// The layer is the difference those steps made, on top of the
	// packages and finalize; ImageLayers names it last.
	final := find("base: assemble image with its systemd setup")
	merge := final.op.GetMerge()
	require.NotNil(t, merge)
	var merged []string
	for _, in := range merge.Inputs {
		merged = append(merged, input(final, int(in.Input)).name)
	}
	require.GreaterOrEqual(t, len(merged), 3)
	assert.Equal(t, "base: finalize", merged[len(merged)-2])
	assert.Equal(t, "base: systemd setup layer", merged[len(merged)-1])
	layers := c.ImageLayers(target.Target{Kind: target.Image, Name: "base"})
	require.Len(t, layers, len(merged))
	assert.Equal(t, []string{"finalize base", "systemd setup base"}, layers[len(layers)-2:])
	copyFrom := input(find("base: systemd setup layer"), 0)
	require.NotNil(t, copyFrom.op.GetDiff(), "the layer copies a diff, got %q", copyFrom.name)
}

// TestNoSystemdSetupLayer: images without systemd, and images whose
// programs do not run on the build platform (arm64 on amd64), get no
// setup steps; systemd sets the latter up on its first boot.
func TestNoSystemdSetupLayer(t *testing.T) {
	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	arm64 := opts()
	arm64.Arch = recipe.ArchARM64
	for _, tc := range []struct {
		name, image string
		o           convert.Options
	}{
		{"image without systemd", "mini", opts()},
		{"foreign arch", "base", arm64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := convert.New(tree, tc.o, roots(t, tree, tc.image)...)
			require.NoError(t, err)
			st, err := c.Target(tc.image)
			require.NoError(t, err)
			for _, v := range marshalState(t, st) {
				assert.NotContains(t, v.name, "systemd-sysusers")
				assert.NotContains(t, v.name, "systemd setup")
			}
			layers := c.ImageLayers(target.Target{Kind: target.Image, Name: tc.image})
			assert.Equal(t, "finalize "+tc.image, layers[len(layers)-1])
		})
	}
}
