package toolchain

import (
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/recipe"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFor(t *testing.T) {
	for _, a := range recipe.Arches {
		tg, err := For(a)
		require.NoError(t, err)
		assert.Equal(t, a, tg.Arch)
		back, err := ArchForPlatform(tg.Platform)
		require.NoError(t, err)
		assert.Equal(t, a, back)
	}
	_, err := For("riscv64")
	assert.ErrorContains(t, err, "amd64, arm64")
	_, err = ArchForPlatform(ocispecs.Platform{OS: "windows", Architecture: "amd64"})
	assert.Error(t, err)
}

func TestCrossEnv(t *testing.T) {
	tg, err := For(recipe.ArchARM64)
	require.NoError(t, err)
	env := tg.CrossEnv("/usr/bin:/bin")
	assert.Equal(t, "/toolchain/bin:/usr/bin:/bin", env["PATH"])
	assert.Equal(t, "aarch64-hadron-linux-musl-gcc", env["CC"])
	assert.Equal(t, "aarch64-hadron-linux-musl-g++", env["CXX"])
	assert.Equal(t, "aarch64-hadron-linux-musl-", env["CROSS_COMPILE"])
	assert.Equal(t, "gcc", env["HOSTCC"], "helpers that run during the build use stage 0's compiler")
	for v := range Tools {
		assert.True(t, strings.HasPrefix(env[v], tg.Triplet+"-"), v)
	}
}
