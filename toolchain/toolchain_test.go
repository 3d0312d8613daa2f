package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
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

func TestSpecsShape(t *testing.T) {
	tg, err := For(recipe.ArchAMD64)
	require.NoError(t, err)
	s := tg.Specs()
	assert.Contains(t, s, "-dynamic-linker /lib/ld-musl-x86_64.so.1")
	assert.Contains(t, s, "-isystem /sysroot/usr/include")
	assert.True(t, strings.HasSuffix(s, "\n"))
	assert.Contains(t, tg.Wrapper(), "-specs /hadron/musl-gcc.specs")
}

// TestSpecsAcceptedByGCC feeds the specs file to the host gcc (when there
// is one): a malformed specs file is only found this way.
func TestSpecsAcceptedByGCC(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc on this machine")
	}
	tg, err := For(recipe.ArchAMD64)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "musl.specs")
	require.NoError(t, os.WriteFile(p, []byte(tg.Specs()), 0o644))
	out, err := exec.Command(gcc, "-specs", p, "-dumpspecs").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "ld-musl-x86_64.so.1")
}
