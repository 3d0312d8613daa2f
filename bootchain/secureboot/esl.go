package secureboot

import (
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
)

// eslHeaderSize is sizeof(EFI_SIGNATURE_LIST): type GUID, list size,
// header size, signature size.
const eslHeaderSize = 16 + 4 + 4 + 4

// SignatureList builds one EFI_SIGNATURE_LIST per certificate (X.509
// entries differ in size, and one list holds same-sized entries only),
// concatenated, each entry owned by owner. This is the payload of the
// PK, KEK and db variables.
func SignatureList(owner GUID, certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		sigSize := 16 + len(c.Raw)
		list := make([]byte, eslHeaderSize, eslHeaderSize+sigSize)
		copy(list, CertX509.Bytes())
		binary.LittleEndian.PutUint32(list[16:], uint32(eslHeaderSize+sigSize))
		binary.LittleEndian.PutUint32(list[20:], 0)
		binary.LittleEndian.PutUint32(list[24:], uint32(sigSize))
		list = append(list, owner.Bytes()...)
		list = append(list, c.Raw...)
		out = append(out, list...)
	}
	return out
}

// SignatureEntry is one entry of a parsed signature list.
type SignatureEntry struct {
	Type  GUID   // the list's signature type, e.g. X.509 certificate or SHA-256
	Owner GUID   // SignatureOwner: who enrolled the entry
	Data  []byte // SignatureData: a DER certificate or a hash
}

// ParseSignatureLists splits concatenated EFI_SIGNATURE_LISTs into entries.
func ParseSignatureLists(b []byte) ([]SignatureEntry, error) {
	var out []SignatureEntry
	for len(b) > 0 {
		if len(b) < eslHeaderSize {
			return nil, errors.New("esl: truncated list header")
		}
		typ := guidFromBytes(b[:16])
		listSize := binary.LittleEndian.Uint32(b[16:])
		hdrSize := binary.LittleEndian.Uint32(b[20:])
		sigSize := binary.LittleEndian.Uint32(b[24:])
		if uint64(listSize) > uint64(len(b)) || sigSize < 16 || uint64(eslHeaderSize)+uint64(hdrSize) > uint64(listSize) {
			return nil, fmt.Errorf("esl: bad list sizes (list %d, header %d, signature %d)", listSize, hdrSize, sigSize)
		}
		body := b[eslHeaderSize+hdrSize : listSize]
		if uint32(len(body))%sigSize != 0 {
			return nil, fmt.Errorf("esl: %d bytes of signatures is not a multiple of %d", len(body), sigSize)
		}
		for ; len(body) > 0; body = body[sigSize:] {
			out = append(out, SignatureEntry{Type: typ, Owner: guidFromBytes(body[:16]), Data: body[16:sigSize]})
		}
		b = b[listSize:]
	}
	return out, nil
}

func guidFromBytes(b []byte) GUID {
	g := GUID{Data1: binary.LittleEndian.Uint32(b), Data2: binary.LittleEndian.Uint16(b[4:]), Data3: binary.LittleEndian.Uint16(b[6:])}
	copy(g.Data4[:], b[8:16])
	return g
}
