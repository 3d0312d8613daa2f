// Package standard assembles the standard-boot disk image: a GPT disk
// with a BIOS boot partition (GRUB's core.img), an ESP holding GRUB's EFI
// image, grub.cfg, grubenv and each slot's kernel and initrd, and one
// root partition per A/B slot.
package standard

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// Partition names (GPT PARTLABEL) in the image.
const (
	BIOSBootName = "bios-boot"
	ESPName      = "esp"
	rootPrefix   = "root-"
)

// grubDir is where grub.cfg and grubenv live on the ESP.
const grubDir = "/grub"

// Slot is one A/B slot.
type Slot struct {
	// Name is the slot name, e.g. "a"; the menu entry is "hadron-<name>"
	// and the root partition "root-<name>".
	Name string
	// Kernel and Initrd are host paths copied to /hadron/<name>/ on the ESP.
	Kernel, Initrd string
	// Cmdline is appended to "root=PARTLABEL=root-<name> ro".
	Cmdline string
	// RootFS is a file system image for the slot's root partition;
	// empty leaves the partition zeroed (RootSize bytes).
	RootFS string
	// RootSize is the root partition size; 0 means the size of RootFS.
	RootSize int64
}

// archBoot is what differs per architecture: GRUB's EFI platform, the
// removable-media loader path on the ESP, the root partition type.
type archBoot struct {
	efi      grub.Platform
	loader   string
	rootType gpt.Type
	bios     bool
}

var arches = map[recipe.Arch]archBoot{
	recipe.ArchAMD64: {efi: grub.EFIx64, loader: "EFI/BOOT/BOOTX64.EFI", rootType: disk.TypeRootX86_64, bios: true},
	recipe.ArchARM64: {efi: grub.EFIArm64, loader: "EFI/BOOT/BOOTAA64.EFI", rootType: disk.TypeRootArm64},
}

// Spec describes a standard-boot disk image.
type Spec struct {
	// Name is the image name; with Epoch it seeds every GUID and the ESP
	// volume id.
	Name string
	// Arch is the architecture booted (GRUB's EFI platform, root
	// partition type); empty means amd64. BIOS boot is amd64 only.
	Arch recipe.Arch
	// Epoch is SOURCE_DATE_EPOCH.
	Epoch int64
	// Slots are the A/B slots; the first is the default unless Default says.
	Slots []Slot
	// Default is the default slot's name.
	Default string
	// Timeout is GRUB's menu timeout in seconds.
	Timeout int
	// Serial, when set, puts GRUB's menu on that serial port.
	Serial *grub.Serial
	// EFI and BIOS choose the boot loaders to install (at least one).
	EFI, BIOS bool
	// Env is the initial grubenv (e.g. saved_entry, next_entry).
	Env grub.Env
	// ESPSize is the ESP size; 0 sizes it from its content.
	ESPSize int64
	// GrubLib is GRUB's library directory holding the platform folders
	// (x86_64-efi/ and i386-pc/, or arm64-efi/); empty means /usr/lib/grub.
	GrubLib string
	// GrubMkimage is the grub-mkimage program; empty means grub-mkimage
	// on $PATH.
	GrubMkimage string
	// ESPTree, when set, is a directory that receives a copy of every
	// file put on the ESP, at the same path: the `<image>/boot` output.
	// It must be empty or not exist yet.
	ESPTree string
}

// Result describes a built image.
type Result struct {
	// Plan is the disk layout as written.
	Plan disk.Plan
	// ESP is the path of the ESP file system image (in the work dir).
	ESP string
	// ESPUUID is the ESP's volume id as GRUB searches for it.
	ESPUUID string
	// GrubCfg is the generated grub.cfg.
	GrubCfg []byte
}

var slotName = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

// EntryID is the GRUB menu entry id of a slot.
func EntryID(slot string) string { return "hadron-" + slot }

// RootLabel is the PARTLABEL of a slot's root partition.
func RootLabel(slot string) string { return rootPrefix + slot }

