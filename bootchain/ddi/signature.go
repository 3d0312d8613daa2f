package ddi

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/verity"
)

// Signature is the content of a verity signature partition
// (usr-verity-sig): the root hash, the SHA-256 fingerprint of the signing
// certificate (DER) and a PKCS#7 signature of the root hash, as the
// Discoverable Partitions Specification describes and systemd-repart
// writes.
type Signature struct {
	// RootHash is the verity root hash, lower-case hex.
	RootHash string `json:"rootHash"`
	// CertificateFingerprint is SHA-256 of the certificate's DER, hex.
	CertificateFingerprint string `json:"certificateFingerprint"`
	// Signature is the DER PKCS#7 signature, base64: detached, over the
	// RootHash string (its ASCII bytes), without signed attributes.
	Signature string `json:"signature"`
}

// SignRootHash signs root with kp. The PKCS#7 is detached and carries no
// signed attributes (no signingTime, no messageDigest; what OpenSSL's
// PKCS7_NOATTR makes and the kernel's and systemd's verifiers take), so
// an RSA key gives the same bytes every time.
func SignRootHash(root []byte, kp *secureboot.KeyPair) (*Signature, error) {
	if len(root) != 32 {
		return nil, fmt.Errorf("sign root hash: %d bytes (want a SHA-256 hash)", len(root))
	}
	if kp == nil || kp.Cert == nil || kp.Key == nil {
		return nil, errors.New("sign root hash: no key pair")
	}
	content := hex.EncodeToString(root)
	sd, err := pkcs7.NewSignedData([]byte(content))
	if err != nil {
		return nil, fmt.Errorf("sign root hash: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.SignWithoutAttr(kp.Cert, kp.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("sign root hash: %w", err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("sign root hash: encode PKCS#7: %w", err)
	}
	fp := sha256.Sum256(kp.Cert.Raw)
	return &Signature{
		RootHash:               content,
		CertificateFingerprint: hex.EncodeToString(fp[:]),
		Signature:              base64.StdEncoding.EncodeToString(der),
	}, nil
}

// Partition is the signature partition's content: the JSON object
// followed by a newline, padded with NUL bytes to whole 4096-byte blocks.
func (s *Signature) Partition() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode verity signature: %w", err)
	}
	b = append(b, '\n')
	n := (len(b) + verity.BlockSize - 1) / verity.BlockSize * verity.BlockSize
	return append(b, make([]byte, n-len(b))...), nil
}

// ParseSignature reads a signature partition's content (trailing NUL
// padding allowed).
func ParseSignature(b []byte) (*Signature, error) {
	b = bytes.TrimRight(b, "\x00")
	var s Signature
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("verity signature: %w", err)
	}
	return &s, nil
}

// Verify checks that s is a valid signature of its RootHash by cert and
// that the fingerprint names cert.
func (s *Signature) Verify(cert *x509.Certificate) error {
	fp := sha256.Sum256(cert.Raw)
	if s.CertificateFingerprint != hex.EncodeToString(fp[:]) {
		return fmt.Errorf("verity signature: certificate fingerprint %s is not that of %q", s.CertificateFingerprint, cert.Subject.CommonName)
	}
	der, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil {
		return fmt.Errorf("verity signature: %w", err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return fmt.Errorf("verity signature: %w", err)
	}
	if len(p7.Signers) != 1 {
		return fmt.Errorf("verity signature: %d signers, want 1", len(p7.Signers))
	}
	p7.Content = []byte(s.RootHash)
	p7.Certificates = []*x509.Certificate{cert}
	if err := p7.Verify(); err != nil {
		return fmt.Errorf("verity signature: %w", err)
	}
	return nil
}
