package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/bootchain/initrd"
	"github.com/hadron-linux/hadron/internal/solve"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/stretchr/testify/require"
)

// TestMiniBootsInQEMU packs the BuildKit-built mini root filesystem as an
// initramfs and boots it on a real kernel (Debian's, until Hadron's own
// kernel recipe lands): busybox is PID 1's shell, xz runs against musl.
func TestMiniBootsInQEMU(t *testing.T) {
	e := setup(t)
	qemutest.Require(t)
	out := t.TempDir()
	req := e.request(repoRoot(t), "mini")
	req.Outputs = []string{"type=local,dest=" + out}
	_, err := solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)

	init := "#!/bin/sh\n" +
		"mount -t proc proc /proc; mount -t sysfs sys /sys\n" +
		"echo \"hadron: $(cat /etc/hostname) $(. /usr/lib/os-release; echo $ID)\"\n" +
		"echo hadron-xz | xz | xz -d\n" +
		"/lib/ld-musl-x86_64.so.1 --list /usr/bin/xz\n" +
		"echo HADRON-MINI-BOOTED\n" +
		"poweroff -f\n"
	require.NoError(t, os.MkdirAll(filepath.Join(out, "proc"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(out, "sys"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(out, "dev"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "init"), []byte(init), 0o755))
	var buf bytes.Buffer
	require.NoError(t, initrd.WriteDir(&buf, out, epoch))
	rd := filepath.Join(t.TempDir(), "mini.cpio")
	require.NoError(t, os.WriteFile(rd, buf.Bytes(), 0o644))
	t.Logf("mini initramfs: %d KiB", buf.Len()/1024)

	kdir := qemutest.DebianKernel(t)
	res := qemutest.Run(t, qemutest.Config{
		Args: []string{"-machine", "q35", "-m", "512",
			"-kernel", filepath.Join(kdir, "vmlinuz"), "-initrd", rd,
			"-append", "console=ttyS0 rdinit=/init panic=-1"},
		Marker:      "HADRON-MINI-BOOTED",
		FailMarkers: []string{"Kernel panic"},
		Timeout:     4 * time.Minute,
		WaitExit:    true,
	})
	require.Contains(t, res.Serial, "hadron: hadron-mini hadron")
	require.Contains(t, res.Serial, "hadron-xz")
	require.Contains(t, res.Serial, "liblzma.so.5 => /usr/lib/liblzma.so.5")
	t.Logf("booted to marker in %s", res.Elapsed)
}
