package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/bootchain/initrd"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/kernel/kconfig"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/moby/buildkit/client"
	"github.com/stretchr/testify/require"
)

// buildTo builds target of the tree in dir for platforms (the engine's
// default when none) into a temp dir, logs how long it took and returns
// the dir.
func buildTo(t *testing.T, e env, dir, target string, platforms ...string) string {
	t.Helper()
	out := t.TempDir()
	req := e.request(dir, target)
	if len(platforms) > 0 {
		req.Platforms = platformsOf(t, platforms...)
	}
	req.Outputs = []string{"type=local,dest=" + out}
	var logs buildLog
	req.OnStatus = logs.add
	start := time.Now()
	_, err := solve.Build(context.Background(), e.client, req)
	require.NoError(t, err, "the build steps' last output:\n%s", logs.tail(60))
	t.Logf("%s %v built in %s", target, platforms, time.Since(start).Round(time.Millisecond))
	return out
}

// buildLog keeps the build steps' output of a solve, so that a failed
// build's test message shows the compiler's error, not only the command
// BuildKit names.
type buildLog struct {
	mu  sync.Mutex
	buf []byte
}

// add is a solve.Request OnStatus callback.
func (l *buildLog) add(s *client.SolveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range s.Logs {
		l.buf = append(l.buf, v.Data...)
	}
	if over := len(l.buf) - 1<<20; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...) // the last MiB is plenty
	}
}

// tail returns the last n lines of the output.
func (l *buildLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return harness.Tail(string(l.buf), n)
}

// buildKernel builds kernel target (linux@<board>) of the repository into a
// temp dir and returns it.
func buildKernel(t *testing.T, e env, target string, platforms ...string) string {
	t.Helper()
	return buildTo(t, e, repoRoot(t), target, platforms...)
}

// TestKernelQEMUAMD64 builds Hadron's own kernel for the qemu-amd64 board
// from the pinned 7.2.8 source (through the declared Debian substitute,
// offline) with Hadron's cross toolchain and checks the package layout.
// Full tier: with the cold toolchain in CI's tier, a cold kernel compile
// (16 minutes of 2 cores) no longer fits CI's budget.
func TestKernelQEMUAMD64(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	out := buildKernel(t, e, "linux@qemu-amd64")
	for _, f := range []string{"boot/vmlinuz", "boot/System.map", "boot/config", "boot/kernel.release", "usr/include/linux/pkt_sched.h"} {
		require.FileExists(t, filepath.Join(out, f))
	}
	rel, err := os.ReadFile(filepath.Join(out, "boot/kernel.release"))
	require.NoError(t, err)
	require.Equal(t, "7.2.8", strings.TrimSpace(string(rel)))
	require.FileExists(t, filepath.Join(out, "usr/lib/modules/7.2.8/modules.dep"), "depmod ran for the kernel release")
	// No build path leaks into the package as a symlink.
	_, err = os.Lstat(filepath.Join(out, "usr/lib/modules/7.2.8/build"))
	require.True(t, os.IsNotExist(err), "modules/<release>/build must not point at the build dir")
	vmlinuz, err := os.Stat(filepath.Join(out, "boot/vmlinuz"))
	require.NoError(t, err)
	t.Logf("bzImage %d KiB", vmlinuz.Size()/1024)

	cfg, err := os.ReadFile(filepath.Join(out, "boot/config"))
	require.NoError(t, err)
	final, err := kconfig.ParseConfig(cfg)
	require.NoError(t, err)
	for _, sym := range []string{"IKCONFIG_PROC", "CGROUPS", "DEVTMPFS", "EFI_STUB", "DM_VERITY", "EROFS_FS", "TCG_TPM", "VIRTIO_PCI", "SERIAL_8250_CONSOLE"} {
		require.Equal(t, "y", final[sym], "CONFIG_%s", sym)
	}
}

