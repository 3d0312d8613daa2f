package dracut

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRunReproducible runs the real dracut twice against the Debian
// kernel fixture (tests/fixtures/debian-kernel.sh) and expects identical
// initrds. It takes about a minute, so it runs with HADRON_QEMU=1, next
// to the QEMU boot tests that use the same initrd.
func TestRunReproducible(t *testing.T) {
	if os.Getenv("HADRON_QEMU") != "1" {
		t.Skip("real dracut run: set HADRON_QEMU=1 to run it")
	}
	if _, err := exec.LookPath("dracut"); err != nil {
		t.Fatalf("HADRON_QEMU=1 but dracut is not installed (apt-get install dracut-core): %v", err)
	}
	kdir, err := filepath.Abs("../../out/debian-kernel")
	require.NoError(t, err)
	// The fixture script is a no-op once the kernel is there.
	fetch := exec.Command("sh", "../../tests/fixtures/debian-kernel.sh", kdir)
	out, err := fetch.CombinedOutput()
	require.NoError(t, err, "tests/fixtures/debian-kernel.sh: %s", out)
	uname, err := os.ReadFile(filepath.Join(kdir, "uname"))
	require.NoError(t, err)
	kver := strings.TrimSpace(string(uname))

	cfg := Config{
		Modules:  []string{"base", "kernel-modules"},
		Drivers:  []string{"virtio_blk"},
		Compress: "gzip",
		Cmdline:  "root=PARTLABEL=root-a ro",
	}
	b := Build{Config: cfg, Kver: kver, ModulesDir: filepath.Join(kdir, "modules", kver), Epoch: 1700000000}
	var sums [][32]byte
	for _, name := range []string{"one.img", "two.img"} {
		out := filepath.Join(t.TempDir(), name)
		require.NoError(t, b.Run(t.Context(), out))
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		sums = append(sums, sha256.Sum256(data))
	}
	require.Equal(t, sums[0], sums[1], "two dracut runs differ")
}
