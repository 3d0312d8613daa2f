package disk

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
)

// MBR partition types Hadron writes.
const (
	// MBRTypeFAT32LBA is "W95 FAT32 (LBA)", the type the Raspberry Pi boot
	// ROM and firmware look for on the first partition.
	MBRTypeFAT32LBA byte = 0x0c
	// MBRTypeLinux is "Linux".
	MBRTypeLinux byte = 0x83
)

// MBRPartition is one primary partition of an MBR (DOS) disk.
type MBRPartition struct {
	// Name names the partition in errors (MBR entries have no names).
	Name string
	// Type is the partition type byte.
	Type byte
	// Bootable sets the active flag (0x80).
	Bootable bool
	// Size is the size in bytes; 0 takes Content's size.
	Size int64
	// Content is a file copied into the partition.
	Content string
}

// MBRLayout describes an MBR disk image: at most four primary
// partitions, each aligned to 1 MiB.
type MBRLayout struct {
	// Name is the image name; with Epoch it seeds the disk signature.
	Name  string
	Epoch int64
	// Partitions are laid out in order and numbered from 1.
	Partitions []MBRPartition
}

// MBRPlaced is a partition with its position on the disk.
type MBRPlaced struct {
	MBRPartition
	// Index is the 1-based partition number.
	Index int
	// Start is the first LBA, Sectors the length.
	Start, Sectors uint32
}

// MBRPlan is an MBRLayout with every position and identifier decided.
type MBRPlan struct {
	// Signature is the disk signature (at 0x1b8); Linux names the
	// partitions PARTUUID=<signature as %08x>-<index as %02x>.
	Signature uint32
	// Size is the image size in bytes.
	Size int64
	// Partitions are the placed partitions, in table order.
	Partitions []MBRPlaced
}

// MBRSignature returns the disk signature of image built at epoch: never
// zero (Linux and the Pi firmware treat zero as "no signature").
func MBRSignature(image string, epoch int64) uint32 {
	sum := sha256.Sum256(append([]byte("mbr-signature\x00"), seed(image, epoch, "disk")...))
	if s := binary.BigEndian.Uint32(sum[:4]); s != 0 {
		return s
	}
	return 1
}

// MBRPartUUID is the PARTUUID Linux gives partition index of a disk
// with signature sig ("1a2b3c4d-02"), for root=PARTUUID=.
func MBRPartUUID(sig uint32, index int) string { return fmt.Sprintf("%08x-%02x", sig, index) }

// Plan places the partitions and derives the disk signature. It reads
// only the sizes of Content files.
func (l MBRLayout) Plan() (MBRPlan, error) {
	if l.Name == "" {
		return MBRPlan{}, fmt.Errorf("mbr layout: no image name")
	}
	if len(l.Partitions) == 0 || len(l.Partitions) > 4 {
		return MBRPlan{}, fmt.Errorf("mbr layout %s: %d partitions (1 to 4 primary partitions)", l.Name, len(l.Partitions))
	}
	plan := MBRPlan{Signature: MBRSignature(l.Name, l.Epoch)}
	next := int64(align)
	for i, p := range l.Partitions {
		if p.Type == 0 {
			return MBRPlan{}, fmt.Errorf("mbr layout %s: partition %s: no type (0 marks an unused entry)", l.Name, p.Name)
		}
		size, err := partitionSize(p.Size, p.Content)
		if err != nil {
			return MBRPlan{}, fmt.Errorf("mbr layout %s: partition %s: %w", l.Name, p.Name, err)
		}
		if (next+size)/SectorSize > 0xffffffff {
			return MBRPlan{}, fmt.Errorf("mbr layout %s: partition %s ends beyond 2 TiB, the limit of an MBR", l.Name, p.Name)
		}
		plan.Partitions = append(plan.Partitions, MBRPlaced{MBRPartition: p, Index: i + 1,
			Start: uint32(next / SectorSize), Sectors: uint32(size / SectorSize)})
		next += size
	}
	plan.Size = next
	return plan, nil
}

// Sector returns the first sector of the disk: zero boot code, the disk
// signature, the partition entries (LBA only: the CHS fields hold the
// "beyond CHS" value 1023/254/63 that partitioning tools write) and the
// 0x55AA signature.
func (p MBRPlan) Sector() []byte {
	s := make([]byte, SectorSize)
	binary.LittleEndian.PutUint32(s[0x1b8:], p.Signature)
	for i, part := range p.Partitions {
		e := s[0x1be+16*i : 0x1be+16*(i+1)]
		if part.Bootable {
			e[0] = 0x80
		}
		copy(e[1:4], []byte{0xfe, 0xff, 0xff})
		e[4] = part.Type
		copy(e[5:8], []byte{0xfe, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], part.Start)
		binary.LittleEndian.PutUint32(e[12:], part.Sectors)
	}
	s[510], s[511] = 0x55, 0xaa
	return s
}

// WriteMBR creates the image file at out: a sparse file of plan.Size
// bytes with plan's MBR and each partition's Content copied in.
func WriteMBR(out string, plan MBRPlan) error {
	contents := make([]placedContent, 0, len(plan.Partitions))
	for _, p := range plan.Partitions {
		contents = append(contents, placedContent{p.Name, p.Content, int64(p.Start) * SectorSize})
	}
	return writeImage(out, plan.Size, contents, func(f *os.File) error {
		_, err := f.WriteAt(plan.Sector(), 0)
		return err
	})
}
