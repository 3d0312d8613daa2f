package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
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

// TestBaseArm64Builds builds images/base for linux/arm64 with the aarch64
// cross toolchain (build-only: the arm64 proof where a TCG boot of
// an emulated aarch64 systemd does not fit the time), passes it through
// the ELF gate for arm64, and runs systemd and a few tools of the image
// under qemu-user. Full tier: the arm64 toolchain and every base package
// are long compiles.
func TestBaseArm64Builds(t *testing.T) {
	harness.RequireFull(t)
	qemu, err := exec.LookPath("qemu-aarch64-static")
	require.NoError(t, err, "qemu-aarch64-static is needed to run the arm64 binaries (make deps installs qemu-user-static)")
	e := setup(t)
	start := time.Now()
	out := buildTo(t, e, repoRoot(t), "base", "linux/arm64")
	t.Logf("images/base for arm64 built in %s", time.Since(start).Round(time.Second))
	assertELFClean(t, out, recipe.ArchARM64)

	f, err := elf.Open(filepath.Join(out, "usr/lib/systemd/systemd"))
	require.NoError(t, err)
	assert.Equal(t, elf.EM_AARCH64, f.Machine)
	assert.Equal(t, "/lib/ld-musl-aarch64.so.1", string(progInterp(t, f)))
	f.Close()
	// One bin folder: /sbin/init is systemd's, not busybox's.
	init, err := os.Readlink(filepath.Join(out, "usr/bin/init"))
	require.NoError(t, err)
	assert.Equal(t, "../lib/systemd/systemd", init)
	sbin, err := os.Readlink(filepath.Join(out, "usr/sbin"))
	require.NoError(t, err)
	assert.Equal(t, "bin", sbin)

	// musl's loader run directly (see TestMiniArm64Cross), with systemd's
	// private library folder on the path (its RUNPATH is absolute).
	libs := filepath.Join(out, "usr/lib") + ":" + filepath.Join(out, "usr/lib/systemd")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(qemu, append([]string{filepath.Join(out, "usr/lib/libc.so"), "--library-path", libs}, args...)...)
		got, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, got)
		return string(got)
	}
	assert.Contains(t, run(filepath.Join(out, "usr/lib/systemd/systemd"), "--version"), "systemd 262")
	assert.Contains(t, run(filepath.Join(out, "usr/bin/kmod"), "--version"), "kmod version")
	assert.Contains(t, run(filepath.Join(out, "usr/bin/ip"), "-V"), "iproute2")
	assert.Contains(t, run(filepath.Join(out, "usr/bin/openssl"), "version"), "OpenSSL 3.5")

	var size int64
	require.NoError(t, filepath.Walk(out, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return err
	}))
	t.Logf("images/base (arm64): %d MiB of files", size>>20)
}

// TestBaseArm64Boots boots images/base (plus the boot check) for arm64 as
// an initramfs on Hadron's qemu-arm64 kernel in qemu-system-aarch64 (virt,
// cortex-a57, TCG): systemd as PID 1 must reach multi-user.target. An
// arm64 image has no build-time setup layer, so this boot is also systemd's
// first-boot setup (sysusers, tmpfiles, presets, hwdb). Full tier: the
// arm64 toolchain, kernel and base packages are long compiles.
func TestBaseArm64Boots(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-aarch64")
	e := setup(t)
	dir := copyTree(t)
	writeBaseCheck(t, dir)
	kernel := buildKernel(t, e, "linux@qemu-arm64", "linux/arm64")
	out := buildTo(t, e, dir, "base-check", "linux/arm64")
	assertELFClean(t, out, recipe.ArchARM64)
	rd := rootfsInitramfs(t, out)

	res := qemutest.Run(t, qemutest.Config{
		Binary: "qemu-system-aarch64",
		Args: []string{"-machine", "virt", "-cpu", "cortex-a57", "-m", "1024",
			"-kernel", filepath.Join(kernel, "boot/vmlinuz"), "-initrd", rd,
			"-append", "console=ttyAMA0 rdinit=/usr/lib/systemd/systemd panic=-1 systemd.show_status=1"},
		Marker:      "HADRON-BASE-BOOTED",
		FailMarkers: []string{"Kernel panic", "Freezing execution"},
		Timeout:     20 * time.Minute,
		WaitExit:    true,
	})
	t.Logf("booted (arm64, TCG) to the marker in %s", res.Elapsed)
	for _, m := range regexp.MustCompile(`HADRON-[A-Z-]+: .*`).FindAllString(res.Serial, -1) {
		t.Log(m)
	}
	assertSystemRunning(t, res.Serial, "systemctl is-system-running")
	assert.Regexp(t, `HADRON-VERSION: systemd 262 `, res.Serial)
	assert.Contains(t, res.Serial, "HADRON-LIBC: libc.so", "systemd runs on musl")
	assert.Contains(t, res.Serial, "HADRON-GETTY: active", "a getty on ttyAMA0")
	assert.Regexp(t, `HADRON-JOURNAL: [1-9][0-9]* lines`, res.Serial)
}
