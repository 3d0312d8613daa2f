// Package recipescripts tests the helper scripts recipes carry in their
// folders (files: in recipe.yaml) and run in their build steps.
package recipescripts

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// certdataScript is the ca-certificates recipe's converter.
const certdataScript = "../../recipes/ca-certificates/files/certdata2bundle.py"

// buildEpoch is the SOURCE_DATE_EPOCH the tests convert at (2023-11-14).
const buildEpoch = 1700000000

// root is one certificate of a synthetic certdata.txt and its trust.
type root struct {
	label         string
	notAfter      time.Time
	serverTrust   string
	distrustAfter bool
}

// selfSigned returns the DER of a self-signed certificate named label.
func selfSigned(t *testing.T, label string, serial int64, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: label},
		NotBefore:             time.Unix(buildEpoch, 0).AddDate(-10, 0, 0),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return der
}

// octal writes b as certdata.txt's MULTILINE_OCTAL body.
func octal(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		fmt.Fprintf(&sb, "\\%03o", c)
		if i%16 == 15 {
			sb.WriteString("\n")
		}
	}
	return strings.TrimSuffix(sb.String(), "\n") + "\nEND\n"
}

// certdata writes a certdata.txt holding roots, each a certificate object
// and a trust object, and returns it with the DER of each root.
func certdata(t *testing.T, roots []root) (string, map[string][]byte) {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("# synthetic certdata.txt\nBEGINDATA\nCKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST\nCKA_TOKEN CK_BBOOL CK_TRUE\n\n")
	ders := map[string][]byte{}
	for i, r := range roots {
		der := selfSigned(t, r.label, int64(i+1), r.notAfter)
		ders[r.label] = der
		issuer := octal([]byte("issuer of " + r.label))
		serial := octal([]byte{byte(i + 1)})
		fmt.Fprintf(&sb, "#\n# Certificate %q\n#\nCKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\nCKA_LABEL UTF8 %q\n", r.label, r.label)
		fmt.Fprintf(&sb, "CKA_ISSUER MULTILINE_OCTAL\n%sCKA_SERIAL_NUMBER MULTILINE_OCTAL\n%sCKA_VALUE MULTILINE_OCTAL\n%s", issuer, serial, octal(der))
		if r.distrustAfter {
			fmt.Fprintf(&sb, "CKA_NSS_SERVER_DISTRUST_AFTER MULTILINE_OCTAL\n%s", octal([]byte("200101000000Z")))
		} else {
			sb.WriteString("CKA_NSS_SERVER_DISTRUST_AFTER CK_BBOOL CK_FALSE\n")
		}
		fmt.Fprintf(&sb, "\n# Trust for %q\nCKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\nCKA_LABEL UTF8 %q\n", r.label, r.label)
		fmt.Fprintf(&sb, "CKA_ISSUER MULTILINE_OCTAL\n%sCKA_SERIAL_NUMBER MULTILINE_OCTAL\n%sCKA_TRUST_SERVER_AUTH CK_TRUST %s\n\n", issuer, serial, r.serverTrust)
	}
	return sb.String(), ders
}

// runScript runs the converter on text at buildEpoch.
func runScript(t *testing.T, text string) (stdout, stderr string, err error) {
	t.Helper()
	python, lookErr := exec.LookPath("python3")
	require.NoError(t, lookErr, "python3 is needed (stage 0 and Debian hosts have it)")
	file := filepath.Join(t.TempDir(), "certdata.txt")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	cmd := exec.Command(python, certdataScript, file)
	cmd.Env = append(os.Environ(), fmt.Sprintf("SOURCE_DATE_EPOCH=%d", buildEpoch))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestCertdataBundle: only the TLS server trust anchors that have no
// distrust-after date and are valid at SOURCE_DATE_EPOCH end up in the
// bundle, byte for byte, in certdata.txt's order; the others are named
// on stderr with the reason.
func TestCertdataBundle(t *testing.T) {
	build := time.Unix(buildEpoch, 0)
	text, ders := certdata(t, []root{
		{"Good Root A", build.AddDate(5, 0, 0), "CKT_NSS_TRUSTED_DELEGATOR", false},
		{"Email Only Root", build.AddDate(5, 0, 0), "CKT_NSS_MUST_VERIFY_TRUST", false},
		{"Distrusted Root", build.AddDate(5, 0, 0), "CKT_NSS_TRUSTED_DELEGATOR", true},
		{"Expired Root", build.AddDate(0, 0, -1), "CKT_NSS_TRUSTED_DELEGATOR", false},
		{"Good Root B", build.AddDate(30, 0, 0), "CKT_NSS_TRUSTED_DELEGATOR", false},
	})
	stdout, stderr, err := runScript(t, text)
	require.NoError(t, err, stderr)

	var got []string
	rest := []byte(stdout)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		require.Equal(t, "CERTIFICATE", block.Type)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		got = append(got, cert.Subject.CommonName)
		assert.Equal(t, ders[cert.Subject.CommonName], block.Bytes, "DER of %s", cert.Subject.CommonName)
	}
	assert.Equal(t, []string{"Good Root A", "Good Root B"}, got)
	assert.Contains(t, stdout, "# Good Root A\n-----BEGIN CERTIFICATE-----\n")
	assert.Contains(t, stderr, "skipped Email Only Root: not a TLS server trust anchor")
	assert.Contains(t, stderr, "skipped Distrusted Root: distrusted for TLS servers after a date")
	assert.Contains(t, stderr, "skipped Expired Root: expired")
	assert.Contains(t, stderr, "2 trust anchors, 3 certificates skipped")

	again, _, err := runScript(t, text)
	require.NoError(t, err)
	assert.Equal(t, stdout, again, "the same input gives the same bundle")
}

// TestCertdataBundleBadInput: a truncated certificate value and a file
// without any trust anchor fail instead of writing an empty bundle.
func TestCertdataBundleBadInput(t *testing.T) {
	text, _ := certdata(t, []root{{"Good Root A", time.Unix(buildEpoch, 0).AddDate(5, 0, 0), "CKT_NSS_TRUSTED_DELEGATOR", false}})
	cut := strings.Index(text, "CKA_VALUE MULTILINE_OCTAL")
	require.Positive(t, cut)
	_, stderr, err := runScript(t, text[:cut+len("CKA_VALUE MULTILINE_OCTAL\n\\060")])
	require.Error(t, err)
	assert.Contains(t, stderr, "MULTILINE_OCTAL without END")

	none, _ := certdata(t, []root{{"Email Only Root", time.Unix(buildEpoch, 0).AddDate(5, 0, 0), "CKT_NSS_MUST_VERIFY_TRUST", false}})
	stdout, stderr, err := runScript(t, none)
	require.Error(t, err)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "no trust anchor")
}
