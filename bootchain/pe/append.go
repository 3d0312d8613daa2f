package pe

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Section characteristics used for data sections.
const (
	ScnCntInitializedData = 0x00000040
	ScnMemRead            = 0x40000000
	// DataSection is read-only initialised data, what UKI sections use.
	DataSection = ScnCntInitializedData | ScnMemRead
)

// minNewSectionAlignment keeps appended sections page-aligned in memory
// even when the image's own SectionAlignment is smaller.
const minNewSectionAlignment = 4096

// NewSection is a section to append.
type NewSection struct {
	// Name is at most 8 bytes (images have no string table for longer names).
	Name string
	Data []byte
	// Characteristics defaults to DataSection.
	Characteristics uint32
}

// Layout reports where AppendSections put each new section.
type Layout struct {
	Sections []Section
	// HeaderGrowth is how many bytes the headers grew to make room for
	// the new section headers (the existing section data moved by this).
	HeaderGrowth uint32
}

// AppendSections returns a new image made of f's headers and sections
// (minus those named in drop) followed by secs. Section data keeps its
// virtual addresses; new sections get virtual addresses after the last
// existing one, page-aligned, and file offsets after the last existing
// section, FileAlignment-aligned. When the header area is too small for
// the extra section headers it grows by whole FileAlignment units and
// the existing section data moves down accordingly. Anything after the
// last section (a COFF symbol table, an old signature) is dropped, the
// certificate table entry is cleared and SizeOfImage, SizeOfHeaders,
// SizeOfInitializedData and the checksum are recomputed.
func (f *File) AppendSections(secs []NewSection, drop ...string) ([]byte, Layout, error) {
	var lay Layout
	dropped := map[string]bool{}
	for _, d := range drop {
		dropped[d] = true
	}
	var kept []Section
	for _, s := range f.Sections {
		if !dropped[s.Name] {
			kept = append(kept, s)
		}
	}
	for _, s := range secs {
		if len(s.Name) == 0 || len(s.Name) > 8 {
			return nil, lay, fmt.Errorf("pe: section name %q must be 1 to 8 bytes", s.Name)
		}
	}
	fileAlign, secAlign := f.FileAlignment(), f.SectionAlignment()
	if fileAlign == 0 || fileAlign&(fileAlign-1) != 0 || secAlign == 0 {
		return nil, lay, fmt.Errorf("pe: bad alignment (file %d, section %d)", fileAlign, secAlign)
	}
	newAlign := max(secAlign, minNewSectionAlignment)
	if newAlign%secAlign != 0 {
		newAlign = secAlign
	}

	// Header room.
	oldHdr := f.SizeOfHeaders()
	needed := uint32(f.SectionTableOffset + (len(kept)+len(secs))*sectionHeaderSize)
	newHdr := max(oldHdr, alignUp(needed, fileAlign))
	lowestVA := uint32(math.MaxUint32)
	for _, s := range kept {
		lowestVA = min(lowestVA, s.VirtualAddress)
	}
	if newHdr > lowestVA {
		return nil, lay, fmt.Errorf("pe: no room for %d more section headers: headers would need %d bytes, the first section starts at RVA %#x", len(secs), newHdr, lowestVA)
	}
	delta := newHdr - oldHdr
	lay.HeaderGrowth = delta

	// Existing data, shifted by delta.
	var rawEnd, vaEnd uint64 = uint64(newHdr), uint64(f.SizeOfImage())
	for i := range kept {
		s := &kept[i]
		if s.SizeOfRawData > 0 {
			s.PointerToRawData += delta
			rawEnd = max(rawEnd, uint64(s.PointerToRawData)+uint64(s.SizeOfRawData))
		}
		vaEnd = max(vaEnd, uint64(s.VirtualAddress)+uint64(max(s.VirtualSize, s.SizeOfRawData)))
	}
	rawPos := align64(rawEnd, fileAlign)
	vaPos := align64(vaEnd, newAlign)
	var added []Section
	var initData uint64
	for _, ns := range secs {
		ch := ns.Characteristics
		if ch == 0 {
			ch = DataSection
		}
		raw := align64(uint64(len(ns.Data)), fileAlign)
		if rawPos+raw > math.MaxUint32 || align64(vaPos+uint64(len(ns.Data)), newAlign) > math.MaxUint32 {
			return nil, lay, fmt.Errorf("pe: section %s (%d bytes) does not fit a 4 GiB image", ns.Name, len(ns.Data))
		}
		s := Section{Name: ns.Name, VirtualSize: uint32(len(ns.Data)), VirtualAddress: uint32(vaPos),
			SizeOfRawData: uint32(raw), PointerToRawData: uint32(rawPos), Characteristics: ch}
		if raw == 0 {
			s.PointerToRawData = 0
		}
		added = append(added, s)
		initData += raw
		rawPos += raw
		vaPos = align64(vaPos+uint64(len(ns.Data)), newAlign)
	}
	imageEnd := vaEnd
	if len(added) > 0 {
		last := added[len(added)-1]
		imageEnd = max(imageEnd, uint64(last.VirtualAddress)+uint64(last.VirtualSize))
	}
	if align64(imageEnd, secAlign) > math.MaxUint32 {
		return nil, lay, fmt.Errorf("pe: image of %d bytes does not fit 4 GiB", imageEnd)
	}
	sizeOfImage := uint32(align64(imageEnd, secAlign))

	out := make([]byte, rawPos)
	copy(out, f.Data[:oldHdr])
	// Clear the old section table and the new header room.
	clear(out[f.SectionTableOffset:newHdr])
	for _, s := range f.Sections {
		if dropped[s.Name] || s.SizeOfRawData == 0 {
			continue
		}
		copy(out[uint64(s.PointerToRawData)+uint64(delta):], f.Data[s.PointerToRawData:s.PointerToRawData+s.SizeOfRawData])
	}
	for i, s := range secs {
		copy(out[added[i].PointerToRawData:], s.Data)
	}
	all := append(kept, added...)
	for i, s := range all {
		writeSectionHeader(out[f.SectionTableOffset+i*sectionHeaderSize:], s)
	}

	nf := &File{Data: out, PEOffset: f.PEOffset, OptOffset: f.OptOffset, Plus: f.Plus, SectionTableOffset: f.SectionTableOffset, Sections: all}
	coff := f.PEOffset + 4
	binary.LittleEndian.PutUint16(out[coff+2:], uint16(len(all)))
	binary.LittleEndian.PutUint32(out[coff+8:], 0)  // PointerToSymbolTable: dropped
	binary.LittleEndian.PutUint32(out[coff+12:], 0) // NumberOfSymbols
	nf.put32(f.OptOffset+8, nf.u32(f.OptOffset+8)+uint32(min(initData, math.MaxUint32)))
	nf.put32(f.OptOffset+56, sizeOfImage)
	nf.put32(f.OptOffset+60, newHdr)
	nf.SetCertTable(0, 0)
	nf.UpdateChecksum()
	lay.Sections = added
	return out, lay, nil
}

func align64(v uint64, a uint32) uint64 { return (v + uint64(a) - 1) / uint64(a) * uint64(a) }

func writeSectionHeader(h []byte, s Section) {
	clear(h[:sectionHeaderSize])
	copy(h[:8], s.Name)
	binary.LittleEndian.PutUint32(h[8:], s.VirtualSize)
	binary.LittleEndian.PutUint32(h[12:], s.VirtualAddress)
	binary.LittleEndian.PutUint32(h[16:], s.SizeOfRawData)
	binary.LittleEndian.PutUint32(h[20:], s.PointerToRawData)
	binary.LittleEndian.PutUint32(h[36:], s.Characteristics)
}
