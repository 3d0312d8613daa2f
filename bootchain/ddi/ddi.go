// Package ddi builds signed system extension images: Discoverable Disk
// Images (UAPI Group's Discoverable Partitions Specification) holding a
// /usr tree as a read-only file system, its dm-verity hash tree and a
// signature of the root hash, the shape systemd-repart makes and
// systemd-sysext(8) merges and verifies:
//
//	GPT  1 usr-<arch>             erofs or squashfs of the tree's usr/
//	     2 usr-<arch>-verity      veritysetup hash device (bootchain/verity)
//	     3 usr-<arch>-verity-sig  {"rootHash","certificateFingerprint","signature"}
//
// Partition UUIDs come from the root hash as systemd-repart derives them
// (the data partition's is the hash's first 128 bits, the hash
// partition's the last 128), so systemd finds the pair from the hash
// alone; everything else is derived from the content too, so the image's
// bytes depend on the tree, the key and SOURCE_DATE_EPOCH only.
package ddi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/google/uuid"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/verity"
	"github.com/hadron-linux/hadron/internal/recipe"
)

// PartTypes are the Discoverable Partitions Specification types of one
// architecture's /usr partitions.
type PartTypes struct {
	// Arch is the specification's name of the architecture ("x86-64"),
	// also what extension-release's ARCHITECTURE= takes.
	Arch string
	// Usr, Verity and Signature are the partition type GUIDs.
	Usr, Verity, Signature gpt.Type
}

// Types are the partition types by Hadron architecture.
var Types = map[recipe.Arch]PartTypes{
	recipe.ArchAMD64: {
		Arch:      "x86-64",
		Usr:       "8484680C-9521-48C6-9C11-B0720656F69E",
		Verity:    "77FF5F63-E7B6-4633-ACF4-1565B864C0E6",
		Signature: "E7BB33FB-06CF-4E81-8273-E543B413E2E2",
	},
	recipe.ArchARM64: {
		Arch:      "arm64",
		Usr:       "B0E01050-EE5F-4390-949A-9101B17104E9",
		Verity:    "6E11A4E7-FBCA-4DED-B9E9-E1A512BB664E",
		Signature: "C23CE4FF-44BD-4B00-B2D4-B41B3419E02A",
	},
}

// FS is the file system of the usr partition.
type FS string

// File systems systemd-sysext mounts.
const (
	// Auto is EROFS when mkfs.erofs is on PATH, else Squashfs.
	Auto FS = ""
	// EROFS is made with mkfs.erofs (bootchain/disk).
	EROFS FS = FS(disk.EROFS)
	// Squashfs is made in-process (go-diskfs, gzip).
	Squashfs FS = FS(disk.Squashfs)
)

// ReleaseDir is where a system extension's release file lives inside the
// tree: extension-release.<name> in it.
const ReleaseDir = "usr/lib/extension-release.d"

// ReleaseFile is the path of extension name's release file in the tree.
func ReleaseFile(name string) string { return ReleaseDir + "/extension-release." + name }

// Options describe one system extension image.
type Options struct {
	// Name is the extension's name: the image must be installed as
	// <Name>.raw, and the tree must hold ReleaseFile(Name).
	Name string
	// Arch selects the partition types.
	Arch recipe.Arch
	// Dir is the tree: usr/ and nothing else (a usr-only image has no
	// partition for anything outside /usr).
	Dir string
	// FS is the usr partition's file system (Auto picks one).
	FS FS
	// Epoch is SOURCE_DATE_EPOCH: every time in the image.
	Epoch int64
	// Signer signs the root hash.
	Signer *secureboot.KeyPair
}

// Partition is one partition of a built image.
type Partition struct {
	// Name is the GPT partition name.
	Name string
	// Type and UUID are the partition's type and unique GUIDs.
	Type gpt.Type
	UUID string
	// Offset and Size are in bytes.
	Offset, Size int64
}

// Result describes a built image.
type Result struct {
	// FS is the usr partition's file system.
	FS FS
	// RootHash is the verity root hash.
	RootHash []byte
	// Size is the image size in bytes.
	Size int64
	// DiskUUID is the GPT disk GUID.
	DiskUUID string
	// Partitions are usr, verity and signature, in table order.
	Partitions []Partition
}

const (
	sector = disk.SectorSize
	// firstOffset is where the first partition starts, after the
	// primary GPT: 1 MiB, as partitioning tools align.
	firstOffset = 1 << 20
	// gptBackup is the room the backup GPT takes at the end (header and
	// 128 entries of 128 bytes).
	gptBackup = 33 * sector
	// readOnly is GPT attribute bit 60, which the specification sets on
	// partitions mounted read-only.
	readOnly = uint64(1) << 60
)

// namespace is the UUIDv5 namespace of the identifiers derived here.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/hadron-linux/hadron/bootchain/ddi"))

