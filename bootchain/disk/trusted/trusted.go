// Package trusted assembles the disk of a trusted-boot image, the shape
// systemd boots with a signed UKI and a dm-verity protected root:
//
//	GPT  1 esp                  FAT32: EFI/BOOT/BOOTX64.EFI (signed systemd-boot),
//	                            EFI/Linux/<image>.efi (signed UKI), loader/loader.conf
//	     2 root-<arch>          erofs of the whole root file system, read-only
//	     3 root-<arch>-verity   its dm-verity hash device
//
// The root hash goes on the UKI's (signed, measured) command line as
// roothash=; the two root partitions' UUIDs are its first and last 128
// bits, so systemd-veritysetup-generator in the initrd finds them from the
// hash alone, and a changed byte anywhere in the root fails the read of
// its block. Every identifier comes from the image name, the epoch and the
// content: the same inputs give the same bytes.
//
// The root is built first (BuildRoot: its root hash is an input of the
// UKI), the disk last (Build).
package trusted

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/hadron-linux/hadron/bootchain/ddi"
	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// PartTypes are one architecture's Discoverable Partitions Specification
// types of the root partition and its verity partition.
type PartTypes struct {
	// Arch is the specification's architecture name, used in the
	// partition names ("x86-64").
	Arch string
	// Root and Verity are the partition type GUIDs.
	Root, Verity gpt.Type
}

// Types are the root partition types by Hadron architecture.
var Types = map[recipe.Arch]PartTypes{
	recipe.ArchAMD64: {Arch: "x86-64", Root: disk.TypeRootX86_64, Verity: "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"},
	recipe.ArchARM64: {Arch: "arm64", Root: disk.TypeRootArm64, Verity: "DF3300CE-D69F-4C92-978C-9BFB0F38D820"},
}

// The files BuildRoot writes into its output folder, which Build reads.
const (
	// RootImage is the erofs root file system, padded to whole verity
	// blocks.
	RootImage = "root.img"
	// VerityImage is the dm-verity hash device of RootImage.
	VerityImage = "root.verity"
	// RootHashFile holds the root hash in lower-case hex and a newline.
	RootHashFile = "roothash"
)

// ESPName is the GPT name of the EFI System Partition.
const ESPName = "esp"

// readOnly is GPT attribute bit 60, which the Discoverable Partitions
// Specification sets on partitions mounted read-only.
const readOnly = uint64(1) << 60

// RootSpec describes a verity-protected root file system.
type RootSpec struct {
	// Name is the image name; with Epoch it seeds the file system UUID.
	Name string
	// Dir is the root file system tree. Owners and groups are kept.
	Dir string
	// Epoch is SOURCE_DATE_EPOCH: every time in the file system.
	Epoch int64
}

// BuildRoot packs spec.Dir as erofs and computes its dm-verity hash
// device, writing RootImage, VerityImage and RootHashFile into outDir. It
// returns the root hash.
func BuildRoot(ctx context.Context, spec RootSpec, outDir string) ([]byte, error) {
	if spec.Name == "" {
		return nil, fmt.Errorf("verity root: no image name")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("verity root %s: %w", spec.Name, err)
	}
	raw := filepath.Join(outDir, RootImage+".tmp")
	defer os.Remove(raw)
	fsys := disk.RootFS{Type: disk.EROFS, Dir: spec.Dir, UUID: disk.GUID(spec.Name, spec.Epoch, "root"),
		Epoch: spec.Epoch, KeepOwners: true}
	if err := fsys.Build(ctx, raw); err != nil {
		return nil, fmt.Errorf("verity root %s: %w", spec.Name, err)
	}
	data, err := os.ReadFile(raw)
	if err != nil {
		return nil, fmt.Errorf("verity root %s: %w", spec.Name, err)
	}
	data, hashDev, root, err := ddi.VerityPair(data)
	if err != nil {
		return nil, fmt.Errorf("verity root %s: %w", spec.Name, err)
	}
	for name, b := range map[string][]byte{
		RootImage:    data,
		VerityImage:  hashDev,
		RootHashFile: []byte(hex.EncodeToString(root) + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(outDir, name), b, 0o644); err != nil {
			return nil, fmt.Errorf("verity root %s: %w", spec.Name, err)
		}
	}
	return root, nil
}

// ReadRootHash reads a RootHashFile: a SHA-256 root hash in hex.
func ReadRootHash(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("root hash: %w", err)
	}
	s := strings.TrimSpace(string(b))
	h, err := hex.DecodeString(s)
	if err != nil || len(h) != 32 {
		return nil, fmt.Errorf("root hash %s: %q is not a SHA-256 hash in hex", file, s)
	}
	return h, nil
}

