package grub

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// memDisk is an in-memory disk image.
type memDisk []byte

func (m memDisk) ReadAt(p []byte, off int64) (int, error) { return copy(p, m[off:]), nil }
func (m memDisk) WriteAt(p []byte, off int64) (int, error) {
	return copy(m[off:], p), nil
}

func fakeBootImg() []byte {
	b := bytes.Repeat([]byte{0xb0}, sectorSize)
	b[510], b[511] = 0x55, 0xaa
	return b
}

func TestInstallBIOS(t *testing.T) {
	disk := make(memDisk, 4096*sectorSize)
	// A protective MBR entry and disk signature that must survive.
	disk[0x1b8] = 0x12
	disk[0x1be+4] = 0xee
	disk[510], disk[511] = 0x55, 0xaa
	core := bytes.Repeat([]byte{0xc0}, 3*sectorSize+100) // 4 sectors

	require.NoError(t, InstallBIOS(disk, fakeBootImg(), core, 34, 2014))

	mbr := disk[:sectorSize]
	require.Equal(t, uint64(34), binary.LittleEndian.Uint64(mbr[0x5c:]))
	require.Equal(t, byte(0xff), mbr[0x64])
	require.Equal(t, []byte{0x90, 0x90}, []byte(mbr[0x66:0x68]))
	require.Equal(t, byte(0x12), mbr[0x1b8], "disk signature kept")
	require.Equal(t, byte(0xee), mbr[0x1be+4], "protective MBR kept")
	require.Equal(t, make([]byte, bpbEnd-bpbStart), []byte(mbr[bpbStart:bpbEnd]), "BPB area kept from disk")
	require.Equal(t, byte(0xb0), mbr[0x100], "boot code written")

	bl := disk[34*sectorSize+sectorSize-blocklistSize : 35*sectorSize]
	require.Equal(t, uint64(35), binary.LittleEndian.Uint64(bl[0:]))
	require.Equal(t, uint16(3), binary.LittleEndian.Uint16(bl[8:]))
	require.Equal(t, uint16(0x820), binary.LittleEndian.Uint16(bl[10:]))
	require.Equal(t, byte(0xc0), disk[36*sectorSize], "core body written")
	require.Equal(t, byte(0), disk[38*sectorSize-1], "core padded with zeros")
}

func TestInstallBIOSErrors(t *testing.T) {
	disk := make(memDisk, 64*sectorSize)
	core := make([]byte, 4*sectorSize)
	for _, tc := range []struct {
		name       string
		boot, core []byte
		start, n   uint64
		want       string
	}{
		{"short boot.img", make([]byte, 100), core, 34, 10, "boot.img is 100 bytes"},
		{"unsigned boot.img", make([]byte, sectorSize), core, 34, 10, "0x55aa"},
		{"tiny core", fakeBootImg(), make([]byte, 10), 34, 10, "too small"},
		{"core too big", fakeBootImg(), core, 34, 3, "needs 4 sectors"},
		{"lba 0", fakeBootImg(), core, 0, 10, "LBA 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, InstallBIOS(disk, tc.boot, tc.core, tc.start, tc.n), tc.want)
		})
	}
}

// TestInstallBIOSRealImages installs the host's GRUB boot.img and a core
// image built by grub-mkimage, and checks the blocklist against what
// grub-mkimage prepared (start 2, the MBR-gap default).
func TestInstallBIOSRealImages(t *testing.T) {
	boot, err := os.ReadFile("/usr/lib/grub/i386-pc/boot.img")
	if err != nil {
		t.Skip("GRUB i386-pc files not installed (apt-get install grub-pc-bin)")
	}
	out := t.TempDir() + "/core.img"
	require.NoError(t, Image{Platform: BIOS, Prefix: "/grub"}.Build(t.Context(), out))
	core, err := os.ReadFile(out)
	require.NoError(t, err)
	nsec := (len(core) + sectorSize - 1) / sectorSize
	bl := core[sectorSize-blocklistSize : sectorSize]
	require.Equal(t, uint64(2), binary.LittleEndian.Uint64(bl), "grub-mkimage default start")
	require.Equal(t, uint16(nsec-1), binary.LittleEndian.Uint16(bl[8:]), "grub-mkimage sets the length")

	disk := make(memDisk, 4096*sectorSize)
	require.NoError(t, InstallBIOS(disk, boot, core, 2048, 2048))
	got := disk[2048*sectorSize : 2049*sectorSize]
	require.Equal(t, uint64(2049), binary.LittleEndian.Uint64(got[sectorSize-blocklistSize:]))
	require.Equal(t, core[sectorSize:], []byte(disk[2049*sectorSize:2048*sectorSize+len(core)]))
}
