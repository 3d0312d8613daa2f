package measure

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// TPM 2.0 constants (TPM 2.0 Library, Part 2).
const (
	tpmCCPolicyPCR = 0x0000017F
	tpmAlgSHA256   = 0x000B
)

// PolicyPCRDigest returns the TPM2 policy digest of a fresh policy session
// after TPM2_PolicyPCR over PCR 11 of the SHA-256 bank with value pcr:
// SHA-256(zero digest || TPM_CC_PolicyPCR || TPML_PCR_SELECTION ||
// SHA-256(pcr)).
func PolicyPCRDigest(pcr Digest) Digest {
	var sel []byte
	sel = binary.BigEndian.AppendUint32(sel, 1) // one selection
	sel = binary.BigEndian.AppendUint16(sel, tpmAlgSHA256)
	sel = append(sel, 3) // sizeofSelect: PCRs 0..23
	bitmap := [3]byte{}
	bitmap[PCR/8] |= 1 << (PCR % 8)
	sel = append(sel, bitmap[:]...)
	pcrDigest := sha256.Sum256(pcr[:])

	h := sha256.New()
	h.Write(make([]byte, sha256.Size))
	h.Write(binary.BigEndian.AppendUint32(nil, tpmCCPolicyPCR))
	h.Write(sel)
	h.Write(pcrDigest[:])
	var out Digest
	copy(out[:], h.Sum(nil))
	return out
}

// SignatureEntry is one element of a bank's array in the .pcrsig JSON.
type SignatureEntry struct {
	// PCRs are the PCR indexes the signed policy covers ([11]).
	PCRs []int `json:"pcrs"`
	// PKFP is the hex SHA-256 of the signing public key's DER, in
	// OpenSSL i2d_PublicKey form (PKCS#1 RSAPublicKey for RSA).
	PKFP string `json:"pkfp"`
	// Ref is the TPM2 policy reference the signature is bound to; empty
	// for the policies that secrets bind to by default.
	Ref string `json:"ref,omitempty"`
	// Pol is the hex TPM2 policy digest that was signed.
	Pol string `json:"pol"`
	// Sig is the base64 RSA PKCS#1 v1.5 signature over SHA-256 of the
	// signed data: pol, followed by SHA-256(ref) when Ref is set.
	Sig string `json:"sig"`
}

// InitrdPolicyRef is the policy reference of the extra signature Sign
// adds for the enter-initrd phase, as ukify --sign-initrd-pcrs does: a
// signed policy that only the initrd can satisfy. systemd (from 262)
// needs it: systemd-tpm2-setup in the initrd authorizes the first write
// of its NvPCRs (TPM NV indexes used as extra PCRs) with it, and without
// it fails "Couldn't find signature for this PCR bank, PCR index and
// public key" and the NvPCR measurements after it fail too.
const InitrdPolicyRef = "initrd"

// initrdPhase is the phase InitrdPolicyRef is signed for.
const initrdPhase = "enter-initrd"

// signedData is what a PolicyAuthorize signature covers (TPM 2.0 Part 3,
// TPM2_PolicyAuthorize): the approved policy digest, then the policy
// reference, which systemd passes as the SHA-256 of its string (nothing
// when it is empty).
func signedData(pol Digest, ref string) []byte {
	data := append([]byte(nil), pol[:]...)
	if ref != "" {
		r := sha256.Sum256([]byte(ref))
		data = append(data, r[:]...)
	}
	return data
}

// SignedPolicy is one policy digest a .pcrsig signs, with the policy
// reference the signature is bound to.
type SignedPolicy struct {
	Policy Digest
	Ref    string
}

// Signature is the .pcrsig JSON document: bank name → entries.
type Signature map[string][]SignatureEntry

