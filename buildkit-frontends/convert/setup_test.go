package convert_test

import (
	"testing"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/solver/pb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSystemdSetupLayer: an amd64 image holding systemd gets one more
// layer on top of its packages and finalize: what `hadron image-setup`
// (systemd-sysusers, systemd-tmpfiles --create, systemctl preset-all)
// changes when run on the assembled image. The history names it last.
func TestSystemdSetupLayer(t *testing.T) {
	tree, err := project.Load(repoFS(t))
	require.NoError(t, err)
	c, err := convert.New(tree, opts(), roots(t, tree, "base")...)
	require.NoError(t, err)
	st, err := c.Target("base")
	require.NoError(t, err)
	vs, names := byName(marshalState(t, st))
	find := func(name string) vertex {
		t.Helper()
		v, ok := vs[name]
		require.True(t, ok, "no vertex %q", name)
		return v
	}

	// One step runs `hadron image-setup` (the image's own systemd
	// tools, see internal/imagesetup) on the assembled image, offline,
	// at the build's SOURCE_DATE_EPOCH, the hadron tools mounted.
	v := find("base: systemd setup")
	ex := v.op.GetExec()
	require.NotNil(t, ex)
	assert.Equal(t, []string{"/hadron-tools/hadron", "image-setup"}, ex.Meta.Args)
	rootfs, _ := mountRef(t, v, "/")
	assert.Equal(t, "base: assemble image", names[rootfs], "the step's root is the assembled image")
	assert.Equal(t, pb.NetMode_NONE, ex.Network)
	assert.Contains(t, ex.Meta.Env, "SOURCE_DATE_EPOCH=1700000000")
	_, readonly := mountRef(t, v, "/hadron-tools")
	assert.True(t, readonly, "the hadron binary is mounted read-only at /hadron-tools")

	// The layer is the difference those steps made, on top of the
	// packages and finalize; ImageLayers names it last.
	merged := mergeInputs(t, find("base: assemble image with its systemd setup"), names)
	require.GreaterOrEqual(t, len(merged), 3)
	assert.Equal(t, "base: finalize", merged[len(merged)-2])
	assert.Equal(t, "base: systemd setup layer", merged[len(merged)-1])
	layers := c.ImageLayers(target.Target{Kind: target.Image, Name: "base"})
	require.Len(t, layers, len(merged))
	assert.Equal(t, []string{"finalize base", "systemd setup base"}, layers[len(layers)-2:])
	// The diff has no name of its own: find it by digest.
	from := inputRef(find("base: systemd setup layer"), 0)
	var isDiff bool
	for _, v := range marshalState(t, st) {
		isDiff = isDiff || (v.digest == from.digest && v.op.GetDiff() != nil)
	}
	assert.True(t, isDiff, "the layer copies a diff")
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
				assert.NotContains(t, v.name, "systemd setup")
			}
			layers := c.ImageLayers(target.Target{Kind: target.Image, Name: tc.image})
			assert.Equal(t, "finalize "+tc.image, layers[len(layers)-1])
		})
	}
}