// TestMiniBootsOnHadronKernel boots images/mini as an initramfs on
// Hadron's own kernel for the QEMU boards — qemu-amd64 on q35 and
// qemu-arm64 on virt, both compiled by Hadron's cross toolchains and run
// under TCG: busybox runs as init, xz runs against musl, and
// /proc/config.gz proves the kernel's fragments. Full tier: kernel
// compiles next to the cold toolchain do not fit CI's budget.
func TestMiniBootsOnHadronKernel(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		board, platform, qemu, loader, console string
		machine                                []string
		full                                   bool
	}{
		{"qemu-amd64", "linux/amd64", "qemu-system-x86_64", "/lib/ld-musl-x86_64.so.1", "ttyS0", []string{"-machine", "q35"}, true},
		{"qemu-arm64", "linux/arm64", "qemu-system-aarch64", "/lib/ld-musl-aarch64.so.1", "ttyAMA0", []string{"-machine", "virt", "-cpu", "cortex-a57"}, true},
	} {
		t.Run(tc.board, func(t *testing.T) {
			if tc.full {
				harness.RequireFull(t)
			}
			qemutest.Require(t, tc.qemu)
			kernel := buildKernel(t, e, "linux@"+tc.board, tc.platform)
			out := t.TempDir()
			req := e.request(repoRoot(t), "mini")
			req.Platforms = platformsOf(t, tc.platform)
			req.Outputs = []string{"type=local,dest=" + out}
			_, err := solve.Build(context.Background(), e.client, req)
			require.NoError(t, err)

			init := "#!/bin/sh\n" +
				"mount -t proc proc /proc; mount -t sysfs sys /sys\n" +
				"echo \"hadron: $(cat /etc/hostname) $(. /usr/lib/os-release; echo $ID) kernel $(uname -r) $(uname -m)\"\n" +
				"echo hadron-xz | xz | xz -d\n" +
				tc.loader + " --list /usr/bin/xz\n" +
				"zcat /proc/config.gz | grep -E '^CONFIG_(IKCONFIG_PROC|DM_VERITY|EROFS_FS|EFI_STUB|CGROUP_BPF)='\n" +
				"echo HADRON-MINI-BOOTED\n" +
				"poweroff -f\n"
			for _, d := range []string{"proc", "sys", "dev"} {
				require.NoError(t, os.MkdirAll(filepath.Join(out, d), 0o755))
			}
			require.NoError(t, os.WriteFile(filepath.Join(out, "init"), []byte(init), 0o755))
			var buf bytes.Buffer
			require.NoError(t, initrd.WriteDir(&buf, out, epoch))
			rd := filepath.Join(t.TempDir(), "mini.cpio")
			require.NoError(t, os.WriteFile(rd, buf.Bytes(), 0o644))

			res := qemutest.Run(t, qemutest.Config{
				Binary: tc.qemu,
				Args: append(append([]string(nil), tc.machine...), "-m", "512",
					"-kernel", filepath.Join(kernel, "boot/vmlinuz"), "-initrd", rd,
					"-append", "console="+tc.console+" rdinit=/init panic=-1"),
				Marker:      "HADRON-MINI-BOOTED",
				FailMarkers: []string{"Kernel panic"},
				Timeout:     4 * time.Minute,
				WaitExit:    true,
			})
			require.Contains(t, res.Serial, "hadron: hadron-mini hadron kernel 7.2.8")
			require.Contains(t, res.Serial, "hadron-xz")
			require.Contains(t, res.Serial, "liblzma.so.5 => /usr/lib/liblzma.so.5")
			for _, sym := range []string{"IKCONFIG_PROC", "DM_VERITY", "EROFS_FS", "EFI_STUB", "CGROUP_BPF"} {
				require.Contains(t, res.Serial, "CONFIG_"+sym+"=y")
			}
			t.Logf("%s: booted to marker in %s", tc.board, res.Elapsed)
		})
	}
}

// TestKernelConfigCheckFails adds a fragment asking for a symbol whose
// dependency is off and a misspelt one: the build fails after configure,
// before any compile, naming each with its fragment file:line.
func TestKernelConfigCheckFails(t *testing.T) {
	e := setup(t)
	dir := copyTree(t)
	frag := "# test: a symbol whose dependency is off, and a typo\n" +
		"# CONFIG_BLK_DEV_DM is not set\n" +
		"CONFIG_DM_VERITY=y\n" +
		"CONFIG_EXTT4_FS=y\n"
	writeFile(t, dir, "kernel/boards/qemu-amd64/zz-broken.config", frag)
	boardFile := filepath.Join(dir, "kernel/boards/qemu-amd64/board.yaml")
	b, err := os.ReadFile(boardFile)
	require.NoError(t, err)
	b = []byte(strings.Replace(string(b), "  - boards/qemu-amd64/qemu-amd64.config\n",
		"  - boards/qemu-amd64/qemu-amd64.config\n  - boards/qemu-amd64/zz-broken.config\n", 1))
	require.NoError(t, os.WriteFile(boardFile, b, 0o644))

	var compiled bool
	req := e.request(dir, "linux@qemu-amd64")
	req.OnStatus = func(s *client.SolveStatus) {
		for _, v := range s.Vertexes {
			// The toolchain's own compile steps (cached or not) are not
			// the kernel's.
			if strings.HasPrefix(v.Name, "linux@") && strings.HasSuffix(v.Name, ": compile") && v.Started != nil {
				compiled = true
			}
		}
	}
	_, err = solve.Build(context.Background(), e.client, req)
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "kernel config for board qemu-amd64")
	require.Contains(t, msg, "kernel/boards/qemu-amd64/zz-broken.config:3: CONFIG_DM_VERITY: wanted y, got not set")
	require.Contains(t, msg, "kernel/boards/qemu-amd64/zz-broken.config:4: CONFIG_EXTT4_FS: no such Kconfig symbol")
	require.Contains(t, msg, "CONFIG_EXT4_FS")
	require.False(t, compiled, "nothing may be compiled from a configuration that failed its check")
}
