package pe

import (
	"fmt"
	"hash"
	"sort"
)

// AuthenticodeDigest hashes the image as the Authenticode specification
// ("Windows Authenticode Portable Executable Signature Format") and UEFI
// firmware do: the headers without the CheckSum field and the certificate
// table's directory entry, then each section's raw data in file order,
// then any data after the sections up to the certificate table. The
// certificate table itself is never hashed.
func (f *File) AuthenticodeDigest(h hash.Hash) ([]byte, error) {
	b := f.Data
	certOff, certSize := f.CertTable()
	end := uint64(len(b))
	if certSize != 0 {
		if uint64(certOff)+uint64(certSize) != end {
			return nil, fmt.Errorf("pe: certificate table [%d,+%d) is not at the end of the %d-byte file", certOff, certSize, len(b))
		}
		end = uint64(certOff)
	}
	hdrEnd := int(f.SizeOfHeaders())
	cs, cd := f.ChecksumOffset(), f.CertDirOffset()
	if hdrEnd > len(b) || cd+8 > hdrEnd {
		return nil, fmt.Errorf("pe: SizeOfHeaders %d is out of range", hdrEnd)
	}
	h.Write(b[:cs])
	h.Write(b[cs+4 : cd])
	h.Write(b[cd+8 : hdrEnd])

	secs := append([]Section(nil), f.Sections...)
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].PointerToRawData < secs[j].PointerToRawData })
	hashed := uint64(hdrEnd)
	for _, s := range secs {
		if s.SizeOfRawData == 0 {
			continue
		}
		h.Write(b[s.PointerToRawData : s.PointerToRawData+s.SizeOfRawData])
		hashed += uint64(s.SizeOfRawData)
	}
	if end > hashed {
		h.Write(b[hashed:end])
	}
	return h.Sum(nil), nil
}