// Build writes the signed image to out. work is a directory for the
// intermediate file system and hash device (a temporary one when empty).
func Build(ctx context.Context, out string, o Options) (*Result, error) {
	types, ok := Types[o.Arch]
	if !ok {
		return nil, fmt.Errorf("sysext %s: no partition types for arch %q", o.Name, o.Arch)
	}
	if o.Signer == nil {
		return nil, fmt.Errorf("sysext %s: no signing key", o.Name)
	}
	if err := CheckTree(o.Dir, o.Name); err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	fsType := o.FS
	if fsType == Auto {
		fsType = Squashfs
		if _, err := exec.LookPath("mkfs.erofs"); err == nil {
			fsType = EROFS
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".sysext-")
	if err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	defer os.RemoveAll(tmp)

	// The usr file system, zero-padded to whole verity blocks.
	fsImg := filepath.Join(tmp, "usr.img")
	usr := filepath.Join(o.Dir, "usr")
	switch fsType {
	case EROFS:
		err = disk.RootFS{Type: disk.EROFS, Dir: usr, UUID: disk.GUID(o.Name, o.Epoch, "usr"), Epoch: o.Epoch}.Build(ctx, fsImg)
	case Squashfs:
		err = writeSquashfs(usr, fsImg, o.Epoch)
	default:
		err = fmt.Errorf("unsupported file system %q (erofs, squashfs)", fsType)
	}
	if err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	data, err := os.ReadFile(fsImg)
	if err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	data, hashDev, rootHash, err := VerityPair(data)
	if err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	sig, err := SignRootHash(rootHash, o.Signer)
	if err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	sigPart, err := sig.Partition()
	if err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}

	res := &Result{FS: fsType, RootHash: rootHash}
	root := rootHash
	res.DiskUUID = uuid.NewSHA1(namespace, append([]byte("disk\x00"), root...)).String()
	contents := [][]byte{data, hashDev, sigPart}
	parts := []struct {
		suffix string
		typ    gpt.Type
		uuid   string
		attrs  uint64
	}{
		{"", types.Usr, uuidOf(root[:16]), readOnly},
		{"-verity", types.Verity, uuidOf(root[16:32]), readOnly},
		{"-verity-sig", types.Signature, uuid.NewSHA1(namespace, append([]byte("usr-verity-sig\x00"), root...)).String(), readOnly},
	}
	table := &gpt.Table{LogicalSectorSize: sector, PhysicalSectorSize: sector, ProtectiveMBR: true, GUID: res.DiskUUID}
	off := int64(firstOffset)
	for i, p := range parts {
		size := int64(len(contents[i]))
		name := "usr-" + types.Arch + p.suffix
		res.Partitions = append(res.Partitions, Partition{Name: name, Type: p.typ, UUID: p.uuid, Offset: off, Size: size})
		table.Partitions = append(table.Partitions, &gpt.Partition{
			Index: i + 1, Start: uint64(off / sector), End: uint64((off+size)/sector - 1), Size: uint64(size),
			Type: p.typ, Name: name, GUID: p.uuid, Attributes: p.attrs,
		})
		off += size
	}
	res.Size = (off + gptBackup + verity.BlockSize - 1) / verity.BlockSize * verity.BlockSize
	if err := writeImage(out, res, table, contents); err != nil {
		return nil, fmt.Errorf("sysext %s: %w", o.Name, err)
	}
	return res, nil
}

// VerityPair pads a file system image to whole verity blocks and computes
// its dm-verity hash device and root hash (SHA-256, 4 KiB blocks). The
// salt and the hash device's UUID are derived from the content, so the
// same file system always gives the same pair. It returns the padded
// data.
func VerityPair(data []byte) (padded, hashDev, rootHash []byte, err error) {
	if pad := (verity.BlockSize - len(data)%verity.BlockSize) % verity.BlockSize; pad > 0 {
		data = append(data, make([]byte, pad)...)
	}
	sum := sha256.Sum256(data)
	salt := sha256.Sum256(append([]byte("hadron verity salt\x00"), sum[:]...))
	tree, err := verity.Compute(bytes.NewReader(data), int64(len(data)), salt[:])
	if err != nil {
		return nil, nil, nil, err
	}
	var dev bytes.Buffer
	if err := tree.WriteHashDevice(&dev, uuid.NewSHA1(namespace, append([]byte("verity\x00"), salt[:]...))); err != nil {
		return nil, nil, nil, err
	}
	return data, dev.Bytes(), tree.RootHash, nil
}

// UUIDsOf are the partition UUIDs of a verity pair with root hash h, as
// systemd derives them: the data partition's is the hash's first 128
// bits, the hash partition's its last 128 (systemd-veritysetup-generator
// finds both from roothash= alone).
func UUIDsOf(h []byte) (data, hash string) { return uuidOf(h[:16]), uuidOf(h[len(h)-16:]) }

// uuidOf formats 16 bytes as a UUID, unchanged (no version bits): how
// systemd-repart turns root hash halves into partition UUIDs.
func uuidOf(b []byte) string { return uuid.UUID(b).String() }

