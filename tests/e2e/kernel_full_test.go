package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/stretchr/testify/require"
)

// TestKernelBoardsFull builds the real-hardware boards (full tier: each is
// a defconfig-sized compile, tens of minutes on 2 cores) and checks their
// package layout; the Raspberry Pi boards ship their board's DTB.
func TestKernelBoardsFull(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	for _, tc := range []struct {
		board, platform string
		dtbs            []string
	}{
		{"amd64-generic", "linux/amd64", nil},
		{"arm64-generic", "linux/arm64", nil},
		{"rpi4", "linux/arm64", []string{"broadcom/bcm2711-rpi-4-b.dtb"}},
		{"rpi5", "linux/arm64", []string{"broadcom/bcm2712-rpi-5-b.dtb"}},
	} {
		t.Run(tc.board, func(t *testing.T) {
			out := buildKernel(t, e, "linux@"+tc.board, tc.platform)
			for _, f := range []string{"boot/vmlinuz", "boot/config", "boot/System.map", "usr/lib/modules/7.2.8/modules.dep"} {
				require.FileExists(t, filepath.Join(out, f))
			}
			for _, d := range tc.dtbs {
				require.FileExists(t, filepath.Join(out, "boot/dtbs", d))
			}
			st, err := os.Stat(filepath.Join(out, "boot/vmlinuz"))
			require.NoError(t, err)
			t.Logf("%s: boot image %d KiB, modules %d KiB", tc.board, st.Size()/1024, dirSize(t, filepath.Join(out, "usr/lib/modules"))/1024)
		})
	}
}

// dirSize is the total size of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	}))
	return n
}
