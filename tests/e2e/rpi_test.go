package e2e

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/rpi"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeRPiFixtureBoard adds to the tree at dir a kernel board, rpi5-mini:
// allnoconfig plus the BCM2712 platform (minutes to build, not the hour
// of rpi5's defconfig), shipping the real bcm2712-rpi-5-b.dtb from the
// kernel tree; an initrd image pi-rd (busybox); and images/pi5-check, a
// boot: rpi image of busybox and xz booted by them.
func writeRPiFixtureBoard(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, dir, "kernel/boards/rpi5-mini/board.yaml", `# Test fixture: the smallest kernel that ships the Pi 5's device tree.
name: rpi5-mini
description: allnoconfig with the BCM2712 platform, for structural tests of Pi images
arch: arm64
base: allnoconfig
fragments:
  - boards/rpi5-mini/rpi5-mini.config
dtbs:
  - broadcom/bcm2712-rpi-5-b.dtb
`)
	writeFile(t, dir, "kernel/boards/rpi5-mini/rpi5-mini.config", "CONFIG_ARCH_BCM=y\nCONFIG_ARCH_BCM2835=y\nCONFIG_ARCH_BRCMSTB=y\n")
	writeFile(t, dir, "images/pi-rd.yaml", "name: pi-rd\nkind: initrd\npackages: [busybox]\narches: [arm64]\n")
	writeFile(t, dir, "images/pi5-check.yaml", `name: pi5-check
packages: [busybox, xz]
arches: [arm64]
boot: rpi
kernel: linux@rpi5-mini
initrd: pi-rd
cmdline: console=ttyAMA10,115200 rootfstype=erofs ro
`)
}

// TestRPi5DiskFromFixtureBoard builds pi5-check/disk (a boot: rpi image on
// the rpi5-mini board, cross-built for arm64) through BuildKit and checks
// the SD card image the way the Pi 5 firmware and Linux read it
// (checkRPiDisk). Full tier: the arm64 cross toolchain is a long compile.
func TestRPi5DiskFromFixtureBoard(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	dir := copyTree(t)
	writeRPiFixtureBoard(t, dir)
	out := buildTo(t, e, dir, "pi5-check/disk", "linux/arm64")
	checkRPiDisk(t, filepath.Join(out, "pi5-check.raw"), "pi5-check", rpi.Pi5, []string{"initramfs.img"})
}

// TestRPi5Image builds images/rpi5's SD card image (Hadron's rpi5 kernel
// board: arm64 defconfig, hours on 2 cores cold) and checks it like the
// fixture's. Full tier.
func TestRPi5Image(t *testing.T) {
	harness.RequireFull(t)
	e := setup(t)
	out := buildTo(t, e, repoRoot(t), "rpi5/disk", "linux/arm64")
	checkRPiDisk(t, filepath.Join(out, "rpi5.raw"), "rpi5", rpi.Pi5, []string{"initramfs.img"})
}

// checkRPiDisk checks a Pi disk image for board: an MBR with the disk
// signature derived from image and the epoch, a bootable FAT32 LBA first
// partition holding exactly config.txt, cmdline.txt, kernel8.img, the
// board's device tree, its firmware files and extra, readable by mtools;
// config.txt naming the kernel and the initramfs and the board's section;
// cmdline.txt naming the root partition by PARTUUID; the device tree
// describing the board's SoC; kernel8.img an arm64 Image; and the second
// partition an erofs file system.
func checkRPiDisk(t *testing.T, img, image string, board rpi.Board, extra []string) {
	t.Helper()
	for _, tool := range []string{"mdir", "mcopy"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "%s (mtools) reads the boot partition: make deps installs it", tool)
	}
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	st, err := os.Stat(img)
	require.NoError(t, err)
	t.Logf("%s: %d MiB", filepath.Base(img), st.Size()>>20)
	require.Equal(t, []byte{0x55, 0xaa}, data[510:512], "an MBR")
	sig := binary.LittleEndian.Uint32(data[0x1b8:])
	assert.Equal(t, disk.MBRSignature(image, epoch), sig, "disk signature derived from the image name and the epoch")
	entry := func(i int) []byte { return data[0x1be+16*i : 0x1be+16*(i+1)] }
	assert.Equal(t, byte(0x80), entry(0)[0], "boot partition active")
	assert.Equal(t, disk.MBRTypeFAT32LBA, entry(0)[4], "boot partition: FAT32 LBA, what the firmware reads")
	assert.Equal(t, disk.MBRTypeLinux, entry(1)[4])
	bootOff := int64(binary.LittleEndian.Uint32(entry(0)[8:])) * disk.SectorSize
	rootOff := int64(binary.LittleEndian.Uint32(entry(1)[8:])) * disk.SectorSize
	at := img + "@@" + strconv.FormatInt(bootOff, 10)

	ls, err := exec.Command("mdir", "-i", at, "-b", "-/", "::/").CombinedOutput()
	require.NoError(t, err, "%s", ls)
	var files []string
	for _, f := range strings.Fields(string(ls)) {
		files = append(files, strings.TrimPrefix(f, "::/"))
	}
	sort.Strings(files)
	want := append([]string{"cmdline.txt", "config.txt", "kernel8.img", board.DTB()}, board.Firmware()...)
	want = append(want, extra...)
	sort.Strings(want)
	assert.Equal(t, want, files, "the boot partition holds exactly what the firmware loads")

	read := func(name string) []byte {
		b, err := exec.Command("mcopy", "-i", at, "-n", "::/"+name, "-").Output()
		require.NoError(t, err, "mcopy %s", name)
		return b
	}
	cfg := string(read("config.txt"))
	for _, line := range []string{"arm_64bit=1", "kernel=kernel8.img", "[" + string(board) + "]"} {
		assert.Contains(t, strings.Split(cfg, "\n"), line, "config.txt")
	}
	if slices.Contains(want, "initramfs.img") {
		assert.Contains(t, cfg, "initramfs initramfs.img followkernel\n")
		assert.Equal(t, []byte{0x1f, 0x8b}, read("initramfs.img")[:2], "initramfs.img is gzip")
	}
	cmdline := string(read("cmdline.txt"))
	assert.Contains(t, cmdline, "root=PARTUUID="+disk.MBRPartUUID(sig, 2), "cmdline.txt names the root partition")
	compat, err := rpi.RootCompatible(read(board.DTB()))
	require.NoError(t, err)
	assert.Contains(t, compat, board.SoC(), "the device tree is the board's")
	t.Logf("%s: compatible %s", board.DTB(), strings.Join(compat, ", "))
	kernel := read("kernel8.img")
	require.Greater(t, len(kernel), 0x40)
	assert.Equal(t, []byte("ARM\x64"), kernel[0x38:0x3c], "kernel8.img is an arm64 Image")
	for _, f := range files {
		assert.False(t, strings.HasPrefix(f, "start") && board == rpi.Pi5, "no closed firmware on a Pi 5 disk: %s", f)
	}
	assert.Equal(t, uint32(0xe0f5e1e2), binary.LittleEndian.Uint32(data[rootOff+1024:]), "the root partition is erofs")
	if fsck, err := exec.LookPath("fsck.erofs"); err == nil {
		root := filepath.Join(t.TempDir(), "root.img")
		require.NoError(t, os.WriteFile(root, data[rootOff:], 0o644))
		out, err := exec.Command(fsck, root).CombinedOutput()
		assert.NoError(t, err, "fsck.erofs: %s", out)
	}
}
