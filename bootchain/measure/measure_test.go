package measure

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const systemdMeasure = "/usr/lib/systemd/systemd-measure"

func TestProfileForStub(t *testing.T) {
	tests := []struct {
		magic string
		want  Profile
	}{
		{"#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####", Stub252},
		{"#### LoaderInfo: systemd-stub 254.5 ####", Stub254},
		{"#### LoaderInfo: systemd-stub 257.2 ####", Stub256},
		{"", Stub256},
	}
	for _, tc := range tests {
		t.Run(tc.magic, func(t *testing.T) {
			assert.Equal(t, tc.want.Name, ProfileForStub(tc.magic).Name)
		})
	}
	assert.False(t, Stub252.Measured(".pcrsig"))
	assert.True(t, Stub252.Measured(".pcrpkey"))
	assert.False(t, Stub252.Measured(".uname"))
	assert.True(t, Stub254.Measured(".uname"))
}

func TestEmptySectionsAreSkipped(t *testing.T) {
	a := PredictSections(Stub252, map[string][]byte{".linux": []byte("k")})
	b := PredictSections(Stub252, map[string][]byte{".linux": []byte("k"), ".cmdline": nil, ".pcrsig": []byte("{}")})
	assert.Equal(t, a, b)
	c := PredictSections(Stub252, map[string][]byte{".linux": []byte("k"), ".cmdline": []byte("x")})
	assert.NotEqual(t, a, c)
}

// sampleSections writes sample section files and returns them with their
// systemd-measure flags.
func sampleSections(t *testing.T) (map[string][]byte, []string) {
	dir := t.TempDir()
	pub := pcrKey(t).Public()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	secs := map[string][]byte{
		".linux":   []byte(strings.Repeat("kernel ", 5000)),
		".osrel":   []byte("ID=hadron\nVERSION_ID=1\n"),
		".cmdline": []byte("console=ttyS0 quiet"),
		".initrd":  []byte(strings.Repeat("initrd\n", 3000)),
		".pcrpkey": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
	}
	var args []string
	for name, data := range secs {
		p := filepath.Join(dir, strings.TrimPrefix(name, "."))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		args = append(args, "--"+strings.TrimPrefix(name, ".")+"="+p)
	}
	return secs, args
}

var testKey *rsa.PrivateKey

func pcrKey(t *testing.T) *rsa.PrivateKey {
	if testKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		testKey = k
	}
	return testKey
}

