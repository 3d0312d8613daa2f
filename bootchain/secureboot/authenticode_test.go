package secureboot

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/pe"
)

const systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

func readOrSkip(t *testing.T, path, pkg string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s not installed (apt-get install %s)", path, pkg)
	}
	require.NoError(t, err)
	return b
}

func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	}
}

func testKeys(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, Generate(dir, GenerateOptions{}))
	return dir
}

// TestSignPEWithSbverify signs systemd-boot and checks the result with
// sbsigntool's sbverify (an independent OpenSSL-based verifier): the right
// certificate accepts it, another certificate and a modified image do not.
func TestSignPEWithSbverify(t *testing.T) {
	needTool(t, "sbverify", "sbsigntool")
	img := readOrSkip(t, systemdBoot, "systemd-boot-efi")
	keys := testKeys(t)
	other := testKeys(t)
	kp, err := LoadKeyPair(KeyFile(keys, DBName), CertFile(keys, DBName))
	require.NoError(t, err)
	signed, err := SignPE(img, kp)
	require.NoError(t, err)

	dir := t.TempDir()
	good := filepath.Join(dir, "good.efi")
	require.NoError(t, os.WriteFile(good, signed, 0o644))
	tampered := bytes.Clone(signed)
	f, err := pe.Parse(tampered)
	require.NoError(t, err)
	text, ok := f.Section(".text")
	require.True(t, ok)
	tampered[text.PointerToRawData+100] ^= 0xff
	bad := filepath.Join(dir, "tampered.efi")
	require.NoError(t, os.WriteFile(bad, tampered, 0o644))

	tests := []struct {
		name   string
		image  string
		cert   string
		accept bool
	}{
		{"signed, right cert", good, CertFile(keys, DBName), true},
		{"signed, other cert", good, CertFile(other, DBName), false},
		{"tampered", bad, CertFile(keys, DBName), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command("sbverify", "--cert", tc.cert, tc.image).CombinedOutput()
			if tc.accept {
				assert.NoError(t, err, string(out))
			} else {
				assert.Error(t, err, string(out))
			}
		})
	}

	sig, err := VerifyPE(signed, kp.Cert)
	require.NoError(t, err)
	assert.True(t, sig.DigestMatches)
	require.Len(t, sig.Signers, 1)
	assert.Equal(t, kp.Cert.Raw, sig.Signers[0].Raw)
	_, err = VerifyPE(tampered, kp.Cert)
	assert.Error(t, err)
}

// TestAuthenticodeDigestMatchesSbsign signs with sbsign and checks that the
// image hash it embedded equals ours.
func TestAuthenticodeDigestMatchesSbsign(t *testing.T) {
	needTool(t, "sbsign", "sbsigntool")
	img := readOrSkip(t, systemdBoot, "systemd-boot-efi")
	keys := testKeys(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.efi"), filepath.Join(dir, "out.efi")
	require.NoError(t, os.WriteFile(in, img, 0o644))
	cmd := exec.Command("sbsign", "--key", KeyFile(keys, DBName), "--cert", CertFile(keys, DBName), "--output", out, in)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	theirs, err := os.ReadFile(out)
	require.NoError(t, err)
	sig, err := VerifyPE(theirs)
	require.NoError(t, err, "our verifier must accept sbsign's signature")
	assert.True(t, sig.DigestMatches)

	// Our hash of the unsigned (8-byte padded) image is what sbsign signed.
	padded := append(bytes.Clone(img), make([]byte, (8-len(img)%8)%8)...)
	f, err := pe.Parse(padded)
	require.NoError(t, err)
	ours, err := f.AuthenticodeDigest(sha256.New())
	require.NoError(t, err)
	assert.Equal(t, sig.Digest, ours)
}

func TestSignPEReplacesSignature(t *testing.T) {
	img := readOrSkip(t, systemdBoot, "systemd-boot-efi")
	keys := testKeys(t)
	kp, err := LoadKeyPair(KeyFile(keys, DBName), CertFile(keys, DBName))
	require.NoError(t, err)
	once, err := SignPE(img, kp)
	require.NoError(t, err)
	twice, err := SignPE(once, kp)
	require.NoError(t, err)
	a, err := VerifyPE(once)
	require.NoError(t, err)
	b, err := VerifyPE(twice)
	require.NoError(t, err)
	assert.Equal(t, a.Digest, b.Digest, "re-signing must not change the image hash")
	assert.InDelta(t, len(once), len(twice), 0)
}

func TestSignPERejectsNonPE(t *testing.T) {
	keys := testKeys(t)
	kp, err := LoadKeyPair(KeyFile(keys, DBName), CertFile(keys, DBName))
	require.NoError(t, err)
	_, err = SignPE([]byte("not a PE file at all, just text......................................................"), kp)
	require.ErrorIs(t, err, pe.ErrNotPE)
}

// ecdsaKeyPair is a self-signed P-256 certificate and its key.
func ecdsaKeyPair(t *testing.T) *KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "ecdsa db"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &KeyPair{Cert: cert, Key: key}
}

// TestSignPEIsDeterministic: two signatures of the same image with the
// same key are byte for byte identical, whenever they are made, and still
// verify; the PKCS#7 carries no signingTime (the library would write the
// wall-clock time there) and keeps contentType and messageDigest. RSA (what
// `hadron keys` makes) and ECDSA keys alike.
func TestSignPEIsDeterministic(t *testing.T) {
	img := readOrSkip(t, systemdBoot, "systemd-boot-efi")
	keys := testKeys(t)
	rsaKP, err := LoadKeyPair(KeyFile(keys, DBName), CertFile(keys, DBName))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		kp   *KeyPair
	}{
		{"rsa", rsaKP},
		{"ecdsa", ecdsaKeyPair(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := SignPE(img, tc.kp)
			require.NoError(t, err)
			time.Sleep(1100 * time.Millisecond) // a signingTime would differ now
			second, err := SignPE(img, tc.kp)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(first, second), "two signatures of one image with one key")

			sig, err := VerifyPE(second, tc.kp.Cert)
			require.NoError(t, err)
			assert.True(t, sig.DigestMatches)

			p7 := parsePKCS7(t, second)
			require.Len(t, p7.Signers, 1)
			var types []string
			for _, a := range p7.Signers[0].AuthenticatedAttributes {
				types = append(types, a.Type.String())
			}
			assert.ElementsMatch(t, []string{pkcs7.OIDAttributeContentType.String(), pkcs7.OIDAttributeMessageDigest.String()}, types)
		})
	}
}

// parsePKCS7 returns the PKCS#7 of a signed image's first WIN_CERTIFICATE.
func parsePKCS7(t *testing.T, image []byte) *pkcs7.PKCS7 {
	t.Helper()
	f, err := pe.Parse(image)
	require.NoError(t, err)
	off, size := f.CertTable()
	require.NotZero(t, size)
	wc := image[off : off+size]
	length := binary.LittleEndian.Uint32(wc)
	p7, err := pkcs7.Parse(wc[winCertificateHdrBytes:length])
	require.NoError(t, err)
	return p7
}
