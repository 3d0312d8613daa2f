package qemu_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/uki"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
)

// Trusted boot end to end on real firmware (OVMF, Secure Boot on) with
// systemd-boot and a UKI whose initrd prints a marker. Enable with
// HADRON_QEMU=1.

const (
	trustedStub     = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	trustedBoot     = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	trustedMarker   = "HADRON-TRUSTED-BOOT-OK"
	trustedRefusal  = "Error loading"
	trustedCmdline  = "console=ttyS0 panic=-1 quiet"
	trustedBootTime = 6 * time.Minute
)

var trustedFail = []string{"Kernel panic", "ASSERT_EFI_ERROR", "Error registering initrd"}

// trustedInit prints PCR 11 (when a TPM is there) and the marker.
const trustedInit = `
if [ -r /sys/class/tpm/tpm0/pcr-sha256/11 ]; then
  echo "PCR11=$(cat /sys/class/tpm/tpm0/pcr-sha256/11)"
else
  echo "PCR11=none"
fi`

// trustedParts are the inputs shared by all variants.
type trustedParts struct {
	unsigned []byte // UKI, unsigned, with .pcrsig/.pcrpkey
	pcr11    string // hadron uki inspect's prediction
	keys     string // from secureboot.Generate
	snakeoil *secureboot.KeyPair
}

func trustedSetup(t *testing.T) trustedParts {
	t.Helper()
	qemutest.Require(t, "swtpm", "openssl")
	p, err := buildTrustedParts(t, qemutest.DebianKernel(t))
	require.NoError(t, err)
	return p
}

func buildTrustedParts(t *testing.T, kdir string) (trustedParts, error) {
	var p trustedParts
	work := t.TempDir()
	kernel, err := os.ReadFile(filepath.Join(kdir, "vmlinuz"))
	if err != nil {
		return p, err
	}
	uname, _ := os.ReadFile(filepath.Join(kdir, "uname"))
	stub, err := os.ReadFile(trustedStub)
	if err != nil {
		return p, err
	}
	p.keys = filepath.Join(work, "keys")
	if err := secureboot.Generate(p.keys, secureboot.GenerateOptions{CommonName: "Hadron test"}); err != nil {
		return p, err
	}
	pcrKey, err := secureboot.LoadKey(secureboot.KeyFile(p.keys, secureboot.PCRKeyName))
	if err != nil {
		return p, err
	}
	res, err := uki.Build(uki.Config{
		Stub:      stub,
		Kernel:    kernel,
		Initrds:   [][]byte{qemutest.BusyboxInitrd(t, qemutest.MarkerScript(trustedInit, trustedMarker))},
		Cmdline:   trustedCmdline,
		OSRelease: []byte("ID=hadron\nNAME=Hadron\nVERSION_ID=test\nPRETTY_NAME=\"Hadron trusted boot test\"\n"),
		Uname:     string(uname),
		PCRKey:    pcrKey,
	})
	if err != nil {
		return p, err
	}
	p.unsigned = res.Image
	info, err := uki.Inspect(res.Image)
	if err != nil {
		return p, err
	}
	p.pcr11 = info.PCR11

	// Debian's snakeoil key is encrypted with the password "snakeoil";
	// hadron only takes decrypted keys, so decrypt it for the test.
	plain := filepath.Join(work, "snakeoil.key")
	out, err := exec.Command("openssl", "pkey", "-in", qemutest.SnakeoilKey, "-passin", "pass:snakeoil", "-out", plain).CombinedOutput()
	if err != nil {
		return p, fmt.Errorf("decrypt snakeoil key: %w: %s", err, out)
	}
	p.snakeoil, err = secureboot.LoadKeyPair(plain, qemutest.SnakeoilCert)
	return p, err
}

// esp lays out an ESP directory: signed-or-not systemd-boot as the
// removable-media loader, the UKI in EFI/Linux, loader.conf.
func esp(t *testing.T, bootloader, ukiImage []byte, loaderConf string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"EFI/BOOT/BOOTX64.EFI": bootloader,
		"EFI/Linux/hadron.efi": ukiImage,
		"loader/loader.conf":   []byte(loaderConf),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	return dir
}

func signWith(t *testing.T, kp *secureboot.KeyPair, image []byte) []byte {
	t.Helper()
	out, err := secureboot.SignPE(image, kp)
	require.NoError(t, err)
	return out
}

func readBootloader(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(trustedBoot)
	require.NoError(t, err, "systemd-boot-efi must be installed")
	return b
}

// TestTrustedBootSnakeoil boots with Secure Boot on and Debian's snakeoil
// keys enrolled: signed systemd-boot + signed UKI boot; an unsigned or
// modified UKI is refused by the firmware's image verification.
func TestTrustedBootSnakeoil(t *testing.T) {
	p := trustedSetup(t)
	sdboot := signWith(t, p.snakeoil, readBootloader(t))
	signed := signWith(t, p.snakeoil, p.unsigned)
	tampered := append([]byte(nil), signed...)
	tampered[len(tampered)/2] ^= 0x01 // inside .linux, after signing

	tests := []struct {
		name   string
		image  []byte
		refuse bool
	}{
		{"signed UKI boots", signed, false},
		{"unsigned UKI is refused", p.unsigned, true},
		{"modified UKI is refused", tampered, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := esp(t, sdboot, tc.image, "timeout 0\n")
			args := append(qemutest.UEFI(t, true, qemutest.OVMFVarsSnakeoil), qemutest.ESPDrive(dir)...)
			cfg := qemutest.Config{Args: args, Marker: trustedMarker, FailMarkers: append([]string{trustedRefusal}, trustedFail...), Timeout: trustedBootTime}
			if tc.refuse {
				cfg.Marker, cfg.FailMarkers = trustedRefusal, append([]string{trustedMarker}, trustedFail...)
			}
			res := qemutest.Run(t, cfg)
			t.Logf("%s: marker after %s", tc.name, res.Elapsed.Round(100*time.Millisecond))
			if tc.refuse {
				assert.Regexp(t, `Error loading .*hadron\.efi: (Security Violation|Access Denied)`, res.Serial)
			} else {
				assert.Contains(t, res.Serial, "PCR11=none", "no TPM attached in this variant")
			}
		})
	}
}

