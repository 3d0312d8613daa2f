package secureboot

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"

	"github.com/smallstep/pkcs7"

	"github.com/hadron-linux/hadron/bootchain/pe"
)

// Authenticode object identifiers (Microsoft, "Windows Authenticode
// Portable Executable Signature Format").
var (
	oidSpcIndirectDataContent = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPEImageData         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidSHA256                 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
)

// WIN_CERTIFICATE values for an Authenticode signature.
const (
	winCertRevision2       = 0x0200
	winCertTypePKCSSigned  = 0x0002
	winCertificateHdrBytes = 8
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type digestInfo struct {
	Algorithm algorithmIdentifier
	Digest    []byte
}

type spcAttributeTypeAndOptionalValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type spcIndirectDataContent struct {
	Data          spcAttributeTypeAndOptionalValue
	MessageDigest digestInfo
}

// spcPEImageData encodes SpcPeImageData with empty flags and the
// customary "<<<Obsolete>>>" file link (SpcLink.file, SpcString.unicode).
func spcPEImageData() ([]byte, error) {
	var name []byte
	for _, u := range utf16.Encode([]rune("<<<Obsolete>>>")) {
		name = binary.BigEndian.AppendUint16(name, u)
	}
	unicode, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: name})
	if err != nil {
		return nil, err
	}
	fileLink, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: unicode})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Flags asn1.BitString
		File  asn1.RawValue
	}{File: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: fileLink}})
}

// indirectData returns the DER SpcIndirectDataContent for a PE image
// digest, and its body (the content octets without the outer SEQUENCE
// tag and length), which is what the Authenticode signature's
// messageDigest attribute covers.
func indirectData(digest []byte) (full, body []byte, err error) {
	peData, err := spcPEImageData()
	if err != nil {
		return nil, nil, err
	}
	full, err = asn1.Marshal(spcIndirectDataContent{
		Data: spcAttributeTypeAndOptionalValue{Type: oidSpcPEImageData, Value: asn1.RawValue{FullBytes: peData}},
		MessageDigest: digestInfo{
			Algorithm: algorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue},
			Digest:    digest,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(full, &rv); err != nil {
		return nil, nil, err
	}
	return full, rv.Bytes, nil
}

// SignPE returns image Authenticode-signed with kp (SHA-256): any existing
// signature is removed, the file is padded to 8 bytes, the image hash
// goes into an SpcIndirectDataContent signed as PKCS#7 SignedData, and
// that is appended as a WIN_CERTIFICATE the certificate table points at.
//
// PKCS#7 comes from github.com/smallstep/pkcs7. Authenticode differs
// from plain PKCS#7 in two ways the library has no option for: the
// content type is SpcIndirectDataContent, and the signed messageDigest
// covers the content without its outer tag and length while the embedded
// content keeps them. So the library signs the body and the SignedData's
// content info is set to the full structure before encoding.
//
// The signature depends on the image and the key only: signing the same
// image twice with the same key gives the same bytes, so two builds of a
// signed UKI are identical (see dropSigningTime).
func SignPE(image []byte, kp *KeyPair) ([]byte, error) {
	f, err := pe.Parse(bytes.Clone(image))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if off, size := f.CertTable(); size != 0 {
		if uint64(off)+uint64(size) != uint64(len(f.Data)) {
			return nil, errors.New("sign: existing certificate table is not at the end of the file")
		}
		f.Data = f.Data[:off]
		f.SetCertTable(0, 0)
	}
	if pad := (8 - len(f.Data)%8) % 8; pad > 0 {
		f.Data = append(f.Data, make([]byte, pad)...)
	}
	digest, err := f.AuthenticodeDigest(sha256.New())
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	full, body, err := indirectData(digest)
	if err != nil {
		return nil, fmt.Errorf("sign: encode SpcIndirectDataContent: %w", err)
	}
	sd, err := pkcs7.NewSignedData(body)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	sd.GetSignedData().ContentInfo.ContentType = oidSpcIndirectDataContent
	if err := sd.AddSigner(kp.Cert, kp.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := dropSigningTime(sd, kp.Key); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sd.GetSignedData().ContentInfo.Content = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: full}
	p7, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("sign: encode PKCS#7: %w", err)
	}

	certOff := len(f.Data)
	length := winCertificateHdrBytes + len(p7)
	padded := (length + 7) &^ 7
	if uint64(certOff)+uint64(padded) > 1<<32-1 {
		return nil, errors.New("sign: signed image would exceed 4 GiB")
	}
	f.Data = binary.LittleEndian.AppendUint32(f.Data, uint32(length))
	f.Data = binary.LittleEndian.AppendUint16(f.Data, winCertRevision2)
	f.Data = binary.LittleEndian.AppendUint16(f.Data, winCertTypePKCSSigned)
	f.Data = append(f.Data, p7...)
	f.Data = append(f.Data, make([]byte, padded-length)...)
	f.SetCertTable(uint32(certOff), uint32(padded))
	f.UpdateChecksum()
	return f.Data, nil
}

// signedAttribute mirrors the library's PKCS#7 Attribute for encoding:
// an attribute type and its SET OF values.
type signedAttribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

// dropSigningTime removes the signingTime attribute from the signed
// attributes of sd's only signer and signs them again with key.
//
// The library always adds signingTime with the wall-clock time, so two
// signatures of one image would differ. Taking it from SOURCE_DATE_EPOCH
// instead is no good either: the epoch is the sources' date, often before
// the signing certificate was issued, and verifiers that check the
// attribute (this package's VerifyPE through the library, Windows'
// Authenticode) reject a signing time outside the signer's validity. The
// attribute is an unauthenticated claim of the signer anyway (a trusted
// time needs a timestamp authority), optional in PKCS#7 and Authenticode,
// and UEFI firmware does not read it. Removing one attribute keeps the
// others in DER order. RSA PKCS#1 v1.5 signatures, what Secure Boot keys
// make, are deterministic; an ECDSA key signs deterministically (RFC 6979)
// without a random source.
func dropSigningTime(sd *pkcs7.SignedData, key crypto.Signer) error {
	infos := sd.GetSignedData().SignerInfos
	if len(infos) != 1 {
		return fmt.Errorf("PKCS#7: %d signers, want 1", len(infos))
	}
	si := &infos[0]
	attrs := si.AuthenticatedAttributes[:0]
	var signed []signedAttribute
	for _, a := range si.AuthenticatedAttributes {
		if a.Type.Equal(pkcs7.OIDAttributeSigningTime) {
			continue
		}
		attrs = append(attrs, a)
		signed = append(signed, signedAttribute{Type: a.Type, Value: a.Value})
	}
	si.AuthenticatedAttributes = attrs

	// What is signed is the DER SET OF the attributes (RFC 2315 9.3).
	set, err := asn1.Marshal(struct {
		A []signedAttribute `asn1:"set"`
	}{A: signed})
	if err != nil {
		return fmt.Errorf("encode signed attributes: %w", err)
	}
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(set, &seq); err != nil {
		return fmt.Errorf("encode signed attributes: %w", err)
	}
	sum := sha256.Sum256(seq.Bytes)
	var random io.Reader = rand.Reader // ignored by RSA PKCS#1 v1.5
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		random = nil
	}
	sig, err := key.Sign(random, sum[:], crypto.SHA256)
	if err != nil {
		return fmt.Errorf("sign attributes: %w", err)
	}
	si.EncryptedDigest = sig
	return nil
}