// GrubConfig returns the grub.cfg for spec.
func (s Spec) GrubConfig() grub.Config {
	cfg := grub.Config{Timeout: s.Timeout, Serial: s.Serial}
	if s.Default != "" {
		cfg.Default = EntryID(s.Default)
	}
	for _, sl := range s.Slots {
		cmdline := "root=PARTLABEL=" + RootLabel(sl.Name) + " ro"
		if sl.Cmdline != "" {
			cmdline += " " + sl.Cmdline
		}
		cfg.Entries = append(cfg.Entries, grub.Entry{
			ID:      EntryID(sl.Name),
			Title:   "Hadron (slot " + sl.Name + ")",
			Kernel:  "/hadron/" + sl.Name + "/vmlinuz",
			Initrd:  "/hadron/" + sl.Name + "/initrd.img",
			Cmdline: cmdline,
		})
	}
	return cfg
}

// Platforms returns the GRUB platforms a standard disk for arch is made
// from: its EFI platform, then i386-pc where BIOS boot exists (amd64).
func Platforms(arch recipe.Arch) ([]grub.Platform, error) {
	b, err := archBootFor(arch)
	if err != nil {
		return nil, err
	}
	if b.bios {
		return []grub.Platform{b.efi, grub.BIOS}, nil
	}
	return []grub.Platform{b.efi}, nil
}

// archBootFor returns arch's boot details; empty means amd64.
func archBootFor(arch recipe.Arch) (archBoot, error) {
	if arch == "" {
		arch = recipe.ArchAMD64
	}
	b, ok := arches[arch]
	if !ok {
		return archBoot{}, fmt.Errorf("no GRUB boot for arch %q (amd64, arm64)", arch)
	}
	return b, nil
}

// boot returns the spec's architecture's boot details.
func (s Spec) boot() (archBoot, error) {
	b, err := archBootFor(s.Arch)
	if err != nil {
		return archBoot{}, fmt.Errorf("standard image %s: %w", s.Name, err)
	}
	return b, nil
}

func (s Spec) validate() error {
	if !s.EFI && !s.BIOS {
		return fmt.Errorf("standard image %s: neither EFI nor BIOS boot chosen", s.Name)
	}
	b, err := s.boot()
	if err != nil {
		return err
	}
	if s.BIOS && !b.bios {
		return fmt.Errorf("standard image %s: BIOS boot is for amd64, not %s", s.Name, s.Arch)
	}
	if len(s.Slots) == 0 {
		return fmt.Errorf("standard image %s: no slots", s.Name)
	}
	for _, sl := range s.Slots {
		if !slotName.MatchString(sl.Name) {
			return fmt.Errorf("standard image %s: bad slot name %q (1-8 of a-z, 0-9)", s.Name, sl.Name)
		}
		if sl.Kernel == "" || sl.Initrd == "" {
			return fmt.Errorf("standard image %s: slot %s needs a kernel and an initrd", s.Name, sl.Name)
		}
		if sl.RootFS == "" && sl.RootSize <= 0 {
			return fmt.Errorf("standard image %s: slot %s needs a root file system or a root size", s.Name, sl.Name)
		}
	}
	return nil
}

