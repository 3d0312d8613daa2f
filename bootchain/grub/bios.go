package grub

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Offsets in GRUB's i386-pc boot.img and diskboot sector (GRUB's
// include/grub/i386/pc/boot.h).
const (
	sectorSize      = 512
	bpbStart        = 0x03  // DOS BPB, kept from the disk
	bpbEnd          = 0x5a  //
	kernelSectorOff = 0x5c  // LBA of core.img's first sector (8 bytes)
	bootDriveOff    = 0x64  // 0xff: use the drive the BIOS booted from
	driveCheckOff   = 0x66  // 2-byte jump; nop'ed for hard disks
	ntMagicOff      = 0x1b8 // disk signature + partition table, kept
	partEnd         = 0x1fe // end of the partition table
	blocklistSize   = 12    // u64 start, u16 len, u16 segment
	kernelSegment   = 0x820 // where diskboot loads core.img's second sector
)

// InstallBIOS does what grub-bios-setup does for a GPT disk with a BIOS
// boot partition, on an image file rather than a device: it writes
// core.img at partStart (an LBA) and patches it to load itself from
// there, then writes boot.img into the MBR keeping the disk's own
// partition table (the protective MBR) and disk signature.
//
// It is done here rather than with grub-bios-setup because that tool
// works on devices (it probes them through a device map and the host's
// disks), while this needs only two files and an offset. partSectors is
// the size of the BIOS boot partition; core.img must fit in it.
func InstallBIOS(disk interface {
	io.ReaderAt
	io.WriterAt
}, bootImg, coreImg []byte, partStart, partSectors uint64) error {
	if len(bootImg) != sectorSize {
		return fmt.Errorf("grub bios install: boot.img is %d bytes, want %d", len(bootImg), sectorSize)
	}
	if bootImg[510] != 0x55 || bootImg[511] != 0xaa {
		return fmt.Errorf("grub bios install: boot.img lacks the 0x55aa signature")
	}
	if len(coreImg) <= sectorSize {
		return fmt.Errorf("grub bios install: core.img is %d bytes, too small", len(coreImg))
	}
	if partStart == 0 {
		return fmt.Errorf("grub bios install: core.img cannot go at LBA 0")
	}
	nsec := (uint64(len(coreImg)) + sectorSize - 1) / sectorSize
	if nsec > partSectors {
		return fmt.Errorf("grub bios install: core.img needs %d sectors, BIOS boot partition has %d", nsec, partSectors)
	}
	if nsec-1 > 0xffff {
		return fmt.Errorf("grub bios install: core.img of %d sectors is too big for one blocklist", nsec)
	}

	// core.img: its first sector (diskboot) ends with the blocklist of
	// the rest. The partition is contiguous, so one entry covers it.
	core := make([]byte, nsec*sectorSize)
	copy(core, coreImg)
	bl := core[sectorSize-blocklistSize : sectorSize]
	binary.LittleEndian.PutUint64(bl[0:8], partStart+1)
	binary.LittleEndian.PutUint16(bl[8:10], uint16(nsec-1))
	binary.LittleEndian.PutUint16(bl[10:12], kernelSegment)
	if _, err := disk.WriteAt(core, int64(partStart)*sectorSize); err != nil {
		return fmt.Errorf("grub bios install: write core.img: %w", err)
	}

	// MBR: boot.img, with the disk's BPB area and partition table kept.
	old := make([]byte, sectorSize)
	if _, err := disk.ReadAt(old, 0); err != nil {
		return fmt.Errorf("grub bios install: read MBR: %w", err)
	}
	mbr := make([]byte, sectorSize)
	copy(mbr, bootImg)
	copy(mbr[bpbStart:bpbEnd], old[bpbStart:bpbEnd])
	copy(mbr[ntMagicOff:partEnd], old[ntMagicOff:partEnd])
	binary.LittleEndian.PutUint64(mbr[kernelSectorOff:kernelSectorOff+8], partStart)
	mbr[bootDriveOff] = 0xff
	// A hard disk: nop out the jump over the fix-up that turns a
	// floppy drive number into 0x80 (some BIOSes pass a wrong one).
	mbr[driveCheckOff], mbr[driveCheckOff+1] = 0x90, 0x90
	if _, err := disk.WriteAt(mbr, 0); err != nil {
		return fmt.Errorf("grub bios install: write MBR: %w", err)
	}
	return nil
}
