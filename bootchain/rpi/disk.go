package rpi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hadron-linux/hadron/bootchain/disk"
)

// The partitions of a Pi disk, in table order: the firmware reads the
// first, a FAT32 file system; Linux mounts the second as its root.
const (
	BootPartition = 1
	RootPartition = 2
)

// BootLabel is the boot partition's FAT volume label.
const BootLabel = "HADRON-BOOT"

// RootPartUUID is the PARTUUID of the root partition of the Pi disk of
// image built at epoch, for root=PARTUUID= on the kernel command line:
// the disk signature is derived from both, so it is known before the
// disk exists.
func RootPartUUID(image string, epoch int64) string {
	return disk.MBRPartUUID(disk.MBRSignature(image, epoch), RootPartition)
}

// DiskSpec describes a Raspberry Pi disk image.
type DiskSpec struct {
	// Name is the image name; with Epoch it seeds the disk signature,
	// the FAT volume id and the root file system's UUID.
	Name  string
	Epoch int64
	// Boards are the boards the disk boots; CheckBootTree checks each
	// one's files.
	Boards []Board
	// BootDir is the boot partition's tree: config.txt, cmdline.txt, the
	// kernel and initramfs config.txt names, the boards' device trees
	// and firmware.
	BootDir string
	// BootSize is the boot partition's size in bytes; 0 sizes it from
	// the content (at least 64 MiB).
	BootSize int64
	// RootDir is the root file system tree, packed as erofs with its
	// owners kept.
	RootDir string
}

// CheckBootTree checks that the boot partition tree under dir holds what
// the firmware of each board reads: config.txt and cmdline.txt, the
// kernel and initramfs config.txt names, the board's closed firmware
// files (Pi 4) and its device tree, which must describe that board's SoC.
// It returns every problem found.
func CheckBootTree(dir string, boards []Board) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	exists := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && st.Mode().IsRegular()
	}
	if len(boards) == 0 {
		fail("no boards")
	}
	for _, name := range []string{"config.txt", "cmdline.txt"} {
		if !exists(name) {
			fail("%s is missing", name)
		}
	}
	if cfg, err := os.ReadFile(filepath.Join(dir, "config.txt")); err == nil {
		for _, name := range namedFiles(cfg) {
			if !exists(name) {
				fail("config.txt names %s, which is not on the partition", name)
			}
		}
	}
	for _, b := range boards {
		if _, ok := boardInfo[b]; !ok {
			fail("unsupported board %q (pi4, pi5)", b)
			continue
		}
		for _, f := range b.Firmware() {
			if !exists(f) {
				fail("board %s needs the firmware file %s (from the Raspberry Pi firmware release), which is missing", b, f)
			}
		}
		dtb, err := os.ReadFile(filepath.Join(dir, b.DTB()))
		if err != nil {
			fail("board %s needs its device tree %s, which is missing", b, b.DTB())
			continue
		}
		compat, err := RootCompatible(dtb)
		switch {
		case err != nil:
			fail("%s: %v", b.DTB(), err)
		case !slices.Contains(compat, b.SoC()):
			fail("%s describes %s, not board %s (%s)", b.DTB(), strings.Join(compat, ", "), b, b.SoC())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("rpi boot partition %s: %w", dir, errors.Join(errs...))
	}
	return nil
}

// namedFiles returns the files config.txt makes the firmware load: the
// kernel= file and the initramfs one.
func namedFiles(cfg []byte) []string {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "kernel="); ok {
			names = append(names, v)
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "initramfs" {
			names = append(names, f[1])
		}
	}
	return names
}

// BuildDisk writes the Pi disk image to out: an MBR (the partition table
// the Pi 4 boot ROM and the Pi 4/5 EEPROM firmware read) with the boot
// partition (FAT32 LBA, the tree under s.BootDir, checked with
// CheckBootTree) first and the root file system (erofs) second; work
// holds the two partition images while they are built. It returns the
// partition plan.
func BuildDisk(ctx context.Context, s DiskSpec, work, out string) (disk.MBRPlan, error) {
	if err := CheckBootTree(s.BootDir, s.Boards); err != nil {
		return disk.MBRPlan{}, err
	}
	files, err := disk.TreeFiles(s.BootDir, "boot partition")
	if err != nil {
		return disk.MBRPlan{}, fmt.Errorf("rpi disk %s: %w", s.Name, err)
	}
	bootImg := filepath.Join(work, "boot.img")
	fat := disk.FAT{Label: BootLabel, VolumeID: disk.VolumeID(s.Name, s.Epoch, "boot"), Size: s.BootSize, Epoch: s.Epoch, Files: files}
	if err := fat.Build(ctx, bootImg); err != nil {
		return disk.MBRPlan{}, fmt.Errorf("rpi disk %s: boot partition: %w", s.Name, err)
	}
	rootImg := filepath.Join(work, "root.img")
	root := disk.RootFS{Type: disk.EROFS, Dir: s.RootDir, UUID: disk.GUID(s.Name, s.Epoch, "rootfs"), Epoch: s.Epoch, KeepOwners: true}
	if err := root.Build(ctx, rootImg); err != nil {
		return disk.MBRPlan{}, fmt.Errorf("rpi disk %s: root: %w", s.Name, err)
	}
	plan, err := disk.MBRLayout{Name: s.Name, Epoch: s.Epoch, Partitions: []disk.MBRPartition{
		{Name: "boot", Type: disk.MBRTypeFAT32LBA, Bootable: true, Content: bootImg},
		{Name: "root", Type: disk.MBRTypeLinux, Content: rootImg},
	}}.Plan()
	if err != nil {
		return disk.MBRPlan{}, err
	}
	if err := disk.WriteMBR(out, plan); err != nil {
		return disk.MBRPlan{}, err
	}
	return plan, nil
}
