package rpi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hadron-linux/hadron/bootchain/disk"
)

// Partition is a Raspberry Pi boot partition built from host files.
type Partition struct {
	// Config is written as config.txt and cmdline.txt; its Kernel and
	// Initramfs name the files Kernel and Initrd are copied to.
	Config Config
	// Kernel is the arm64 kernel image (host path).
	Kernel string
	// Initrd is the initramfs (host path); needed when Config.Initramfs is set.
	Initrd string
	// Firmware are the firmware files (host paths), copied to the root
	// under their base names; each board's required files must be there.
	Firmware []string
	// DTBs are device trees (host paths), copied to the root under their
	// base names; each board's DTB must be there.
	DTBs []string
	// Overlays are device tree overlays (host paths), copied to overlays/.
	Overlays []string
	// Label, VolumeID, Size and Epoch are as in disk.FAT.
	Label    string
	VolumeID uint32
	Size     int64
	Epoch    int64
}

// Files returns the file list of the partition, given where config.txt
// and cmdline.txt were written. It checks that every board has its
// firmware and device tree.
func (p Partition) Files(configTxt, cmdlineTxt string) ([]disk.File, error) {
	if err := p.Config.Validate(); err != nil {
		return nil, err
	}
	if p.Kernel == "" {
		return nil, fmt.Errorf("rpi partition: no kernel")
	}
	files := []disk.File{
		{Path: "config.txt", Source: configTxt},
		{Path: "cmdline.txt", Source: cmdlineTxt},
		{Path: p.Config.Kernel, Source: p.Kernel},
	}
	if p.Config.Initramfs != "" {
		if p.Initrd == "" {
			return nil, fmt.Errorf("rpi partition: config names initramfs %s but no initrd is given", p.Config.Initramfs)
		}
		files = append(files, disk.File{Path: p.Config.Initramfs, Source: p.Initrd})
	}
	var names []string
	for _, src := range append(slices.Clone(p.Firmware), p.DTBs...) {
		name := filepath.Base(src)
		names = append(names, name)
		files = append(files, disk.File{Path: name, Source: src})
	}
	for _, src := range p.Overlays {
		files = append(files, disk.File{Path: "overlays/" + filepath.Base(src), Source: src})
	}
	for _, b := range p.Config.Boards {
		info := boardInfo[b]
		for _, need := range append(slices.Clone(info.firmware), info.dtb) {
			if !slices.Contains(names, need) {
				return nil, fmt.Errorf("rpi partition: board %s needs %s, which is not among the firmware files and DTBs", b, need)
			}
		}
	}
	return files, nil
}

// Build writes config.txt and cmdline.txt into work and the FAT32
// partition image to out.
func (p Partition) Build(ctx context.Context, work, out string) error {
	cfg, err := p.Config.ConfigTxt()
	if err != nil {
		return err
	}
	cmdline, err := p.Config.CmdlineTxt()
	if err != nil {
		return err
	}
	cfgPath, cmdPath := filepath.Join(work, "config.txt"), filepath.Join(work, "cmdline.txt")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return fmt.Errorf("rpi partition: %w", err)
	}
	if err := os.WriteFile(cmdPath, cmdline, 0o644); err != nil {
		return fmt.Errorf("rpi partition: %w", err)
	}
	files, err := p.Files(cfgPath, cmdPath)
	if err != nil {
		return err
	}
	fat := disk.FAT{Label: p.Label, VolumeID: p.VolumeID, Size: p.Size, Epoch: p.Epoch, Files: files}
	if err := fat.Build(ctx, out); err != nil {
		return fmt.Errorf("rpi partition: %w", err)
	}
	return nil
}
