package grub

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Platform is a GRUB target platform, named as grub-mkimage's -O takes it.
type Platform string

// Platforms Hadron builds GRUB images for.
const (
	// EFIx64 is a UEFI application for amd64 (BOOTX64.EFI).
	EFIx64 Platform = "x86_64-efi"
	// EFIArm64 is a UEFI application for arm64 (BOOTAA64.EFI).
	EFIArm64 Platform = "arm64-efi"
	// BIOS is the i386-pc core image, loaded by boot.img from the MBR.
	BIOS Platform = "i386-pc"
)

// commonModules are embedded on every platform: enough to find the boot
// partition (GPT, FAT, ext2-family), run the generated grub.cfg (normal,
// test, echo, loadenv for grubenv), talk on the serial port and boot Linux.
var commonModules = []string{
	"boot", "configfile", "echo", "ext2", "fat", "gzio", "halt", "linux",
	"loadenv", "normal", "part_gpt", "part_msdos", "reboot", "search",
	"search_fs_uuid", "serial", "sleep", "terminal", "test", "true",
}

// DefaultModules returns the modules embedded into the image for p, in
// sorted order so that the image is reproducible.
func DefaultModules(p Platform) []string {
	m := slices.Clone(commonModules)
	switch p {
	case BIOS:
		m = append(m, "biosdisk")
	case EFIx64, EFIArm64:
		m = append(m, "efi_gop")
	}
	slices.Sort(m)
	return m
}

// Image describes one grub-mkimage run. Everything GRUB needs is
// embedded (modules and early config), so the boot partition holds no
// GRUB module directory.
type Image struct {
	// Platform is the target (-O).
	Platform Platform
	// Modules are embedded into the image; nil means DefaultModules.
	Modules []string
	// Prefix is the default $prefix (-p), used when EarlyConfig does not
	// set one.
	Prefix string
	// EarlyConfig is embedded (-c) and runs before normal loads grub.cfg.
	EarlyConfig []byte
	// ModuleDir is where the platform's .mod files are (-d); empty means
	// /usr/lib/grub/<platform>.
	ModuleDir string
	// Tool is the grub-mkimage binary; empty means "grub-mkimage" on $PATH.
	Tool string
}

func (im Image) modules() []string {
	if im.Modules != nil {
		return im.Modules
	}
	return DefaultModules(im.Platform)
}

// Args returns the grub-mkimage command line that writes the image to
// out, reading the early config from configPath.
func (im Image) Args(out, configPath string) ([]string, error) {
	switch im.Platform {
	case EFIx64, EFIArm64, BIOS:
	default:
		return nil, fmt.Errorf("grub-mkimage: unsupported platform %q", im.Platform)
	}
	if im.Prefix == "" || !strings.HasPrefix(im.Prefix, "/") && !strings.HasPrefix(im.Prefix, "(") {
		return nil, fmt.Errorf("grub-mkimage: prefix %q must be an absolute GRUB path", im.Prefix)
	}
	dir := im.ModuleDir
	if dir == "" {
		dir = filepath.Join("/usr/lib/grub", string(im.Platform))
	}
	tool := im.Tool
	if tool == "" {
		tool = "grub-mkimage"
	}
	args := []string{tool, "--format", string(im.Platform), "--directory", dir,
		"--prefix", im.Prefix, "--output", out}
	if configPath != "" {
		args = append(args, "--config", configPath)
	}
	mods := im.modules()
	if len(mods) == 0 {
		return nil, fmt.Errorf("grub-mkimage: no modules")
	}
	return append(args, mods...), nil
}

// Build runs grub-mkimage and writes the image to out.
func (im Image) Build(ctx context.Context, out string) error {
	tmp, err := os.MkdirTemp("", "hadron-grub-")
	if err != nil {
		return fmt.Errorf("grub-mkimage: %w", err)
	}
	defer os.RemoveAll(tmp)
	cfg := ""
	if len(im.EarlyConfig) > 0 {
		cfg = filepath.Join(tmp, "early.cfg")
		if err := os.WriteFile(cfg, im.EarlyConfig, 0o644); err != nil {
			return fmt.Errorf("grub-mkimage: write early config: %w", err)
		}
	}
	args, err := im.Args(out, cfg)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("grub-mkimage %s: %w: %s", im.Platform, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