// TestTrustedBootUnsignedBootloaderRefused checks the firmware itself
// refuses an unsigned systemd-boot.
func TestTrustedBootUnsignedBootloaderRefused(t *testing.T) {
	p := trustedSetup(t)
	dir := esp(t, readBootloader(t), signWith(t, p.snakeoil, p.unsigned), "timeout 0\n")
	args := append(qemutest.UEFI(t, true, qemutest.OVMFVarsSnakeoil), qemutest.ESPDrive(dir)...)
	// OVMF reports the failed image load and falls through its boot
	// options; systemd-boot must never print its own banner text.
	res, err := qemutest.Boot(t.Context(), t.TempDir(), qemutest.Config{
		Args: args, Marker: "Access Denied", FailMarkers: []string{trustedMarker, "Enrolling", "Error loading"}, Timeout: 3 * time.Minute,
	})
	require.NoError(t, err, res.Serial)
	assert.NotContains(t, res.Serial, trustedMarker)
}

// TestTrustedBootEnrollHadronKeys starts OVMF in setup mode (no keys),
// lets systemd-boot enroll the PK/KEK/db .auth files that
// `hadron keys generate` wrote, reboots with Secure Boot on and boots the
// UKI signed with the hadron db key. A second boot from the same variable
// store then refuses an unsigned UKI, proving the keys are in force.
func TestTrustedBootEnrollHadronKeys(t *testing.T) {
	p := trustedSetup(t)
	db, err := secureboot.LoadKeyPair(secureboot.KeyFile(p.keys, secureboot.DBName), secureboot.CertFile(p.keys, secureboot.DBName))
	require.NoError(t, err)
	sdboot := signWith(t, db, readBootloader(t))
	dir := esp(t, sdboot, signWith(t, db, p.unsigned), "timeout 0\nsecure-boot-enroll force\n")
	// systemd-boot 252 enrolls "force" keys from /loader/keys/auto.
	keyDir := filepath.Join(dir, "loader", "keys", "auto")
	require.NoError(t, os.MkdirAll(keyDir, 0o755))
	for _, n := range []string{"PK", "KEK", "db"} {
		b, err := os.ReadFile(filepath.Join(p.keys, n+".auth"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(keyDir, n+".auth"), b, 0o644))
	}
	vars := filepath.Join(t.TempDir(), "OVMF_VARS.fd")
	b, err := os.ReadFile(qemutest.OVMFVarsEmpty)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(vars, b, 0o644))

	res := qemutest.Run(t, qemutest.Config{
		Args: append(qemutest.UEFIWithVars(true, vars), qemutest.ESPDrive(dir)...), Marker: trustedMarker,
		AllowReboot: true, Timeout: trustedBootTime,
		FailMarkers: append([]string{"Failed to write", trustedRefusal}, trustedFail...),
	})
	t.Logf("enroll + reboot + boot: marker after %s", res.Elapsed.Round(100*time.Millisecond))
	assert.Contains(t, res.Serial, "Enrolling secure boot keys")

	t.Run("unsigned UKI refused after enrollment", func(t *testing.T) {
		dir := esp(t, sdboot, p.unsigned, "timeout 0\n")
		res := qemutest.Run(t, qemutest.Config{
			Args: append(qemutest.UEFIWithVars(true, vars), qemutest.ESPDrive(dir)...), Marker: trustedRefusal,
			FailMarkers: append([]string{trustedMarker, "Enrolling"}, trustedFail...), Timeout: trustedBootTime,
		})
		assert.Regexp(t, `Error loading .*hadron\.efi: (Security Violation|Access Denied)`, res.Serial)
	})
}

// TestTrustedBootPCR11 boots the signed UKI with a software TPM and
// compares PCR 11 as the kernel reads it with `hadron uki inspect`'s
// prediction.
func TestTrustedBootPCR11(t *testing.T) {
	p := trustedSetup(t)
	dir := esp(t, signWith(t, p.snakeoil, readBootloader(t)), signWith(t, p.snakeoil, p.unsigned), "timeout 0\n")
	args := append(qemutest.UEFI(t, true, qemutest.OVMFVarsSnakeoil), qemutest.ESPDrive(dir)...)
	args = append(args, qemutest.SWTPM(t)...)
	res := qemutest.Run(t, qemutest.Config{Args: args, Marker: trustedMarker, FailMarkers: append([]string{trustedRefusal}, trustedFail...), Timeout: trustedBootTime})
	t.Logf("with swtpm: marker after %s", res.Elapsed.Round(100*time.Millisecond))
	m := regexp.MustCompile(`PCR11=([0-9A-Fa-f]{64}|none)`).FindStringSubmatch(res.Serial)
	require.NotNil(t, m, "initrd did not print PCR 11")
	require.NotEqual(t, "none", m[1], "no TPM in the guest")
	assert.Equal(t, p.pcr11, strings.ToLower(m[1]), "PCR 11 in the guest must equal the prediction")
}