// TestAgainstSystemdMeasure compares predictions and signatures with
// systemd's own systemd-measure (252 here: its section list is Stub252).
func TestAgainstSystemdMeasure(t *testing.T) {
	if _, err := os.Stat(systemdMeasure); err != nil {
		t.Skipf("%s not installed (apt-get install systemd)", systemdMeasure)
	}
	secs, args := sampleSections(t)
	base := PredictSections(Stub252, secs)
	preds := PredictPhases(base, DefaultPhases)

	out, err := exec.Command(systemdMeasure, append([]string{"calculate", "--bank=sha256", "--json=short"}, args...)...).Output()
	require.NoError(t, err)
	var calc map[string][]struct {
		Phase string `json:"phase"`
		PCR   int    `json:"pcr"`
		Hash  string `json:"hash"`
	}
	require.NoError(t, json.Unmarshal(out, &calc))
	require.Len(t, calc["sha256"], len(preds))
	for i, p := range preds {
		assert.Equal(t, p.Phase, calc["sha256"][i].Phase)
		assert.Equal(t, p.PCR.String(), calc["sha256"][i].Hash, "phase %s", p.Phase)
	}

	// The stub-only value (empty phase).
	out, err = exec.Command(systemdMeasure, append([]string{"calculate", "--bank=sha256", "--phase="}, args...)...).Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), "11:sha256="+base.String())

	// Signing: PKCS#1 v1.5 is deterministic, so the documents must match.
	keyFile := filepath.Join(t.TempDir(), "pcr.key")
	keyDER, err := x509.MarshalPKCS8PrivateKey(pcrKey(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	pubFile := filepath.Join(t.TempDir(), "pcr.pub")
	require.NoError(t, os.WriteFile(pubFile, secs[".pcrpkey"], 0o644))
	// systemd-measure 252 computes the policy digest in a TPM trial
	// session, so it needs a TPM: a throwaway swtpm.
	tpm := startSwtpm(t)
	cmd := exec.Command(systemdMeasure, append([]string{"sign", "--bank=sha256", "--json=short", "--private-key=" + keyFile, "--public-key=" + pubFile, "--tpm2-device=swtpm:path=" + tpm}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	require.NoError(t, err, stderr.String())
	var theirs, ours Signature
	require.NoError(t, json.Unmarshal(out, &theirs))
	sig, err := Sign(preds, pcrKey(t))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(sig, &ours))
	// systemd-measure 252 knows no policy references: the initrd-bound
	// entry is checked by TestSignInitrdPolicyRef.
	var unbound []SignatureEntry
	for _, e := range ours["sha256"] {
		if e.Ref == "" {
			unbound = append(unbound, e)
		}
	}
	assert.Equal(t, theirs, Signature{"sha256": unbound})
}

// startSwtpm runs a software TPM for the test and returns its socket.
func startSwtpm(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Skip("swtpm not installed (apt-get install swtpm)")
	}
	dir, err := os.MkdirTemp("", "swtpm")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+sock+".ctrl",
		"--flags", "not-need-init,startup-clear")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock + ".ctrl"); err == nil {
			if _, err := os.Stat(sock); err == nil {
				return sock
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("swtpm did not create its sockets")
	return ""
}

func TestSignVerify(t *testing.T) {
	preds := PredictPhases(PredictSections(Stub252, map[string][]byte{".linux": []byte("k")}), DefaultPhases)
	sig, err := Sign(preds, pcrKey(t))
	require.NoError(t, err)
	pols, err := Verify(sig, pcrKey(t).Public())
	require.NoError(t, err)
	require.Len(t, pols, len(preds)+1, "every phase, then enter-initrd again bound to the initrd policy reference")
	for i, p := range preds {
		assert.Equal(t, SignedPolicy{Policy: PolicyPCRDigest(p.PCR)}, pols[i])
	}
	require.Equal(t, "enter-initrd", preds[0].Phase)
	assert.Equal(t, SignedPolicy{Policy: PolicyPCRDigest(preds[0].PCR), Ref: "initrd"}, pols[len(preds)])
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, err = Verify(sig, other.Public())
	assert.ErrorContains(t, err, "another key")

	tampered := strings.Replace(string(sig), `"pol":"`, `"pol":"00`, 1)
	_, err = Verify([]byte(tampered), pcrKey(t).Public())
	assert.Error(t, err)
}

func BenchmarkPredict30MiB(b *testing.B) {
	secs := map[string][]byte{".linux": make([]byte, 10<<20), ".initrd": make([]byte, 20<<20)}
	b.SetBytes(30 << 20)
	for b.Loop() {
		PredictSections(Stub252, secs)
	}
}

// TestSignInitrdPolicyRef: the initrd-bound entry is what systemd's
// tpm2_make_policy_authorize_tbs_data() expects a signature over: the
// policy digest followed by SHA-256 of the reference string, and carries
// "ref":"initrd" in the JSON; a signature over the bare policy (an entry
// whose ref was dropped or added by someone without the key) fails.
func TestSignInitrdPolicyRef(t *testing.T) {
	preds := PredictPhases(PredictSections(Stub252, map[string][]byte{".linux": []byte("k")}), DefaultPhases)
	key := pcrKey(t)
	sig, err := Sign(preds, key)
	require.NoError(t, err)
	var doc Signature
	require.NoError(t, json.Unmarshal(sig, &doc))
	var refd []SignatureEntry
	for _, e := range doc["sha256"] {
		if e.Ref != "" {
			refd = append(refd, e)
		}
	}
	require.Len(t, refd, 1)
	assert.Equal(t, "initrd", refd[0].Ref)
	pol := PolicyPCRDigest(preds[0].PCR)
	assert.Equal(t, pol.String(), refd[0].Pol)
	refSum := sha256.Sum256([]byte("initrd"))
	h := sha256.Sum256(append(pol[:], refSum[:]...))
	raw, err := base64.StdEncoding.DecodeString(refd[0].Sig)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, h[:], raw))

	// The same signature presented as unbound does not verify.
	unbound := strings.Replace(string(sig), `"ref":"initrd",`, "", 1)
	_, err = Verify([]byte(unbound), key.Public())
	assert.ErrorContains(t, err, "verification error")
}
