package toolchain

import (
	"testing"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMesonCrossNamesTheCrossToolchain(t *testing.T) {
	for arch, cpu := range map[recipe.Arch]string{recipe.ArchAMD64: "x86_64", recipe.ArchARM64: "aarch64"} {
		tg, err := For(arch)
		require.NoError(t, err)
		got := tg.MesonCross()
		assert.Contains(t, got, "c = '"+cpu+"-hadron-linux-musl-gcc'\n", arch)
		assert.Contains(t, got, "cpp = '"+cpu+"-hadron-linux-musl-g++'\n", arch)
		assert.Contains(t, got, "cpu_family = '"+cpu+"'\n", arch)
		assert.Contains(t, got, "sys_root = '/sysroot'\n", arch)
		// Stage 0's meson (1.0) finds pkg-config only under this key.
		assert.Contains(t, got, "pkgconfig = 'pkg-config'\n", arch)
		// amd64 packages are cross builds too: musl binaries cannot run
		// on the glibc stage 0, so meson must not try.
		assert.Contains(t, got, "needs_exe_wrapper = true\n", arch)
	}
}

func TestCMakeToolchainSearchesOnlyTheSysroot(t *testing.T) {
	tg, err := For(recipe.ArchARM64)
	require.NoError(t, err)
	got := tg.CMakeToolchain()
	assert.Contains(t, got, "set(CMAKE_SYSTEM_PROCESSOR aarch64)\n")
	assert.Contains(t, got, "set(CMAKE_C_COMPILER aarch64-hadron-linux-musl-gcc)\n")
	assert.Contains(t, got, "set(CMAKE_SYSROOT /sysroot)\n")
	assert.Contains(t, got, "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)\n")
	assert.Contains(t, got, "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)\n")
}
