package secureboot

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is an EFI GUID in its textual field order; Bytes gives the mixed-
// endian wire form (first three fields little-endian).
type GUID struct {
	Data1 uint32
	Data2 uint16
	Data3 uint16
	Data4 [8]byte
}

// Well-known GUIDs from the UEFI specification.
var (
	// EFIGlobalVariable owns PK and KEK.
	EFIGlobalVariable = MustParseGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	// ImageSecurityDatabase owns db and dbx.
	ImageSecurityDatabase = MustParseGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
	// CertX509 is the signature type of an X.509 certificate entry.
	CertX509 = MustParseGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	// CertTypePKCS7 marks a WIN_CERTIFICATE_UEFI_GUID holding PKCS#7.
	CertTypePKCS7 = MustParseGUID("4aafd29d-68df-49ee-8aa9-347d375665a7")
)

// ParseGUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
func ParseGUID(s string) (GUID, error) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return GUID{}, fmt.Errorf("bad GUID %q", s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return GUID{}, fmt.Errorf("bad GUID %q: %w", s, err)
	}
	var g GUID
	g.Data1 = binary.BigEndian.Uint32(raw[0:4])
	g.Data2 = binary.BigEndian.Uint16(raw[4:6])
	g.Data3 = binary.BigEndian.Uint16(raw[6:8])
	copy(g.Data4[:], raw[8:])
	return g, nil
}

// MustParseGUID is ParseGUID for constants; it panics on bad input.
func MustParseGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// NewGUID returns a random (version 4) GUID.
func NewGUID() (GUID, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return GUID{}, fmt.Errorf("random GUID: %w", err)
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	g := GUID{Data1: binary.BigEndian.Uint32(raw[0:4]), Data2: binary.BigEndian.Uint16(raw[4:6]), Data3: binary.BigEndian.Uint16(raw[6:8])}
	copy(g.Data4[:], raw[8:])
	return g, nil
}

// String formats g in the usual lower-case textual form.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", g.Data1, g.Data2, g.Data3, g.Data4[:2], g.Data4[2:])
}

// Bytes is the 16-byte EFI_GUID as stored in memory and in variables.
func (g GUID) Bytes() []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], g.Data1)
	binary.LittleEndian.PutUint16(b[4:], g.Data2)
	binary.LittleEndian.PutUint16(b[6:], g.Data3)
	copy(b[8:], g.Data4[:])
	return b
}
