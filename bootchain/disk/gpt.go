package disk

import (
	"fmt"
	"io"
	"os"
	"unicode/utf16"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// SectorSize is the logical sector size of the images built here.
const SectorSize = 512

// align is the partition alignment: 1 MiB, as partitioning tools use.
const align = MiB

// Partition types used by Hadron images (GPT type GUIDs).
const (
	// TypeESP is the EFI System Partition.
	TypeESP = gpt.EFISystemPartition
	// TypeBIOSBoot holds GRUB's core.img on GPT disks booted by a BIOS.
	TypeBIOSBoot = gpt.BIOSBoot
	// TypeLinux is a generic Linux file system.
	TypeLinux = gpt.LinuxFilesystem
	// TypeRootX86_64 is the Discoverable Partitions root type for amd64.
	TypeRootX86_64 = gpt.LinuxRootX86_64
	// TypeRootArm64 is the Discoverable Partitions root type for arm64.
	TypeRootArm64 gpt.Type = "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
)

// Partition is one entry of a Layout.
type Partition struct {
	// Name is the GPT partition name (PARTLABEL), also its role in GUID
	// derivation, so it must be unique.
	Name string
	// Type is the partition type GUID.
	Type gpt.Type
	// Size is the size in bytes (rounded up to the alignment); 0 means
	// the size of Content.
	Size int64
	// Content, when set, is a file copied to the start of the partition
	// (a file system image); otherwise the partition is left zeroed.
	Content string
	// Attributes are the GPT attribute bits.
	Attributes uint64
	// GUID, when set, is the unique partition GUID (PARTUUID) instead of
	// one derived from the image name, e.g. a verity pair's GUIDs, which
	// come from its root hash.
	GUID string
}

// Layout describes a GPT disk image.
type Layout struct {
	// Name is the image name; with Epoch it seeds the GUIDs.
	Name string
	// Epoch is SOURCE_DATE_EPOCH.
	Epoch int64
	// Partitions are laid out in order, each aligned to 1 MiB.
	Partitions []Partition
}

// Placed is a partition with its position on the disk.
type Placed struct {
	Partition
	// Index is the 1-based partition number.
	Index int
	// GUID is the unique partition GUID (PARTUUID).
	GUID string
	// Start is the first LBA.
	Start uint64
	// Sectors is the length in sectors.
	Sectors uint64
}

// Plan is a Layout with every position and identifier decided.
type Plan struct {
	// GUID is the disk GUID.
	GUID string
	// Size is the image size in bytes.
	Size int64
	// Partitions are the placed partitions, in table order.
	Partitions []Placed
}

// Find returns the partition named name.
func (p Plan) Find(name string) (Placed, bool) {
	for _, part := range p.Partitions {
		if part.Name == name {
			return part, true
		}
	}
	return Placed{}, false
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// partitionSize is the size of a partition of size bytes (0: its content's
// size) holding the file content (none when empty), rounded up to the
// alignment; the content must fit.
func partitionSize(size int64, content string) (int64, error) {
	if content != "" {
		st, err := os.Stat(content)
		if err != nil {
			return 0, err
		}
		if size == 0 {
			size = st.Size()
		}
		if st.Size() > size {
			return 0, fmt.Errorf("content %s is %d bytes, partition %d", content, st.Size(), size)
		}
	}
	if size <= 0 {
		return 0, fmt.Errorf("no size and no content")
	}
	return roundUp(size, align), nil
}

// Plan places the partitions and derives the GUIDs. It reads only the
// sizes of Content files.
func (l Layout) Plan() (Plan, error) {
	if l.Name == "" {
		return Plan{}, fmt.Errorf("disk layout: no image name")
	}
	if len(l.Partitions) == 0 || len(l.Partitions) > 128 {
		return Plan{}, fmt.Errorf("disk layout %s: %d partitions (1 to 128)", l.Name, len(l.Partitions))
	}
	plan := Plan{GUID: GUID(l.Name, l.Epoch, "disk")}
	seen := map[string]bool{}
	next := int64(align) // the primary GPT fits in the first MiB
	for i, p := range l.Partitions {
		if p.Name == "" || len(utf16.Encode([]rune(p.Name))) > 36 {
			return Plan{}, fmt.Errorf("disk layout %s: partition %d: name %q must be 1 to 36 characters", l.Name, i+1, p.Name)
		}
		if seen[p.Name] {
			return Plan{}, fmt.Errorf("disk layout %s: duplicate partition name %q", l.Name, p.Name)
		}
		seen[p.Name] = true
		size, err := partitionSize(p.Size, p.Content)
		if err != nil {
			return Plan{}, fmt.Errorf("disk layout %s: partition %s: %w", l.Name, p.Name, err)
		}
		guid := p.GUID
		if guid == "" {
			guid = GUID(l.Name, l.Epoch, "partition/"+p.Name)
		}
		plan.Partitions = append(plan.Partitions, Placed{
			Partition: p,
			Index:     i + 1,
			GUID:      guid,
			Start:     uint64(next / SectorSize),
			Sectors:   uint64(size / SectorSize),
		})
		next += size
	}
	plan.Size = next + align // room for the backup GPT
	return plan, nil
}

// Write creates the image file at out: a sparse file of plan.Size bytes
// with a protective MBR, primary and backup GPT, and each partition's
// Content copied in. The MBR boot code area is left zero for a BIOS
// boot loader to fill in.
func Write(out string, plan Plan) error {
	contents := make([]placedContent, 0, len(plan.Partitions))
	for _, p := range plan.Partitions {
		contents = append(contents, placedContent{p.Name, p.Content, int64(p.Start) * SectorSize})
	}
	return writeImage(out, plan.Size, contents, func(f *os.File) error { return writeGPT(f, plan) })
}

// placedContent is a partition's content file and where it goes.
type placedContent struct {
	name, file string
	off        int64
}

// writeImage creates the image file at out (replacing one there): a
// sparse file of size bytes, the partition table that table writes, and
// each content file copied in at its offset.
func writeImage(out string, size int64, contents []placedContent, table func(*os.File) error) error {
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("disk image: %w", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("disk image: %w", err)
	}
	err = fillImage(f, size, contents, table)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("disk image %s: %w", out, err)
	}
	return nil
}

func fillImage(f *os.File, size int64, contents []placedContent, table func(*os.File) error) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	if err := table(f); err != nil {
		return err
	}
	for _, c := range contents {
		if c.file == "" {
			continue
		}
		if err := copyAt(f, c.file, c.off); err != nil {
			return fmt.Errorf("partition %s: %w", c.name, err)
		}
	}
	return nil
}