// Signature describes an image's Authenticode signature.
type Signature struct {
	// Signers are the certificates of the signers.
	Signers []*x509.Certificate
	// Digest is the image hash the signature vouches for.
	Digest []byte
	// DigestMatches tells whether Digest equals the image's actual hash.
	DigestMatches bool
}

// VerifyPE checks image's Authenticode signature: the PKCS#7 signature
// must verify, the signed image hash must equal the image's, and when
// roots is not empty a signer must chain to one of them.
func VerifyPE(image []byte, roots ...*x509.Certificate) (*Signature, error) {
	f, err := pe.Parse(image)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	off, size := f.CertTable()
	if size == 0 {
		return nil, errors.New("verify: image is not signed")
	}
	if uint64(off)+uint64(size) > uint64(len(image)) || size < winCertificateHdrBytes {
		return nil, errors.New("verify: certificate table out of range")
	}
	wc := image[off : off+size]
	length := binary.LittleEndian.Uint32(wc)
	if length < winCertificateHdrBytes || length > size || binary.LittleEndian.Uint16(wc[6:]) != winCertTypePKCSSigned {
		return nil, errors.New("verify: first certificate is not a PKCS#7 WIN_CERTIFICATE")
	}
	p7, err := pkcs7.Parse(wc[winCertificateHdrBytes:length])
	if err != nil {
		return nil, fmt.Errorf("verify: parse PKCS#7: %w", err)
	}
	// The library hands back the content's body (without the outer
	// SEQUENCE header), which is also what messageDigest covers.
	full, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: p7.Content})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	var idc spcIndirectDataContent
	if _, err := asn1.Unmarshal(full, &idc); err != nil {
		return nil, fmt.Errorf("verify: parse SpcIndirectDataContent: %w", err)
	}
	if len(roots) > 0 {
		pool := x509.NewCertPool()
		for _, r := range roots {
			pool.AddCert(r)
		}
		err = p7.VerifyWithChain(pool)
	} else {
		err = p7.Verify()
	}
	if err != nil {
		return nil, fmt.Errorf("verify: signature: %w", err)
	}
	actual, err := f.AuthenticodeDigest(sha256.New())
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	sig := &Signature{Digest: idc.MessageDigest.Digest, DigestMatches: bytes.Equal(actual, idc.MessageDigest.Digest)}
	for i := range p7.Signers {
		serial := p7.Signers[i].IssuerAndSerialNumber.SerialNumber
		for _, c := range p7.Certificates {
			if c.SerialNumber.Cmp(serial) == 0 {
				sig.Signers = append(sig.Signers, c)
			}
		}
	}
	if !sig.DigestMatches {
		return sig, errors.New("verify: image hash does not match the signed hash (image modified after signing)")
	}
	return sig, nil
}
