package secureboot

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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
