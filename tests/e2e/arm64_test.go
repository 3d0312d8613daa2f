package e2e

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMiniArm64Cross builds mini for linux/arm64 on the amd64 stage 0 with
// Hadron's aarch64 cross toolchain (no emulation in the build), then runs
// the results under qemu-user to prove they are working aarch64 musl
// binaries. Full tier: the arm64 toolchain is a second cold gcc build.
func TestMiniArm64Cross(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	out := buildTo(t, e, repoRoot(t), "mini", "linux/arm64")
	assertELFClean(t, out, recipe.ArchARM64)

	for _, p := range []string{"bin/busybox", "usr/bin/xz", "usr/lib/libc.so"} {
		f, err := elf.Open(filepath.Join(out, p))
		require.NoError(t, err, p)
		assert.Equal(t, elf.EM_AARCH64, f.Machine, p)
		f.Close()
	}
	xz, err := elf.Open(filepath.Join(out, "usr/bin/xz"))
	require.NoError(t, err)
	assert.Equal(t, "/lib/ld-musl-aarch64.so.1", string(progInterp(t, xz)))
	xz.Close()

	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatalf("qemu-aarch64-static is needed to run the arm64 binaries (make deps installs qemu-user-static): %v", err)
	}
	got, err := exec.Command(qemu, filepath.Join(out, "bin/busybox"), "echo", "hadron-arm64").CombinedOutput()
	require.NoError(t, err, "%s", got)
	assert.Equal(t, "hadron-arm64", strings.TrimSpace(string(got)))
	// The image's /lib/ld-musl-aarch64.so.1 is an absolute link, which
	// qemu-user's -L does not follow into the image; run musl's loader
	// (libc.so) directly with the image's library path instead.
	got, err = exec.Command(qemu, filepath.Join(out, "usr/lib/libc.so"), "--library-path", filepath.Join(out, "usr/lib"),
		filepath.Join(out, "usr/bin/xz"), "--version").CombinedOutput()
	require.NoError(t, err, "%s", got)
	assert.Contains(t, string(got), "xz (XZ Utils) 5.4.1")
}