// Build writes the disk image to out. Intermediate files (GRUB images,
// grub.cfg, grubenv, the ESP image) go into work, which must exist.
func Build(ctx context.Context, s Spec, work, out string) (Result, error) {
	if err := s.validate(); err != nil {
		return Result{}, err
	}
	ab, _ := s.boot()
	lib := s.GrubLib
	if lib == "" {
		lib = "/usr/lib/grub"
	}
	res := Result{ESP: filepath.Join(work, "esp.img")}
	volID := disk.VolumeID(s.Name, s.Epoch, ESPName)
	res.ESPUUID = disk.FormatVolumeID(volID)

	cfg, err := s.GrubConfig().Render()
	if err != nil {
		return res, fmt.Errorf("standard image %s: %w", s.Name, err)
	}
	res.GrubCfg = cfg
	envBlock, err := s.Env.Encode()
	if err != nil {
		return res, fmt.Errorf("standard image %s: %w", s.Name, err)
	}
	early, err := grub.EarlyConfig(res.ESPUUID, grubDir)
	if err != nil {
		return res, err
	}
	write := func(name string, data []byte) (string, error) {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", fmt.Errorf("standard image %s: %w", s.Name, err)
		}
		return p, nil
	}
	cfgPath, err := write("grub.cfg", cfg)
	if err != nil {
		return res, err
	}
	envPath, err := write("grubenv", envBlock)
	if err != nil {
		return res, err
	}

	files := []disk.File{
		{Path: "grub/grub.cfg", Source: cfgPath},
		{Path: "grub/grubenv", Source: envPath},
	}
	if s.EFI {
		efi := filepath.Join(work, filepath.Base(ab.loader))
		im := grub.Image{Platform: ab.efi, Prefix: grubDir, EarlyConfig: early,
			ModuleDir: filepath.Join(lib, string(ab.efi)), Tool: s.GrubMkimage}
		if err := im.Build(ctx, efi); err != nil {
			return res, fmt.Errorf("standard image %s: %w", s.Name, err)
		}
		files = append(files, disk.File{Path: ab.loader, Source: efi})
	}
	for _, sl := range s.Slots {
		files = append(files,
			disk.File{Path: "hadron/" + sl.Name + "/vmlinuz", Source: sl.Kernel},
			disk.File{Path: "hadron/" + sl.Name + "/initrd.img", Source: sl.Initrd})
	}
	esp := disk.FAT{Label: "HADRON-ESP", VolumeID: volID, Size: s.ESPSize, Epoch: s.Epoch, Files: files}
	if err := esp.Build(ctx, res.ESP); err != nil {
		return res, fmt.Errorf("standard image %s: ESP: %w", s.Name, err)
	}
	if s.ESPTree != "" {
		if err := writeTree(s.ESPTree, files, s.Epoch); err != nil {
			return res, fmt.Errorf("standard image %s: ESP tree: %w", s.Name, err)
		}
	}

	layout := disk.Layout{Name: s.Name, Epoch: s.Epoch}
	if s.BIOS {
		layout.Partitions = append(layout.Partitions, disk.Partition{Name: BIOSBootName, Type: disk.TypeBIOSBoot, Size: disk.MiB})
	}
	layout.Partitions = append(layout.Partitions, disk.Partition{Name: ESPName, Type: disk.TypeESP, Content: res.ESP})
	for _, sl := range s.Slots {
		layout.Partitions = append(layout.Partitions, disk.Partition{
			Name: RootLabel(sl.Name), Type: ab.rootType, Content: sl.RootFS, Size: sl.RootSize})
	}
	res.Plan, err = layout.Plan()
	if err != nil {
		return res, err
	}
	if err := disk.Write(out, res.Plan); err != nil {
		return res, err
	}
	if s.BIOS {
		if err := installBIOS(ctx, lib, s.GrubMkimage, early, res.Plan, work, out); err != nil {
			return res, fmt.Errorf("standard image %s: %w", s.Name, err)
		}
	}
	return res, nil
}

// installBIOS builds GRUB's i386-pc core image and installs it with
// boot.img into the disk at out.
func installBIOS(ctx context.Context, lib, tool string, early []byte, plan disk.Plan, work, out string) error {
	part, ok := plan.Find(BIOSBootName)
	if !ok {
		return fmt.Errorf("no %s partition", BIOSBootName)
	}
	modDir := filepath.Join(lib, string(grub.BIOS))
	corePath := filepath.Join(work, "core.img")
	im := grub.Image{Platform: grub.BIOS, Prefix: grubDir, EarlyConfig: early, ModuleDir: modDir, Tool: tool}
	if err := im.Build(ctx, corePath); err != nil {
		return err
	}
	core, err := os.ReadFile(corePath)
	if err != nil {
		return fmt.Errorf("read core.img: %w", err)
	}
	boot, err := os.ReadFile(filepath.Join(modDir, "boot.img"))
	if err != nil {
		return fmt.Errorf("read boot.img: %w", err)
	}
	f, err := os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open disk: %w", err)
	}
	err = grub.InstallBIOS(f, boot, core, part.Start, part.Sectors)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeTree copies files (ESP paths and their sources) under dir, which
// must be empty or absent, then stamps every file and folder there with
// the epoch: the ESP's content as a tree.
func writeTree(dir string, files []disk.File, epoch int64) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	at := time.Unix(epoch, 0)
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, at, at)
	})
}
