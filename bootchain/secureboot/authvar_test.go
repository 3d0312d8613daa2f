package secureboot

import (
	"encoding/asn1"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// splitAuth takes a .auth file apart as firmware does.
func splitAuth(t *testing.T, auth []byte) (ts, sig, payload []byte) {
	t.Helper()
	require.Greater(t, len(auth), 40)
	ts = auth[:16]
	length := binary.LittleEndian.Uint32(auth[16:])
	assert.Equal(t, uint16(0x0200), binary.LittleEndian.Uint16(auth[20:]))
	assert.Equal(t, uint16(0x0EF1), binary.LittleEndian.Uint16(auth[22:]))
	assert.Equal(t, CertTypePKCS7.Bytes(), auth[24:40])
	sig = auth[40 : 16+length]
	payload = auth[16+length:]
	return ts, sig, payload
}

// TestSignVariableVerifiesWithOpenSSL rebuilds the message firmware
// verifies (name, GUID, attributes, timestamp, data) and checks the
// detached signature with `openssl smime -verify`, the library EDK2 uses.
func TestSignVariableVerifiesWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	keys := testKeys(t)
	dir := t.TempDir()
	tests := []struct{ name, signer string }{{"PK", PKName}, {"KEK", PKName}, {"db", KEKName}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := os.ReadFile(filepath.Join(keys, tc.name+".auth"))
			require.NoError(t, err)
			ts, sig, payload := splitAuth(t, auth)
			esl, err := os.ReadFile(filepath.Join(keys, tc.name+".esl"))
			require.NoError(t, err)
			assert.Equal(t, esl, payload)
			// EDK2 wants bare SignedData with a two-byte length and the
			// SHA-256 OID at offset 13.
			assert.Equal(t, byte(0x30), sig[0])
			assert.Equal(t, byte(0x82), sig[1])
			assert.Equal(t, []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, sig[13:22])

			guid, err := VendorGUID(tc.name)
			require.NoError(t, err)
			var msg []byte
			for _, u := range utf16.Encode([]rune(tc.name)) {
				msg = binary.LittleEndian.AppendUint16(msg, u)
			}
			msg = append(msg, guid.Bytes()...)
			msg = binary.LittleEndian.AppendUint32(msg, AttrsSecureBoot)
			msg = append(msg, ts...)
			msg = append(msg, payload...)
			content := filepath.Join(dir, tc.name+".msg")
			require.NoError(t, os.WriteFile(content, msg, 0o644))
			// openssl wants a ContentInfo around the SignedData.
			wrapped, err := asn1.Marshal(struct {
				Type    asn1.ObjectIdentifier
				Content asn1.RawValue
			}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sig}})
			require.NoError(t, err)
			sigFile := filepath.Join(dir, tc.name+".p7")
			require.NoError(t, os.WriteFile(sigFile, wrapped, 0o644))
			out, err := exec.Command("openssl", "smime", "-verify", "-binary", "-inform", "DER", "-in", sigFile,
				"-content", content, "-CAfile", CertFile(keys, tc.signer), "-purpose", "any", "-out", os.DevNull).CombinedOutput()
			require.NoError(t, err, string(out))
		})
	}
}

func TestSignatureListRoundTrip(t *testing.T) {
	keys := testKeys(t)
	kp, err := LoadKeyPair(KeyFile(keys, DBName), CertFile(keys, DBName))
	require.NoError(t, err)
	owner := MustParseGUID("11111111-2222-3333-4444-555555555555")
	esl := SignatureList(owner, kp.Cert, kp.Cert)
	entries, err := ParseSignatureLists(esl)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	for _, e := range entries {
		assert.Equal(t, CertX509, e.Type)
		assert.Equal(t, owner, e.Owner)
		assert.Equal(t, kp.Cert.Raw, e.Data)
	}
	_, err = ParseSignatureLists(esl[:len(esl)-1])
	assert.Error(t, err)
}

func TestEFITime(t *testing.T) {
	b := efiTime(time.Date(2026, 11, 22, 23, 4, 5, 999, time.UTC))
	assert.Equal(t, []byte{0xea, 0x07, 11, 22, 23, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}, b)
}

func TestGUID(t *testing.T) {
	g := MustParseGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	assert.Equal(t, "8be4df61-93ca-11d2-aa0d-00e098032b8c", g.String())
	assert.Equal(t, []byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}, g.Bytes())
	_, err := ParseGUID("not-a-guid")
	assert.Error(t, err)
}
