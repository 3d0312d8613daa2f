// Package secureboot makes and uses UEFI Secure Boot keys: generating the
// PK/KEK/db certificates and the PCR policy key, Authenticode-signing PE
// images, and building EFI signature lists and time-based authenticated
// variable updates (.auth files) to enroll the keys.
//
// Private keys are read from files (a BuildKit secret mount is a file);
// errors name the file, never its content.
package secureboot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// KeySet file names inside a key directory, as `hadron keys generate`
// writes them.
const (
	PKName  = "PK"
	KEKName = "KEK"
	DBName  = "db"
	// PCRKeyName is the RSA key that signs PCR 11 policies (.pcrsig);
	// its public half goes into the UKI's .pcrpkey.
	PCRKeyName = "pcr"
	// OwnerGUIDFile holds the signature owner GUID used in the ESLs.
	OwnerGUIDFile = "GUID"
)

// KeyFile is the path of a named private key (PKCS#8 PEM) in dir.
func KeyFile(dir, name string) string { return filepath.Join(dir, name+".key") }

// CertFile is the path of a named certificate (PEM) in dir.
func CertFile(dir, name string) string { return filepath.Join(dir, name+".crt") }

// PublicKeyFile is the PEM SubjectPublicKeyInfo of the PCR key.
func PublicKeyFile(dir, name string) string { return filepath.Join(dir, name+".pub.pem") }

// ErrEncryptedKey is returned for password-protected private keys, which
// hadron does not decrypt: pass a decrypted key as a secret instead.
var ErrEncryptedKey = errors.New("encrypted private keys are not supported")

// GenerateOptions tune Generate.
type GenerateOptions struct {
	// CommonName prefixes the certificates' subject CN (default "Hadron").
	CommonName string
	// Bits is the RSA key size (default 2048, what every firmware takes).
	Bits int
	// Now is the certificates' NotBefore (default time.Now()).
	Now time.Time
	// Validity is how long the certificates are valid (default 20 years;
	// UEFI firmware does not check it).
	Validity time.Duration
}

// Generate creates dir (mode 0700) holding PK, KEK and db self-signed
// certificates with their keys, the PCR signing key and its public key,
// an owner GUID, the EFI signature lists (<name>.esl) and the signed
// variable updates (<name>.auth: PK signed by PK, KEK by PK, db by KEK)
// that enroll them. Keys are written 0600. It refuses to overwrite an
// existing key.
func Generate(dir string, opt GenerateOptions) error {
	if opt.CommonName == "" {
		opt.CommonName = "Hadron"
	}
	if opt.Bits == 0 {
		opt.Bits = 2048
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Validity == 0 {
		opt.Validity = 20 * 365 * 24 * time.Hour
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("keys: chmod %s: %w", dir, err)
	}
	for _, n := range []string{PKName, KEKName, DBName, PCRKeyName} {
		if _, err := os.Stat(KeyFile(dir, n)); err == nil {
			return fmt.Errorf("keys: %s already exists, refusing to overwrite it", KeyFile(dir, n))
		}
	}
	owner, err := NewGUID()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, OwnerGUIDFile), []byte(owner.String()+"\n"), 0o644); err != nil {
		return fmt.Errorf("keys: write owner GUID: %w", err)
	}
	pairs := map[string]*KeyPair{}
	for _, n := range []string{PKName, KEKName, DBName} {
		kp, err := newSelfSigned(fmt.Sprintf("%s Secure Boot %s", opt.CommonName, n), opt)
		if err != nil {
			return fmt.Errorf("keys: %s: %w", n, err)
		}
		if err := kp.write(KeyFile(dir, n), CertFile(dir, n)); err != nil {
			return err
		}
		pairs[n] = kp
	}
	pcr, err := rsa.GenerateKey(rand.Reader, opt.Bits)
	if err != nil {
		return fmt.Errorf("keys: PCR key: %w", err)
	}
	if err := writeKey(KeyFile(dir, PCRKeyName), pcr); err != nil {
		return err
	}
	pub, err := PublicKeyPEM(pcr.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(PublicKeyFile(dir, PCRKeyName), pub, 0o644); err != nil {
		return fmt.Errorf("keys: write PCR public key: %w", err)
	}

	// Enrollment material: PK self-signed, KEK signed by PK, db by KEK.
	signers := map[string]*KeyPair{PKName: pairs[PKName], KEKName: pairs[PKName], DBName: pairs[KEKName]}
	for _, n := range []string{PKName, KEKName, DBName} {
		esl := SignatureList(owner, pairs[n].Cert)
		if err := os.WriteFile(filepath.Join(dir, n+".esl"), esl, 0o644); err != nil {
			return fmt.Errorf("keys: write %s.esl: %w", n, err)
		}
		auth, err := SignVariable(Variable{Name: n, Data: esl, Time: opt.Now}, signers[n])
		if err != nil {
			return fmt.Errorf("keys: sign %s.auth: %w", n, err)
		}
		if err := os.WriteFile(filepath.Join(dir, n+".auth"), auth, 0o644); err != nil {
			return fmt.Errorf("keys: write %s.auth: %w", n, err)
		}
	}
	return nil
}

// KeyPair is a certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  crypto.Signer // the private key of Cert's public key
}

func newSelfSigned(cn string, opt GenerateOptions) (*KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, opt.Bits)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             opt.Now.Add(-time.Hour).UTC(),
		NotAfter:              opt.Now.Add(opt.Validity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

func (kp *KeyPair) write(keyPath, certPath string) error {
	if err := writeKey(keyPath, kp.Key); err != nil {
		return err
	}
	c := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Cert.Raw})
	if err := os.WriteFile(certPath, c, 0o644); err != nil {
		return fmt.Errorf("keys: write %s: %w", certPath, err)
	}
	return nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("keys: encode %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: create %s: %w", path, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	return nil
}

// LoadKey reads a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) from
// path. Errors name the path but never include key material.
func LoadKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	defer clear(b)
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, fmt.Errorf("private key %s: no PEM private key block", path)
		}
		var k any
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("private key %s: %w", path, ErrEncryptedKey)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("private key %s: cannot parse the %s block", path, blk.Type)
		}
		switch s := k.(type) {
		case *rsa.PrivateKey:
			return s, nil
		case *ecdsa.PrivateKey:
			return s, nil
		case ed25519.PrivateKey:
			return s, nil
		default:
			return nil, fmt.Errorf("private key %s: unsupported key type %T", path, k)
		}
	}
}

// LoadCert reads an X.509 certificate, PEM or DER, from path.
func LoadCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", path, err)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("certificate %s: PEM block is %q, not CERTIFICATE", path, blk.Type)
		}
		b = blk.Bytes
	}
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	return c, nil
}

// LoadKeyPair loads a private key and its certificate and checks that
// they belong together.
func LoadKeyPair(keyPath, certPath string) (*KeyPair, error) {
	key, err := LoadKey(keyPath)
	if err != nil {
		return nil, err
	}
	cert, err := LoadCert(certPath)
	if err != nil {
		return nil, err
	}
	a, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", keyPath, err)
	}
	if b, err := x509.MarshalPKIXPublicKey(cert.PublicKey); err != nil || sha256.Sum256(a) != sha256.Sum256(b) {
		return nil, fmt.Errorf("private key %s does not match certificate %s", keyPath, certPath)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// PublicKeyPEM encodes pub as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo),
// the format of a UKI's .pcrpkey section.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
