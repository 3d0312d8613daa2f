package rpi

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/tests/fixtures/fdt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRootCompatibleQEMUVirt reads a device tree made by a real tool:
// QEMU's arm64 virt machine dumps the one it gives its guests.
func TestRootCompatibleQEMUVirt(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-aarch64")
	if err != nil {
		t.Skip("qemu-system-aarch64 not installed (make deps): only the fixture device trees are read")
	}
	dtb := filepath.Join(t.TempDir(), "virt.dtb")
	out, err := exec.Command(qemu, "-machine", "virt,dumpdtb="+dtb, "-nographic").CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(dtb)
	require.NoError(t, err)
	compat, err := RootCompatible(data)
	require.NoError(t, err)
	assert.Equal(t, []string{"linux,dummy-virt"}, compat)
}

func TestRootCompatible(t *testing.T) {
	compat, err := RootCompatible(fdt.Root("Raspberry Pi 5 Model B", "raspberrypi,5-model-b", "brcm,bcm2712"))
	require.NoError(t, err)
	assert.Equal(t, []string{"raspberrypi,5-model-b", "brcm,bcm2712"}, compat)

	_, err = RootCompatible([]byte("MZ not a device tree, but long enough to have a header"))
	assert.ErrorContains(t, err, "not a flattened device tree")
	bad := fdt.Root("x", "y")
	binary.BigEndian.PutUint32(bad[4:], 1<<20) // totalsize past the end
	_, err = RootCompatible(bad)
	assert.ErrorContains(t, err, "points past its")
}

// bootTree writes a Pi 5 boot partition tree into a temp dir.
func bootTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := Config{Boards: []Board{Pi5}, Kernel: "kernel8.img", Initramfs: "initramfs.img", Cmdline: "console=ttyAMA10,115200 root=PARTUUID=01020304-02"}.ConfigTxt()
	require.NoError(t, err)
	files := map[string][]byte{
		"config.txt":          cfg,
		"cmdline.txt":         []byte("console=ttyAMA10,115200 root=PARTUUID=01020304-02\n"),
		"kernel8.img":         []byte("arm64 Image"),
		"initramfs.img":       []byte("initrd"),
		"bcm2712-rpi-5-b.dtb": fdt.Root("Raspberry Pi 5 Model B", "raspberrypi,5-model-b", "brcm,bcm2712"),
	}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	return dir
}

func TestCheckBootTree(t *testing.T) {
	require.NoError(t, CheckBootTree(bootTree(t), []Board{Pi5}))
	tests := []struct {
		name   string
		boards []Board
		edit   func(dir string)
		want   []string
	}{
		{"no boards", nil, func(string) {}, []string{"no boards"}},
		{"pi4 needs its firmware and its device tree", []Board{Pi4}, func(string) {},
			[]string{"board pi4 needs the firmware file start4.elf", "board pi4 needs the firmware file fixup4.dat", "board pi4 needs its device tree bcm2711-rpi-4-b.dtb"}},
		{"the Pi 4 device tree under the Pi 5 name", []Board{Pi5}, func(dir string) {
			write(t, dir, "bcm2712-rpi-5-b.dtb", fdt.Root("Raspberry Pi 4 Model B", "raspberrypi,4-model-b", "brcm,bcm2711"))
		}, []string{"bcm2712-rpi-5-b.dtb describes raspberrypi,4-model-b, brcm,bcm2711, not board pi5 (brcm,bcm2712)"}},
		{"kernel missing", []Board{Pi5}, func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "kernel8.img"))) },
			[]string{"config.txt names kernel8.img, which is not on the partition"}},
		{"initramfs missing", []Board{Pi5}, func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "initramfs.img"))) },
			[]string{"config.txt names initramfs.img, which is not on the partition"}},
		{"cmdline.txt missing", []Board{Pi5}, func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "cmdline.txt"))) },
			[]string{"cmdline.txt is missing"}},
		{"not a device tree", []Board{Pi5}, func(dir string) { write(t, dir, "bcm2712-rpi-5-b.dtb", []byte("no")) },
			[]string{"bcm2712-rpi-5-b.dtb: not a flattened device tree"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := bootTree(t)
			tt.edit(dir)
			err := CheckBootTree(dir, tt.boards)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
}

// TestBuildDisk builds a Pi 5 disk twice (same bytes) and reads it back:
// an MBR whose first partition is a FAT32 file system holding exactly the
// boot tree, readable by mtools, and whose second is an erofs root.
func TestBuildDisk(t *testing.T) {
	for _, tool := range []string{"mformat", "mcopy", "mdir", "mkfs.erofs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make deps: mtools, erofs-utils)", tool)
		}
	}
	boot := bootTree(t)
	root := t.TempDir()
	write(t, root, "hello", []byte("root file system"))
	var sums [][32]byte
	var img string
	var plan disk.MBRPlan
	for range 2 {
		work := t.TempDir()
		img = filepath.Join(work, "pi.raw")
		var err error
		plan, err = BuildDisk(t.Context(), DiskSpec{Name: "pi", Epoch: 1700000000, Boards: []Board{Pi5}, BootDir: boot, RootDir: root}, work, img)
		require.NoError(t, err)
		data, err := os.ReadFile(img)
		require.NoError(t, err)
		sums = append(sums, sha256.Sum256(data))
	}
	assert.Equal(t, sums[0], sums[1], "two builds differ")
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	require.Len(t, plan.Partitions, 2)
	assert.Equal(t, disk.MBRTypeFAT32LBA, data[0x1be+4], "partition 1: FAT32 LBA")
	assert.Equal(t, disk.MBRTypeLinux, data[0x1be+16+4], "partition 2: Linux")
	assert.Equal(t, RootPartUUID("pi", 1700000000), disk.MBRPartUUID(binary.LittleEndian.Uint32(data[0x1b8:]), 2))

	at := "@@" + itoa(int64(plan.Partitions[0].Start)*disk.SectorSize)
	ls, err := exec.Command("mdir", "-i", img+at, "-b", "::/").Output()
	require.NoError(t, err)
	got := strings.Fields(strings.ReplaceAll(string(ls), "::/", ""))
	sort.Strings(got)
	assert.Equal(t, []string{"bcm2712-rpi-5-b.dtb", "cmdline.txt", "config.txt", "initramfs.img", "kernel8.img"}, got)
	rootOff := int64(plan.Partitions[1].Start) * disk.SectorSize
	assert.Equal(t, uint32(0xe0f5e1e2), binary.LittleEndian.Uint32(data[rootOff+1024:]), "erofs superblock magic")

	_, err = BuildDisk(t.Context(), DiskSpec{Name: "pi", Boards: []Board{Pi4}, BootDir: boot, RootDir: root}, t.TempDir(), img)
	assert.ErrorContains(t, err, "board pi4 needs the firmware file start4.elf")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