// writeGPT writes plan's protective MBR and primary and backup GPT to f.
func writeGPT(f *os.File, plan Plan) error {
	table := &gpt.Table{
		LogicalSectorSize:  SectorSize,
		PhysicalSectorSize: SectorSize,
		ProtectiveMBR:      true,
		GUID:               plan.GUID,
	}
	for _, p := range plan.Partitions {
		table.Partitions = append(table.Partitions, &gpt.Partition{
			Index:      p.Index,
			Start:      p.Start,
			End:        p.Start + p.Sectors - 1,
			Size:       p.Sectors * SectorSize,
			Type:       p.Type,
			Name:       p.Name,
			GUID:       p.GUID,
			Attributes: p.Attributes,
		})
	}
	if err := table.Write(f, plan.Size); err != nil {
		return fmt.Errorf("partition table: %w", err)
	}
	return nil
}

// copyAt copies the file src into dst at off, leaving holes where src
// has runs of zero blocks so the image stays sparse.
func copyAt(dst *os.File, src string, off int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	buf := make([]byte, MiB)
	zero := make([]byte, 4096)
	for {
		n, err := io.ReadFull(in, buf)
		for i := 0; i < n; i += len(zero) {
			chunk := buf[i:min(i+len(zero), n)]
			if !isZero(chunk) {
				if _, werr := dst.WriteAt(chunk, off+int64(i)); werr != nil {
					return werr
				}
			}
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
