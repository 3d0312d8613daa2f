package disk

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMBRLayoutReadBySfdisk writes a two-partition MBR disk (FAT32 boot
// partition, Linux root) and reads it back with util-linux's sfdisk: the
// disk label, signature, types, positions and the content of each
// partition must be what the plan says.
func TestMBRLayoutReadBySfdisk(t *testing.T) {
	sfdisk, err := exec.LookPath("sfdisk")
	if err != nil {
		t.Skip("sfdisk (util-linux) not installed: the MBR is checked by the byte test only")
	}
	dir := t.TempDir()
	boot := filepath.Join(dir, "boot.img")
	root := filepath.Join(dir, "root.img")
	require.NoError(t, os.WriteFile(boot, append([]byte("BOOT"), make([]byte, 3*MiB-4)...), 0o644))
	require.NoError(t, os.WriteFile(root, []byte("ROOT"), 0o644))
	plan, err := MBRLayout{Name: "pi", Epoch: 1700000000, Partitions: []MBRPartition{
		{Name: "boot", Type: MBRTypeFAT32LBA, Bootable: true, Content: boot},
		{Name: "root", Type: MBRTypeLinux, Content: root},
	}}.Plan()
	require.NoError(t, err)
	img := filepath.Join(dir, "disk.img")
	require.NoError(t, WriteMBR(img, plan))

	out, err := exec.Command(sfdisk, "--json", img).Output()
	require.NoError(t, err)
	var dump struct {
		PartitionTable struct {
			Label      string `json:"label"`
			ID         string `json:"id"`
			Partitions []struct {
				Start    uint32 `json:"start"`
				Size     uint32 `json:"size"`
				Type     string `json:"type"`
				Bootable bool   `json:"bootable"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	require.NoError(t, json.Unmarshal(out, &dump))
	pt := dump.PartitionTable
	assert.Equal(t, "dos", pt.Label)
	assert.Equal(t, "0x"+MBRPartUUID(plan.Signature, 1)[:8], pt.ID)
	require.Len(t, pt.Partitions, 2)
	assert.Equal(t, uint32(2048), pt.Partitions[0].Start, "1 MiB aligned")
	assert.Equal(t, uint32(3*MiB/SectorSize), pt.Partitions[0].Size)
	assert.Equal(t, "c", pt.Partitions[0].Type)
	assert.True(t, pt.Partitions[0].Bootable)
	assert.Equal(t, uint32(4*MiB/SectorSize), pt.Partitions[1].Start)
	assert.Equal(t, uint32(MiB/SectorSize), pt.Partitions[1].Size, "rounded up to 1 MiB")
	assert.Equal(t, "83", pt.Partitions[1].Type)
	assert.Equal(t, int64(5*MiB), plan.Size)

	data, err := os.ReadFile(img)
	require.NoError(t, err)
	assert.Equal(t, "BOOT", string(data[MiB:MiB+4]))
	assert.Equal(t, "ROOT", string(data[4*MiB:4*MiB+4]))
}

// TestMBRSignatureDerived: the signature depends on the image name and the
// epoch only, so the PARTUUIDs are known before the disk is built.
func TestMBRSignatureDerived(t *testing.T) {
	a := MBRSignature("rpi5", 0)
	assert.Equal(t, a, MBRSignature("rpi5", 0))
	assert.NotEqual(t, a, MBRSignature("rpi5", 1))
	assert.NotEqual(t, a, MBRSignature("rpi4", 0))
	assert.Regexp(t, `^[0-9a-f]{8}-02$`, MBRPartUUID(a, 2))
}

func TestMBRLayoutErrors(t *testing.T) {
	tests := []struct {
		name   string
		layout MBRLayout
		want   string
	}{
		{"no name", MBRLayout{Partitions: []MBRPartition{{Name: "a", Type: 0x83, Size: MiB}}}, "no image name"},
		{"five", MBRLayout{Name: "x", Partitions: make([]MBRPartition, 5)}, "5 partitions (1 to 4 primary partitions)"},
		{"no size", MBRLayout{Name: "x", Partitions: []MBRPartition{{Name: "a", Type: 0x83}}}, "partition a: no size and no content"},
		{"no type", MBRLayout{Name: "x", Partitions: []MBRPartition{{Name: "a", Size: MiB}}}, "partition a: no type"},
		{"too big", MBRLayout{Name: "x", Partitions: []MBRPartition{{Name: "a", Type: 0x83, Size: 1 << 41}}}, "beyond 2 TiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.layout.Plan()
			assert.ErrorContains(t, err, tt.want)
		})
	}
}