// CmdlineArg is the kernel command line argument naming root hash h.
func CmdlineArg(h []byte) string { return "roothash=" + hex.EncodeToString(h) }

// Spec describes a trusted-boot disk.
type Spec struct {
	// Name is the image name; with Epoch it seeds the disk and ESP
	// identifiers.
	Name  string
	Epoch int64
	// Arch selects the root partition types.
	Arch recipe.Arch
	// ESPDir is the ESP tree (regular files and folders only).
	ESPDir string
	// ESPSize is the ESP's size in bytes; 0 sizes it from the content.
	ESPSize int64
	// RootDir is BuildRoot's output folder.
	RootDir string
}

// Build writes the disk image to out; work holds the ESP image while it
// is built. It returns the partition plan.
func Build(ctx context.Context, s Spec, work, out string) (disk.Plan, error) {
	types, ok := Types[s.Arch]
	if !ok {
		return disk.Plan{}, fmt.Errorf("trusted disk %s: no root partition types for arch %q", s.Name, s.Arch)
	}
	files, err := disk.TreeFiles(s.ESPDir, "ESP")
	if err != nil {
		return disk.Plan{}, fmt.Errorf("trusted disk %s: %w", s.Name, err)
	}
	root, err := ReadRootHash(filepath.Join(s.RootDir, RootHashFile))
	if err != nil {
		return disk.Plan{}, fmt.Errorf("trusted disk %s: %w", s.Name, err)
	}
	espImg := filepath.Join(work, "esp.img")
	esp := disk.FAT{Label: "HADRON-ESP", VolumeID: disk.VolumeID(s.Name, s.Epoch, ESPName), Size: s.ESPSize, Epoch: s.Epoch, Files: files}
	if err := esp.Build(ctx, espImg); err != nil {
		return disk.Plan{}, fmt.Errorf("trusted disk %s: ESP: %w", s.Name, err)
	}
	dataUUID, hashUUID := ddi.UUIDsOf(root)
	layout := disk.Layout{Name: s.Name, Epoch: s.Epoch, Partitions: []disk.Partition{
		{Name: ESPName, Type: disk.TypeESP, Content: espImg},
		{Name: "root-" + types.Arch, Type: types.Root, Content: filepath.Join(s.RootDir, RootImage),
			GUID: dataUUID, Attributes: readOnly},
		{Name: "root-" + types.Arch + "-verity", Type: types.Verity, Content: filepath.Join(s.RootDir, VerityImage),
			GUID: hashUUID, Attributes: readOnly},
	}}
	plan, err := layout.Plan()
	if err != nil {
		return disk.Plan{}, err
	}
	if err := disk.Write(out, plan); err != nil {
		return disk.Plan{}, err
	}
	return plan, nil
}

// Verify checks a trusted disk the way the booted system uses it: the
// root and verity partitions of arch's types are there, the root
// partition hashes (with the salt its hash device's superblock records)
// to a root hash whose halves are the two partitions' UUIDs, and the
// verity partition holds that hash tree. It returns the root hash, which
// must equal the one on the UKI's signed command line.
func Verify(img string, arch recipe.Arch) ([]byte, error) {
	types, ok := Types[arch]
	if !ok {
		return nil, fmt.Errorf("verify %s: no root partition types for arch %q", img, arch)
	}
	f, err := os.Open(img)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	table, err := gpt.Read(f, disk.SectorSize, disk.SectorSize)
	if err != nil {
		return nil, fmt.Errorf("verify %s: partition table: %w", img, err)
	}
	find := func(typ gpt.Type) (*gpt.Partition, []byte, error) {
		for _, p := range table.Partitions {
			if strings.EqualFold(string(p.Type), string(typ)) {
				b := make([]byte, p.Size)
				if _, err := f.ReadAt(b, int64(p.Start)*disk.SectorSize); err != nil {
					return nil, nil, fmt.Errorf("partition %s: %w", p.Name, err)
				}
				return p, b, nil
			}
		}
		return nil, nil, fmt.Errorf("no partition of type %s", typ)
	}
	rootPart, data, err := find(types.Root)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	hashPart, hashes, err := find(types.Verity)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	root, err := ddi.CheckHashDevice(data, hashes, nil)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	dataUUID, hashUUID := ddi.UUIDsOf(root)
	if !strings.EqualFold(rootPart.GUID, dataUUID) || !strings.EqualFold(hashPart.GUID, hashUUID) {
		return nil, fmt.Errorf("verify %s: partition UUIDs %s, %s are not the halves of root hash %x (%s, %s): systemd would not find them",
			img, rootPart.GUID, hashPart.GUID, root, dataUUID, hashUUID)
	}
	return root, nil
}
