package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/uki"
)

func runTrustedCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"-C", t.TempDir()}, args...))
	err := cmd.Execute()
	return out.String(), err
}

// TestUKIKeysSignCLI drives keys generate → uki build (signed, with PCR
// policy) → uki inspect → sign, as a user would.
func TestUKIKeysSignCLI(t *testing.T) {
	if _, err := os.Stat(defaultStub); err != nil {
		t.Skipf("%s not installed (apt-get install systemd-boot-efi)", defaultStub)
	}
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	_, err := runTrustedCmd(t, "keys", "generate", keys)
	require.NoError(t, err)
	st, err := os.Stat(keys)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	for _, n := range []string{"PK", "KEK", "db", "pcr"} {
		st, err := os.Stat(secureboot.KeyFile(keys, n))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), n)
	}
	for _, n := range []string{"PK.auth", "KEK.auth", "db.auth", "db.crt", "pcr.pub.pem", "GUID"} {
		assert.FileExists(t, filepath.Join(keys, n))
	}
	_, err = runTrustedCmd(t, "keys", "generate", keys)
	assert.ErrorContains(t, err, "refusing to overwrite")

	kernel := filepath.Join(dir, "vmlinuz")
	require.NoError(t, os.WriteFile(kernel, append([]byte("MZ"), bytes.Repeat([]byte{7}, 5000)...), 0o644))
	initrd := filepath.Join(dir, "initrd")
	require.NoError(t, os.WriteFile(initrd, []byte("070701fake"), 0o644))
	osrel := filepath.Join(dir, "os-release")
	require.NoError(t, os.WriteFile(osrel, []byte("ID=hadron\nBUILD_ID=1700000000\n"), 0o644))
	out := filepath.Join(dir, "hadron.efi")
	stdout, err := runTrustedCmd(t, "uki", "build", "-o", out, "--kernel", kernel, "--initrd", initrd,
		"--os-release", osrel, "--cmdline", "console=ttyS0", "--uname", "6.1.0",
		"--pcr-key", secureboot.KeyFile(keys, "pcr"),
		"--sign-key", secureboot.KeyFile(keys, "db"), "--sign-cert", secureboot.CertFile(keys, "db"))
	require.NoError(t, err, stdout)
	assert.Contains(t, stdout, "signed: true")

	js, err := runTrustedCmd(t, "uki", "inspect", "--json", out)
	require.NoError(t, err)
	var info uki.Info
	require.NoError(t, json.Unmarshal([]byte(js), &info))
	assert.True(t, info.Signed)
	assert.Equal(t, "valid", info.PCRSig)
	assert.Contains(t, stdout, "pcr11 "+info.PCR11+" (after systemd-stub)", "build and inspect agree")

	text, err := runTrustedCmd(t, "uki", "inspect", out)
	require.NoError(t, err)
	assert.Contains(t, text, ".linux")
	assert.Contains(t, text, "enter-initrd:leave-initrd (signed)")

	img, err := os.ReadFile(out)
	require.NoError(t, err)
	_, err = secureboot.VerifyPE(img)
	require.NoError(t, err)

	resigned := filepath.Join(dir, "resigned.efi")
	_, err = runTrustedCmd(t, "sign", "--key", secureboot.KeyFile(keys, "KEK"), "--cert", secureboot.CertFile(keys, "KEK"), out, resigned)
	require.NoError(t, err)
	b, err := os.ReadFile(resigned)
	require.NoError(t, err)
	sig, err := secureboot.VerifyPE(b)
	require.NoError(t, err)
	assert.Contains(t, sig.Signers[0].Subject.CommonName, "KEK")
}

// TestKeyErrorsDoNotLeak feeds broken keys and checks that the error names
// the file but carries none of its content.
func TestKeyErrorsDoNotLeak(t *testing.T) {
	dir := t.TempDir()
	secret := "TOPSECRETMATERIAL0123456789"
	tests := []struct {
		name, content, want string
	}{
		{"not PEM", secret, "no PEM private key block"},
		{"bad PKCS8", "-----BEGIN PRIVATE KEY-----\n" + "VE9QU0VDUkVUTUFURVJJQUwwMTIzNDU2Nzg5" + "\n-----END PRIVATE KEY-----\n", "cannot parse"},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nVE9QU0VDUkVU\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted private keys are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".key")
			require.NoError(t, os.WriteFile(key, []byte(tc.content), 0o600))
			out, err := runTrustedCmd(t, "sign", "--key", key, "--cert", "/nonexistent.crt", "in", "out")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), key)
			for _, s := range []string{secret, "VE9QU0VDUkVU"} {
				assert.NotContains(t, err.Error(), s)
				assert.NotContains(t, out, s)
			}
		})
	}
}

// TestUKIBuildNeedsOSRelease checks that `uki build` never writes a UKI
// without .osrel: without --os-release it refuses (naming the flag and what
// to pass), an os-release that systemd-boot would skip is refused, and a
// good one ends up in .osrel byte for byte.
func TestUKIBuildNeedsOSRelease(t *testing.T) {
	if _, err := os.Stat(defaultStub); err != nil {
		t.Skipf("%s not installed (apt-get install systemd-boot-efi)", defaultStub)
	}
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	require.NoError(t, os.WriteFile(kernel, append([]byte("MZ"), bytes.Repeat([]byte{7}, 5000)...), 0o644))
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	tests := []struct {
		name    string
		osrel   []string // extra arguments
		wantErr []string
	}{
		{"no flag", nil, []string{"--os-release is required", ".osrel", "usr/lib/os-release"}},
		{"missing file", []string{"--os-release", filepath.Join(dir, "nope")}, []string{"--os-release", "no such file"}},
		{"no version", []string{"--os-release", write("noversion", "ID=hadron\n")}, []string{"os-release has no version", "BUILD_ID"}},
		{"empty", []string{"--os-release", write("empty", "")}, []string{"no os-release (.osrel)"}},
		{"good", []string{"--os-release", write("good", "ID=hadron\nBUILD_ID=1700000000\n")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".efi")
			args := append([]string{"uki", "build", "-o", out, "--kernel", kernel}, tc.osrel...)
			stdout, err := runTrustedCmd(t, args...)
			if tc.wantErr != nil {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				assert.NoFileExists(t, out, "nothing is written on error")
				return
			}
			require.NoError(t, err, stdout)
			img, err := os.ReadFile(out)
			require.NoError(t, err)
			info, err := uki.Inspect(img)
			require.NoError(t, err)
			want := sha256.Sum256([]byte("ID=hadron\nBUILD_ID=1700000000\n"))
			var osrel string
			for _, s := range info.Sections {
				if s.Name == ".osrel" {
					osrel = s.SHA256
				}
			}
			assert.Equal(t, hex.EncodeToString(want[:]), osrel, ".osrel holds the file")
		})
	}
}