// Sign signs each prediction's PolicyPCR digest with key, the way
// systemd-measure sign does, and returns the JSON for a UKI's .pcrsig
// section; the enter-initrd phase, when predicted, is signed a second
// time bound to InitrdPolicyRef. key must be an RSA key: that is what
// systemd's TPM2 code loads for signed PCR policies.
func Sign(preds []Prediction, key crypto.Signer) ([]byte, error) {
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("pcrsig: the PCR key must be RSA, not %T", key.Public())
	}
	if len(preds) == 0 {
		return nil, errors.New("pcrsig: nothing to sign")
	}
	fp, err := PublicKeyFingerprint(key.Public())
	if err != nil {
		return nil, err
	}
	doc := Signature{}
	sign := func(p Prediction, ref string) error {
		pol := PolicyPCRDigest(p.PCR)
		h := sha256.Sum256(signedData(pol, ref))
		sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			return fmt.Errorf("pcrsig: sign phase %q: %w", p.Phase, err)
		}
		doc["sha256"] = append(doc["sha256"], SignatureEntry{
			PCRs: []int{PCR}, PKFP: fp, Ref: ref, Pol: pol.String(), Sig: base64.StdEncoding.EncodeToString(sig),
		})
		return nil
	}
	for _, p := range preds {
		if err := sign(p, ""); err != nil {
			return nil, err
		}
	}
	for _, p := range preds {
		if p.Phase == initrdPhase {
			if err := sign(p, InitrdPolicyRef); err != nil {
				return nil, err
			}
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("pcrsig: %w", err)
	}
	return b, nil
}

// PublicKeyFingerprint is systemd's "pkfp": the hex SHA-256 of the key's
// DER as OpenSSL's i2d_PublicKey writes it, which for RSA is the PKCS#1
// RSAPublicKey structure (not the SubjectPublicKeyInfo of the PEM file).
// Checked against systemd-measure 252 in the tests.
func PublicKeyFingerprint(pub crypto.PublicKey) (string, error) {
	rpub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("pcrsig: public key is %T, not RSA", pub)
	}
	sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(rpub))
	return hex.EncodeToString(sum[:]), nil
}

// Verify checks a .pcrsig document against pub: every sha256 entry must
// carry pub's fingerprint and a valid signature over its policy digest
// (and policy reference). It returns the signed policies, in order.
func Verify(pcrsig []byte, pub crypto.PublicKey) ([]SignedPolicy, error) {
	rpub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("pcrsig: public key is %T, not RSA", pub)
	}
	var doc Signature
	if err := json.Unmarshal(pcrsig, &doc); err != nil {
		return nil, fmt.Errorf("pcrsig: parse: %w", err)
	}
	fp, err := PublicKeyFingerprint(pub)
	if err != nil {
		return nil, err
	}
	entries := doc["sha256"]
	if len(entries) == 0 {
		return nil, errors.New("pcrsig: no sha256 entries")
	}
	var out []SignedPolicy
	for i, e := range entries {
		if e.PKFP != fp {
			return nil, fmt.Errorf("pcrsig: entry %d was signed by another key", i)
		}
		if len(e.PCRs) != 1 || e.PCRs[0] != PCR {
			return nil, fmt.Errorf("pcrsig: entry %d covers PCRs %v, want [%d]", i, e.PCRs, PCR)
		}
		polBytes, err := hex.DecodeString(e.Pol)
		if err != nil || len(polBytes) != sha256.Size {
			return nil, fmt.Errorf("pcrsig: entry %d: bad policy digest", i)
		}
		sig, err := base64.StdEncoding.DecodeString(e.Sig)
		if err != nil {
			return nil, fmt.Errorf("pcrsig: entry %d: bad signature encoding: %w", i, err)
		}
		var d Digest
		copy(d[:], polBytes)
		h := sha256.Sum256(signedData(d, e.Ref))
		if err := rsa.VerifyPKCS1v15(rpub, crypto.SHA256, h[:], sig); err != nil {
			return nil, fmt.Errorf("pcrsig: entry %d: %w", i, err)
		}
		out = append(out, SignedPolicy{Policy: d, Ref: e.Ref})
	}
	return out, nil
}
