package toolchain_test

import (
	"os"
	"testing"

	"github.com/hadron-linux/hadron/internal/project"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestToolchainRecipesAgree keeps the recipes that must move together in
// step (a bump of one without the other fails here, naming both): the
// scratch musl of the gcc build is the musl recipe's tarball, the kernel
// headers come from the kernel's source, gcc-libs is gcc's runtime.
func TestToolchainRecipesAgree(t *testing.T) {
	tree, err := project.Load(os.DirFS(".."))
	require.NoError(t, err)
	musl, gcc := tree.Recipes["musl"], tree.Recipes["gcc"]
	require.NotNil(t, musl)
	require.NotNil(t, gcc)
	var gccSources []string
	for i := range gcc.Sources {
		gccSources = append(gccSources, gcc.SourceURL(i))
	}
	assert.Contains(t, gccSources, musl.SourceURL(0), "gcc's scratch musl must be the musl recipe's tarball (toolchain/gcc/recipe.yaml, toolchain/musl/recipe.yaml)")
	assert.Equal(t, tree.Recipes["linux"].SourceURL(0), tree.Recipes["linux-headers"].SourceURL(0), "linux-headers must use the kernel's source")
	assert.Equal(t, gcc.Version, tree.Recipes["gcc-libs"].Version, "gcc-libs is gcc's runtime")
	assert.Equal(t, []string{"binutils", "gcc"}, tree.Toolchain(), "the host recipes")
	for _, n := range tree.Names() {
		r := tree.Recipes[n]
		if r.Host {
			assert.Empty(t, r.Dependencies.Toolchain, n)
			continue
		}
		assert.Equal(t, []string{"binutils", "gcc"}, r.Dependencies.Toolchain, "%s builds with the cross toolchain", n)
	}
}
