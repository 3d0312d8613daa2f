package qemutest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDirectKernelBoot boots the Debian kernel with -kernel/-initrd (no
// firmware) to prove the helper: marker seen, fail marker honoured.
func TestDirectKernelBoot(t *testing.T) {
	Require(t)
	kdir := DebianKernel(t)
	rd := filepath.Join(t.TempDir(), "initrd.gz")
	require.NoError(t, os.WriteFile(rd, BusyboxInitrd(t, MarkerScript("echo booted-$((6*7))", "HADRON-MARKER-OK")), 0o644))
	args := []string{"-machine", "q35", "-m", "512",
		"-kernel", filepath.Join(kdir, "vmlinuz"), "-initrd", rd,
		"-append", "console=ttyS0 quiet panic=-1"}

	tests := []struct {
		name    string
		marker  string
		fail    []string
		wantErr bool
	}{
		{"marker", "HADRON-MARKER-OK", nil, false},
		{"fail marker first", "never-printed", []string{"booted-42"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Boot(t.Context(), t.TempDir(), Config{Args: args, Marker: tc.marker, FailMarkers: tc.fail, Timeout: 3 * time.Minute, WaitExit: true})
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err, res.Serial)
			assert.Contains(t, res.Serial, "booted-42")
			t.Logf("marker after %s", res.Elapsed)
		})
	}
}
