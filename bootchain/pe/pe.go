// Package pe reads and edits the headers of PE/COFF images (UEFI
// applications) at the byte level: where the checksum, the data
// directories and the section table live, appending sections, the PE
// checksum and the Authenticode image hash.
//
// Go's debug/pe parses PE files but hides the file offsets of header
// fields and cannot write; UKI assembly and Authenticode signing need
// both, so this package keeps the raw bytes and patches them in place.
package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Header sizes and offsets from the PE/COFF specification.
const (
	coffHeaderSize    = 20
	sectionHeaderSize = 40
	magicPE32         = 0x10b
	magicPE32Plus     = 0x20b
	// DirCertificate is the index of the certificate table (Authenticode
	// signatures) in the data directories.
	DirCertificate = 4
)

// ErrNotPE is returned for input that is not a PE/COFF image.
var ErrNotPE = errors.New("not a PE/COFF image")

// Section is one entry of the section table.
type Section struct {
	Name             string
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// File is a parsed PE image. Data is the whole file; the offsets locate
// header fields in it.
type File struct {
	Data []byte
	// PEOffset is e_lfanew: the offset of the "PE\0\0" signature.
	PEOffset int
	// OptOffset is the offset of the optional header.
	OptOffset int
	// Plus is true for PE32+ (64-bit) images.
	Plus bool
	// SectionTableOffset is the offset of the first section header.
	SectionTableOffset int
	Sections           []Section
}

// Parse parses the headers of a PE image. It keeps a reference to b.
func Parse(b []byte) (*File, error) {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return nil, fmt.Errorf("%w: no MZ header", ErrNotPE)
	}
	f := &File{Data: b}
	f.PEOffset = int(binary.LittleEndian.Uint32(b[0x3c:]))
	if f.PEOffset < 0x40 || f.PEOffset+4+coffHeaderSize > len(b) || !bytes.Equal(b[f.PEOffset:f.PEOffset+4], []byte("PE\x00\x00")) {
		return nil, fmt.Errorf("%w: no PE signature", ErrNotPE)
	}
	coff := f.PEOffset + 4
	nsec := int(binary.LittleEndian.Uint16(b[coff+2:]))
	optSize := int(binary.LittleEndian.Uint16(b[coff+16:]))
	f.OptOffset = coff + coffHeaderSize
	f.SectionTableOffset = f.OptOffset + optSize
	if f.SectionTableOffset+nsec*sectionHeaderSize > len(b) || optSize < 2 {
		return nil, fmt.Errorf("%w: truncated headers", ErrNotPE)
	}
	switch binary.LittleEndian.Uint16(b[f.OptOffset:]) {
	case magicPE32:
	case magicPE32Plus:
		f.Plus = true
	default:
		return nil, fmt.Errorf("%w: unknown optional header magic", ErrNotPE)
	}
	if f.dirOffset(DirCertificate)+8 > f.SectionTableOffset || f.NumberOfRvaAndSizes() <= DirCertificate {
		return nil, fmt.Errorf("%w: optional header lacks the certificate directory", ErrNotPE)
	}
	for i := 0; i < nsec; i++ {
		h := b[f.SectionTableOffset+i*sectionHeaderSize:]
		s := Section{
			Name:             string(bytes.TrimRight(h[:8], "\x00")),
			VirtualSize:      binary.LittleEndian.Uint32(h[8:]),
			VirtualAddress:   binary.LittleEndian.Uint32(h[12:]),
			SizeOfRawData:    binary.LittleEndian.Uint32(h[16:]),
			PointerToRawData: binary.LittleEndian.Uint32(h[20:]),
			Characteristics:  binary.LittleEndian.Uint32(h[36:]),
		}
		if uint64(s.PointerToRawData)+uint64(s.SizeOfRawData) > uint64(len(b)) {
			return nil, fmt.Errorf("%w: section %q extends past the end of the file", ErrNotPE, s.Name)
		}
		f.Sections = append(f.Sections, s)
	}
	return f, nil
}

func (f *File) u32(off int) uint32      { return binary.LittleEndian.Uint32(f.Data[off:]) }
func (f *File) put32(off int, v uint32) { binary.LittleEndian.PutUint32(f.Data[off:], v) }

// ChecksumOffset is the file offset of the optional header's CheckSum.
func (f *File) ChecksumOffset() int { return f.OptOffset + 64 }

// dirOffset is the file offset of data directory i.
func (f *File) dirOffset(i int) int {
	if f.Plus {
		return f.OptOffset + 112 + 8*i
	}
	return f.OptOffset + 96 + 8*i
}

// NumberOfRvaAndSizes is the number of data directories.
func (f *File) NumberOfRvaAndSizes() int {
	if f.Plus {
		return int(f.u32(f.OptOffset + 108))
	}
	return int(f.u32(f.OptOffset + 92))
}

// CertDirOffset is the file offset of the certificate table's data
// directory entry (8 bytes: file offset, size).
func (f *File) CertDirOffset() int { return f.dirOffset(DirCertificate) }

// CertTable returns the file offset and size of the certificate table
// (both 0 when the image is unsigned).
func (f *File) CertTable() (offset, size uint32) {
	o := f.CertDirOffset()
	return f.u32(o), f.u32(o + 4)
}

// SetCertTable writes the certificate table's directory entry.
func (f *File) SetCertTable(offset, size uint32) {
	o := f.CertDirOffset()
	f.put32(o, offset)
	f.put32(o+4, size)
}

// SectionAlignment is the in-memory alignment of sections.
func (f *File) SectionAlignment() uint32 { return f.u32(f.OptOffset + 32) }

// FileAlignment is the on-disk alignment of section data.
func (f *File) FileAlignment() uint32 { return f.u32(f.OptOffset + 36) }

// SizeOfImage is the in-memory size of the loaded image.
func (f *File) SizeOfImage() uint32 { return f.u32(f.OptOffset + 56) }

// SizeOfHeaders is the on-disk size of all headers, rounded to FileAlignment.
func (f *File) SizeOfHeaders() uint32 { return f.u32(f.OptOffset + 60) }

// Section returns the first section called name.
func (f *File) Section(name string) (Section, bool) {
	for _, s := range f.Sections {
		if s.Name == name {
			return s, true
		}
	}
	return Section{}, false
}

// SectionData returns what a loader maps for s: VirtualSize bytes, the
// raw data zero-extended when VirtualSize is larger.
func (f *File) SectionData(s Section) []byte {
	raw := f.Data[s.PointerToRawData : s.PointerToRawData+s.SizeOfRawData]
	if s.VirtualSize <= s.SizeOfRawData {
		return raw[:s.VirtualSize]
	}
	out := make([]byte, s.VirtualSize)
	copy(out, raw)
	return out
}

// Checksum computes the PE image checksum as the Windows loader and
// ImageHlp's CheckSumMappedFile do: a 16-bit ones'-complement-style sum
// of the file's 16-bit words with the CheckSum field taken as zero, plus
// the file length.
func (f *File) Checksum() uint32 {
	csOff := f.ChecksumOffset()
	var sum uint64
	n := len(f.Data)
	for i := 0; i+1 < n; i += 2 {
		if i == csOff || i == csOff+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(f.Data[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if n%2 == 1 {
		sum += uint64(f.Data[n-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(n)
}

// UpdateChecksum stores Checksum() in the header.
func (f *File) UpdateChecksum() { f.put32(f.ChecksumOffset(), f.Checksum()) }

func alignUp(v, a uint32) uint32 {
	if a == 0 {
		return v
	}
	return (v + a - 1) / a * a
}
