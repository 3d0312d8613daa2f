package main

import (
	"path/filepath"
	"testing"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/disk/trusted"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDiskArch: hadron qemu tells an arm64 disk from an amd64 one by the
// type of its root (or verity) partition, and says nothing of a disk
// without one.
func TestDiskArch(t *testing.T) {
	write := func(parts ...disk.Partition) string {
		t.Helper()
		plan, err := disk.Layout{Name: "t", Epoch: 1, Partitions: parts}.Plan()
		require.NoError(t, err)
		out := filepath.Join(t.TempDir(), "disk.raw")
		require.NoError(t, disk.Write(out, plan))
		return out
	}
	esp := disk.Partition{Name: "esp", Type: disk.TypeESP, Size: disk.MiB}
	for _, tc := range []struct {
		name string
		part disk.Partition
		want recipe.Arch
	}{
		{"standard amd64", disk.Partition{Name: "root-a", Type: disk.TypeRootX86_64, Size: disk.MiB}, recipe.ArchAMD64},
		{"standard arm64", disk.Partition{Name: "root-a", Type: disk.TypeRootArm64, Size: disk.MiB}, recipe.ArchARM64},
		{"arm64 verity", disk.Partition{Name: "root-arm64-verity", Type: trusted.Types[recipe.ArchARM64].Verity, Size: disk.MiB}, recipe.ArchARM64},
	} {
		got, ok := diskArch(write(esp, tc.part))
		assert.True(t, ok, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
	_, ok := diskArch(write(esp, disk.Partition{Name: "data", Type: disk.TypeLinux, Size: disk.MiB}))
	assert.False(t, ok, "no root partition")
	_, ok = diskArch(filepath.Join(t.TempDir(), "missing.raw"))
	assert.False(t, ok, "no file")
}
