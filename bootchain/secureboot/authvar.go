package secureboot

import (
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf16"

	"github.com/smallstep/pkcs7"
)

// Variable attributes (UEFI specification, GetVariable).
const (
	AttrNonVolatile                       = 0x00000001
	AttrBootserviceAccess                 = 0x00000002
	AttrRuntimeAccess                     = 0x00000004
	AttrTimeBasedAuthenticatedWriteAccess = 0x00000020
	// AttrAppendWrite appends to a signature database instead of replacing it.
	AttrAppendWrite = 0x00000040
	// AttrsSecureBoot are the attributes of PK, KEK, db and dbx.
	AttrsSecureBoot = AttrNonVolatile | AttrBootserviceAccess | AttrRuntimeAccess | AttrTimeBasedAuthenticatedWriteAccess
)

// winCertTypeEFIGUID is WIN_CERT_TYPE_EFI_GUID.
const winCertTypeEFIGUID = 0x0EF1

// Variable is an update of an authenticated UEFI variable.
type Variable struct {
	// Name is the variable name: "PK", "KEK", "db" or "dbx".
	Name string
	// GUID is the vendor GUID; zero means the right one for Name.
	GUID GUID
	// Attributes default to AttrsSecureBoot.
	Attributes uint32
	// Time is the update's timestamp; it must be later than the stored
	// variable's for the firmware to accept it.
	Time time.Time
	// Data is the new content (EFI signature lists).
	Data []byte
}

// VendorGUID returns the vendor GUID the UEFI specification gives to a
// Secure Boot variable name.
func VendorGUID(name string) (GUID, error) {
	switch name {
	case "PK", "KEK":
		return EFIGlobalVariable, nil
	case "db", "dbx", "dbt", "dbr":
		return ImageSecurityDatabase, nil
	}
	return GUID{}, fmt.Errorf("no well-known vendor GUID for variable %q", name)
}

// efiTime encodes t as EFI_TIME with the zero Nanosecond, TimeZone and
// Daylight fields that time-based authenticated variables require.
func efiTime(t time.Time) []byte {
	t = t.UTC()
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], uint16(t.Year()))
	b[2], b[3] = byte(t.Month()), byte(t.Day())
	b[4], b[5], b[6] = byte(t.Hour()), byte(t.Minute()), byte(t.Second())
	return b
}

// SignVariable returns the .auth form of v: EFI_VARIABLE_AUTHENTICATION_2
// (timestamp + WIN_CERTIFICATE_UEFI_GUID holding a detached PKCS#7
// signature) followed by v.Data. The signature covers the variable name
// (UCS-2, no terminator), vendor GUID, attributes, timestamp and data, as
// the UEFI specification (SetVariable, time-based authentication) says.
// This is what firmware in setup mode, efi-updatevar and systemd-boot's
// secure-boot-enroll consume.
func SignVariable(v Variable, signer *KeyPair) ([]byte, error) {
	if v.Attributes == 0 {
		v.Attributes = AttrsSecureBoot
	}
	if v.GUID == (GUID{}) {
		g, err := VendorGUID(v.Name)
		if err != nil {
			return nil, err
		}
		v.GUID = g
	}
	ts := efiTime(v.Time)
	var msg []byte
	for _, u := range utf16.Encode([]rune(v.Name)) {
		msg = binary.LittleEndian.AppendUint16(msg, u)
	}
	msg = append(msg, v.GUID.Bytes()...)
	msg = binary.LittleEndian.AppendUint32(msg, v.Attributes)
	msg = append(msg, ts...)
	msg = append(msg, v.Data...)

	sd, err := pkcs7.NewSignedData(msg)
	if err != nil {
		return nil, fmt.Errorf("auth %s: %w", v.Name, err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(signer.Cert, signer.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("auth %s: sign: %w", v.Name, err)
	}
	sd.Detach()
	ci, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("auth %s: encode: %w", v.Name, err)
	}
	// The UEFI specification wants the bare SignedData here, not wrapped
	// in a ContentInfo: EDK2 checks the SHA-256 OID at a fixed offset
	// of SignedData and refuses anything else.
	p7, err := unwrapContentInfo(ci)
	if err != nil {
		return nil, fmt.Errorf("auth %s: %w", v.Name, err)
	}

	// WIN_CERTIFICATE_UEFI_GUID: dwLength, wRevision, wCertificateType,
	// CertType GUID, CertData.
	out := make([]byte, 0, 16+24+len(p7)+len(v.Data))
	out = append(out, ts...)
	out = binary.LittleEndian.AppendUint32(out, uint32(24+len(p7)))
	out = binary.LittleEndian.AppendUint16(out, 0x0200)
	out = binary.LittleEndian.AppendUint16(out, winCertTypeEFIGUID)
	out = append(out, CertTypePKCS7.Bytes()...)
	out = append(out, p7...)
	out = append(out, v.Data...)
	return out, nil
}

// unwrapContentInfo returns the content of a DER ContentInfo (the
// SignedData SEQUENCE inside its [0] EXPLICIT tag).
func unwrapContentInfo(der []byte) ([]byte, error) {
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue // the [0] EXPLICIT wrapper
	}
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("parse ContentInfo: %w", err)
	}
	if len(rest) != 0 || ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 || len(ci.Content.Bytes) == 0 {
		return nil, errors.New("malformed ContentInfo")
	}
	return ci.Content.Bytes, nil
}