func writeImage(out string, res *Result, table *gpt.Table, contents [][]byte) error {
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = func() error {
		if err := f.Truncate(res.Size); err != nil {
			return err
		}
		if err := table.Write(f, res.Size); err != nil {
			return fmt.Errorf("partition table: %w", err)
		}
		for i, p := range res.Partitions {
			if _, err := f.WriteAt(contents[i], p.Offset); err != nil {
				return fmt.Errorf("partition %s: %w", p.Name, err)
			}
		}
		return f.Close()
	}()
	if err != nil {
		f.Close()
		return err
	}
	return os.Rename(tmp, out)
}

// CheckTree checks that dir holds usr/ and nothing else, and that
// usr/lib/extension-release.d/extension-release.<name> is a regular file
// with an ID= line.
func CheckTree(dir, name string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	var other []string
	for _, e := range entries {
		if e.Name() != "usr" {
			other = append(other, "/"+e.Name())
		}
	}
	if len(other) > 0 {
		return fmt.Errorf("tree %s: %s outside /usr: a system extension image has a /usr partition only", dir, strings.Join(other, ", "))
	}
	rel := filepath.Join(dir, ReleaseFile(name))
	st, err := os.Lstat(rel)
	if err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("tree %s: no %s (systemd-sysext refuses an extension without it)", dir, ReleaseFile(name))
	}
	f, err := os.Open(rel)
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ID="); ok && strings.Trim(v, `"' `) != "" {
			return nil
		}
	}
	return fmt.Errorf("tree %s: %s has no ID= line (systemd-sysext matches it against the base's os-release)", dir, ReleaseFile(name))
}

// RootHashHex is the result's root hash in lower-case hex.
func (r *Result) RootHashHex() string { return hex.EncodeToString(r.RootHash) }

// Verify checks an image the way systemd does before it merges one: the
// GPT's usr, usr-verity and usr-verity-sig partitions for arch, the
// signature by cert over the root hash, and the hash tree recomputed from
// the usr partition with the superblock's salt giving that root hash (the
// kernel checks each block as it is read; this reads them all). It
// returns the root hash.
func Verify(img string, arch recipe.Arch, cert *x509.Certificate) ([]byte, error) {
	types, ok := Types[arch]
	if !ok {
		return nil, fmt.Errorf("verify %s: no partition types for arch %q", img, arch)
	}
	f, err := os.Open(img)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	table, err := gpt.Read(f, sector, sector)
	if err != nil {
		return nil, fmt.Errorf("verify %s: partition table: %w", img, err)
	}
	read := func(typ gpt.Type) ([]byte, error) {
		for _, p := range table.Partitions {
			if strings.EqualFold(string(p.Type), string(typ)) {
				b := make([]byte, p.Size)
				if _, err := f.ReadAt(b, int64(p.Start)*sector); err != nil {
					return nil, fmt.Errorf("partition %s: %w", p.Name, err)
				}
				return b, nil
			}
		}
		return nil, fmt.Errorf("no partition of type %s", typ)
	}
	usr, err := read(types.Usr)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	hashes, err := read(types.Verity)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	sigPart, err := read(types.Signature)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	sig, err := ParseSignature(sigPart)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	if err := sig.Verify(cert); err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	want, err := hex.DecodeString(sig.RootHash)
	if err != nil {
		return nil, fmt.Errorf("verify %s: signed root hash %q: %w", img, sig.RootHash, err)
	}
	root, err := CheckHashDevice(usr, hashes, want)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", img, err)
	}
	return root, nil
}

// CheckHashDevice recomputes the dm-verity hash tree of data with the
// parameters and salt that the hash device's superblock records, checks
// that hashes holds exactly that tree, and returns its root hash: every
// block of data is read, as the kernel would on access. With want set,
// a different root hash is an error first (the data was modified).
func CheckHashDevice(data, hashes, want []byte) ([]byte, error) {
	var sb verity.Superblock
	if err := sb.UnmarshalBinary(hashes); err != nil {
		return nil, err
	}
	if sb.Algorithm != verity.Algorithm || sb.DataBlockSize != verity.BlockSize || sb.HashBlockSize != verity.BlockSize ||
		sb.DataBlocks*verity.BlockSize > uint64(len(data)) {
		return nil, fmt.Errorf("verity superblock %s, blocks %d/%d, %d data blocks: not what this image holds",
			sb.Algorithm, sb.DataBlockSize, sb.HashBlockSize, sb.DataBlocks)
	}
	size := int64(sb.DataBlocks) * verity.BlockSize
	tree, err := verity.Compute(bytes.NewReader(data[:size]), size, sb.Salt)
	if err != nil {
		return nil, err
	}
	if want != nil && !bytes.Equal(tree.RootHash, want) {
		return nil, fmt.Errorf("the data partition hashes to root %x, the signed root hash is %x: the image was modified", tree.RootHash, want)
	}
	var dev bytes.Buffer
	if err := tree.WriteHashDevice(&dev, sb.UUID); err != nil {
		return nil, err
	}
	if !bytes.Equal(dev.Bytes(), hashes[:dev.Len()]) {
		return nil, fmt.Errorf("the verity partition does not hold the data partition's hash tree")
	}
	return tree.RootHash, nil
}
