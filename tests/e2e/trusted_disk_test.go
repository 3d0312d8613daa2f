package e2e

import (
	"context"
	"encoding/hex"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/disk/trusted"
	"github.com/hadron-linux/hadron/bootchain/pe"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeImageCheck writes <image>-check, images/<image> (a boot variant
// of images/base: base-trusted, base-trusted-arm64, base-standard) plus
// the boot-check package, into the tree at dir.
func writeImageCheck(t *testing.T, dir, image string) {
	t.Helper()
	writeBaseCheck(t, dir)
	file := "images/" + image + ".yaml"
	def, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	check := regexp.MustCompile(`(?m)^name: `+regexp.QuoteMeta(image)+`$`).ReplaceAllString(string(def), "name: "+image+"-check")
	check = regexp.MustCompile(`(?m)^packages:\n`).ReplaceAllString(check, "packages:\n  - boot-check\n")
	require.Contains(t, check, "  - boot-check\n", "%s has no packages: list to extend", file)
	// HADRON_E2E_CMDLINE adds kernel arguments for debugging, e.g.
	// systemd.journald.forward_to_console=1 (with HADRON_TEST_ARTIFACTS
	// set, the serial logs are kept: keepSerial).
	if extra := os.Getenv("HADRON_E2E_CMDLINE"); extra != "" {
		cmdline := regexp.MustCompile(`(?m)^cmdline: (.*)$`)
		require.Regexp(t, cmdline, check, "%s has no cmdline: line", file)
		check = cmdline.ReplaceAllString(check, "cmdline: $1 "+extra)
	}
	writeFile(t, dir, "images/"+image+"-check.yaml", check)
}

// buildDisk builds image's disk target from the tree at dir, signed
// with the snakeoil db key (snakeoilSecrets), with fixtures served as
// upstream sources, for platforms (the host's when none), and returns the
// path of the disk image.
func buildDisk(t *testing.T, e env, dir, image string, fixtures []fixture, platforms ...string) string {
	t.Helper()
	tools, secrets, _ := snakeoilSecrets(t)
	dest := t.TempDir()
	req := e.request(dir, image+"/disk")
	if len(platforms) > 0 {
		req.Platforms = platformsOf(t, platforms...)
	}
	if len(fixtures) > 0 {
		req.Mirrors = maps.Clone(e.mirrors)
		maps.Copy(req.Mirrors, serveFixtures(t, fixtures...))
	}
	req.ToolsDir = tools
	req.Outputs = []string{"type=local,dest=" + dest}
	req.Secrets = secrets
	var logs buildLog
	req.OnStatus = logs.add
	start := time.Now()
	_, err := solve.Build(context.Background(), e.client, req)
	require.NoError(t, err, "the build steps' last output:\n%s", logs.tail(60))
	t.Logf("%s/disk built in %s", image, time.Since(start).Round(time.Millisecond))
	return filepath.Join(dest, image+".raw")
}

// espFile copies one file out of the ESP (the first partition) of a disk
// image with mtools.
func espFile(t *testing.T, img, file string) []byte {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(file))
	out, err := exec.Command("mcopy", "-n", "-i", espImage(t, img), "::"+file, dst).CombinedOutput()
	require.NoError(t, err, "mcopy %s: %s", file, out)
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	return b
}

// keepSerial writes a boot's serial log to $HADRON_TEST_ARTIFACTS as
// <test>.<name>.serial.log when that variable is set.
func keepSerial(t *testing.T, name, serial string) {
	t.Helper()
	dir := os.Getenv(qemutest.ArtifactsEnv)
	if dir == "" {
		return
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"."+name+".serial.log")
	require.NoError(t, os.WriteFile(file, []byte(serial), 0o644))
	t.Logf("serial log kept in %s", file)
}

// espImage returns the mtools image argument (file@@offset) for the ESP
// (the partition of the EFI System type) of a GPT disk image.
func espImage(t *testing.T, img string) string {
	t.Helper()
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	table, err := gpt.Read(f, disk.SectorSize, disk.SectorSize)
	require.NoError(t, err)
	for _, p := range table.Partitions {
		if strings.EqualFold(string(p.Type), string(gpt.EFISystemPartition)) {
			return img + "@@" + strconv.FormatInt(int64(p.Start)*disk.SectorSize, 10)
		}
	}
	t.Fatalf("%s: no EFI System partition", img)
	return ""
}

// replaceESPFile writes data over file on a disk image's ESP.
func replaceESPFile(t *testing.T, img, file string, data []byte) {
	t.Helper()
	src := filepath.Join(t.TempDir(), filepath.Base(file))
	require.NoError(t, os.WriteFile(src, data, 0o644))
	out, err := exec.Command("mcopy", "-o", "-i", espImage(t, img), src, "::"+file).CombinedOutput()
	require.NoError(t, err, "mcopy %s: %s", file, out)
}

// copyFile copies a disk image, so that a boot that writes to it (boot
// counting, a changed UKI) leaves the original as it was.
func copyFile(t *testing.T, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, os.WriteFile(dst, b, 0o644))
	return dst
}

// ukiSection returns a UKI section's content as text (NUL padding cut).
func ukiSection(t *testing.T, ukiBytes []byte, name string) string {
	t.Helper()
	f, err := pe.Parse(ukiBytes)
	require.NoError(t, err)
	sec, ok := f.Section(name)
	require.True(t, ok, "the UKI has a %s section", name)
	return strings.TrimRight(string(f.SectionData(sec)), "\x00")
}

// resignedUKI is what someone holding the Secure Boot db key but not the
// PCR key can make of a UKI: the same UKI with some sections' content
// replaced, Authenticode-signed again with the db key, its .pcrsig (the
// signed PCR 11 policy for the original) left as it was. systemd-stub
// measures sections in a fixed order, not file order, so moving the
// replaced sections to the end changes nothing but their content.
func resignedUKI(t *testing.T, ukiBytes []byte, dbKey string, replace map[string]string) []byte {
	t.Helper()
	f, err := pe.Parse(ukiBytes)
	require.NoError(t, err)
	var secs []pe.NewSection
	var drop []string
	for _, name := range slices.Sorted(maps.Keys(replace)) {
		secs = append(secs, pe.NewSection{Name: name, Data: []byte(replace[name])})
		drop = append(drop, name)
	}
	changed, _, err := f.AppendSections(secs, drop...)
	require.NoError(t, err)
	kp, err := secureboot.LoadKeyPair(dbKey, qemutest.SnakeoilCert)
	require.NoError(t, err)
	signed, err := secureboot.SignPE(changed, kp)
	require.NoError(t, err)
	return signed
}

// newerOSRelease returns osrel with an IMAGE_VERSION that systemd-boot
// sorts before the version osrel has (VERSION_ID, else BUILD_ID): the
// os-release of an update.
func newerOSRelease(t *testing.T, osrel string) string {
	t.Helper()
	version := ""
	for _, key := range []string{"BUILD_ID=", "VERSION_ID="} {
		for _, l := range strings.Split(osrel, "\n") {
			if v, ok := strings.CutPrefix(l, key); ok {
				version = strings.Trim(v, `"`)
			}
		}
	}
	require.NotEmpty(t, version, "os-release has neither VERSION_ID nor BUILD_ID")
	return strings.TrimRight(osrel, "\n") + "\nIMAGE_VERSION=" + version + ".1\n"
}

// unsealLine is the boot check's report on the credential it was given
// (or sealed itself): "ok <secret>" or "failed <error>".
func unsealLine(serial string) string {
	m := regexp.MustCompile(`HADRON-UNSEAL: (.*)`).FindStringSubmatch(serial)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// pcr11Line is the boot check's PCR 11 (sha256 bank) in lower-case hex,
// "" when the console has none.
func pcr11Line(serial string) string {
	m := regexp.MustCompile(`HADRON-PCR11: ([0-9a-fA-F]{64})`).FindStringSubmatch(serial)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// flipRootByte changes one byte of the erofs superblock on the disk's
// root partition (the first partition of the Discoverable Partitions root
// type) and returns the changed copy of the image.
func flipRootByte(t *testing.T, img string, arch recipe.Arch) string {
	t.Helper()
	bad := copyFile(t, img)
	f, err := os.OpenFile(bad, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	table, err := gpt.Read(f, disk.SectorSize, disk.SectorSize)
	require.NoError(t, err)
	for _, p := range table.Partitions {
		if strings.EqualFold(string(p.Type), string(trusted.Types[arch].Root)) {
			at := int64(p.Start)*disk.SectorSize + 1024 + 16 // inside the erofs superblock
			one := make([]byte, 1)
			_, err := f.ReadAt(one, at)
			require.NoError(t, err)
			one[0] ^= 0x01
			_, err = f.WriteAt(one, at)
			require.NoError(t, err)
			return bad
		}
	}
	t.Fatal("no root partition on the disk")
	return ""
}

// checkTrustedDisk checks a trusted disk image built for arch on the
// host: its verity pair (checkVerityDisk), and the boot-counted UKI of a
// new disk, "<image>+3.efi", signed with a command line and a signed PCR
// 11 prediction for every phase. It returns the root hash, the UKI and
// the signed predictions (PCR 11 value in lower-case hex → phase).
func checkTrustedDisk(t *testing.T, img, image string, arch recipe.Arch) (string, []byte, map[string]string) {
	t.Helper()
	st, err := os.Stat(img)
	require.NoError(t, err)
	t.Logf("disk image %d MiB", st.Size()>>20)
	rootHash := checkVerityDisk(t, img, arch)
	// A new disk's UKI carries systemd-boot's boot counter: three tries.
	ukiBytes := espFile(t, img, "EFI/Linux/"+image+"+3.efi")
	info := inspectSignedUKI(t, ukiBytes)
	sections := map[string]bool{}
	for _, s := range info.Sections {
		sections[s.Name] = true
	}
	require.True(t, sections[".cmdline"], "the UKI has a .cmdline section")
	predicted := map[string]string{}
	for _, p := range info.Phases {
		// Only what .pcrsig signs counts: a prediction nobody signed
		// unseals nothing.
		assert.True(t, p.Signed, ".pcrsig signs the prediction for phase %s", p.Phase)
		if p.Signed {
			predicted[strings.ToLower(p.PCR11)] = p.Phase
		}
	}
	return rootHash, ukiBytes, predicted
}

// assertTrustedFirstBoot checks the first boot of the trusted disk img
// (image's boot check, res): the initrd and then the verity root came up,
// multi-user.target without failed units, Secure Boot on, Hadron's
// systemd-boot and systemd-stub, the measured, boot-counted UKI, PCR 11
// equal to one of its signed predictions, the UKI blessed on the ESP and
// a secret sealed against the signed PCR policy decrypting. It returns
// the blessed UKI.
func assertTrustedFirstBoot(t *testing.T, res qemutest.Result, img, image, rootHash string, ukiBytes []byte, predicted map[string]string) []byte {
	t.Helper()
	t.Logf("firmware start to the boot check's marker: %s", res.Elapsed.Round(100*time.Millisecond))
	logBootTimes(t, res.Serial)
	assert.Contains(t, res.Serial, "Hadron Linux (base-initrd)", "systemd welcomed the initrd")
	assert.Contains(t, res.Serial, "Hadron Linux ("+image+")", "and the verity root after switching")
	assertSystemRunning(t, res.Serial, "multi-user.target without failed units")
	assert.Regexp(t, `HADRON-ROOTDEV: \S*verity`, res.Serial, "the root is a dm-verity device")
	assert.Contains(t, res.Serial, "roothash="+rootHash, "the root hash on the UKI's command line")
	assert.Regexp(t, `HADRON-SECUREBOOT: .*enabled`, res.Serial, "bootctl reports Secure Boot enabled")
	assert.Contains(t, res.Serial, "HADRON-BOOTLOADER: systemd-boot", "systemd-boot started the UKI")
	assert.Regexp(t, `HADRON-STUB: systemd-stub 262`, res.Serial, "Hadron's systemd-stub ran the UKI")
	assert.Regexp(t, `HADRON-MEASURED-UKI: \S*yes`, res.Serial, "bootctl reports the UKI measured")
	assert.Contains(t, res.Serial, "HADRON-UKI: /EFI/Linux/"+image+"+2-1.efi", "the boot-counted UKI (one try used) booted")
	if pcr := pcr11Line(res.Serial); assert.NotEmpty(t, pcr, "no PCR 11 line (TPM)") {
		phase, ok := predicted[pcr]
		assert.True(t, ok, "PCR 11 %s is none of the UKI's signed predictions %v", pcr, predicted)
		t.Logf("PCR 11 %s = prediction for phase %q", pcr, phase)
	}

	// The boot reached boot-complete.target: systemd-bless-boot renamed
	// the UKI on the ESP to its counter-less name, good for good.
	blessed := espFile(t, img, "EFI/Linux/"+image+".efi")
	assert.Equal(t, len(ukiBytes), len(blessed), "the blessed UKI is the one that booted")

	// A secret sealed with systemd-creds --with-key=tpm2-with-public-key
	// against the UKI's signed PCR 11 policy (the initrd handed the
	// policy on: tpm2-pcr-handoff) decrypts in the boot that sealed it.
	assert.Contains(t, res.Serial, "HADRON-PCRPOLICY: /run/systemd/tpm2-pcr-public-key.pem /run/systemd/tpm2-pcr-signature.json")
	assert.Equal(t, "ok hadron-secret", unsealLine(res.Serial), "the secret sealed in this boot decrypts")
	return blessed
}

// TestTrustedDiskBoots builds images/base-trusted (plus the boot check) as
// a whole disk, base-trusted-check/disk, entirely from Hadron's recipes:
// its kernel (qemu-amd64 board), systemd-boot and systemd-stub from the
// systemd recipe, the base-initrd image in the UKI, the root as erofs on
// dm-verity with roothash= on the signed command line. It boots the disk
// on OVMF with Secure Boot enforced (Debian's snakeoil db key signs) and
// a software TPM: systemd-boot must start the UKI, the initrd set up
// verity from the hash alone and switch into the root, and the system
// reach multi-user.target; PCR 11 must equal one of the UKI's signed
// predictions, and systemd-bless-boot must have marked the boot-counted
// UKI good. Then a copy with one byte of the root changed must fail
// verity. Full tier: systemd and the kernel are long compiles.
func TestTrustedDiskBoots(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-x86_64", "openssl", "mcopy", "swtpm")
	e := setup(t)
	dir := copyTree(t)
	writeImageCheck(t, dir, "base-trusted")

	img := buildDisk(t, e, dir, "base-trusted-check", nil)
	rootHash, ukiBytes, predicted := checkTrustedDisk(t, img, "base-trusted-check", recipe.ArchAMD64)

	// One TPM for the boots that seal and unseal (tpmState), a fresh one
	// for the others; extra are further QEMU arguments.
	tpmState := t.TempDir()
	boots := 0
	bootWith := func(disk, tpm string, extra []string, marker string, fail []string, timeout time.Duration) qemutest.Result {
		boots++
		args := append(qemutest.UEFI(t, true, qemutest.OVMFVarsSnakeoil), "-m", "1024",
			"-drive", "file="+disk+",if=virtio,format=raw")
		args = append(args, qemutest.SWTPMWithState(t, tpm)...)
		args = append(args, extra...)
		res := qemutest.Run(t, qemutest.Config{
			Args:        args,
			Marker:      marker,
			FailMarkers: fail,
			Timeout:     timeout,
			WaitExit:    marker == "HADRON-BASE-BOOTED",
		})
		keepSerial(t, "boot"+strconv.Itoa(boots), res.Serial)
		return res
	}
	boot := func(disk string, marker string, fail []string, timeout time.Duration) qemutest.Result {
		return bootWith(disk, "", nil, marker, fail, timeout)
	}
	res := bootWith(img, tpmState, nil, "HADRON-BASE-BOOTED",
		[]string{"Kernel panic", "Security Violation", "Access Denied", "You are in emergency mode", "Freezing execution"},
		12*time.Minute)
	blessed := assertTrustedFirstBoot(t, res, img, "base-trusted-check", rootHash, ukiBytes, predicted)
	// The secret sealed in the first boot ...
	sealed := regexp.MustCompile(`HADRON-SEALED: ([A-Za-z0-9+/=]+)`).FindStringSubmatch(res.Serial)
	require.NotNil(t, sealed, "no sealed credential on the console")
	cred := []string{"-smbios", "type=11,value=io.systemd.credential.binary:hadron.sealed=" + sealed[1]}

	// ... and in the next boot of the same UKI on the same TPM, given to
	// it as an SMBIOS credential ...
	res = bootWith(copyFile(t, img), tpmState, cred, "HADRON-BASE-BOOTED",
		[]string{"Kernel panic", "Security Violation", "You are in emergency mode"}, 12*time.Minute)
	assert.Equal(t, "ok hadron-secret", unsealLine(res.Serial), "the sealed secret decrypts in a later boot")

	// ... but not under a UKI whose command line changed, although that
	// UKI is signed with the db key and boots: its PCR 11 has no
	// signature in .pcrsig (the PCR key never signed it).
	tampered := copyFile(t, img)
	replaceESPFile(t, tampered, "EFI/Linux/base-trusted-check.efi",
		resignedUKI(t, blessed, snakeoilDBKey(t), map[string]string{
			".cmdline": ukiSection(t, blessed, ".cmdline") + " hadron.changed=1"}))
	res = bootWith(tampered, tpmState, cred, "HADRON-BASE-BOOTED",
		[]string{"Kernel panic", "Security Violation", "You are in emergency mode"}, 12*time.Minute)
	assert.Regexp(t, `HADRON-SECUREBOOT: .*enabled`, res.Serial, "the changed UKI passed Secure Boot")
	assert.Regexp(t, `HADRON-CMDLINE: .*hadron\.changed=1`, res.Serial, "and ran with the changed command line")
	if pcr := pcr11Line(res.Serial); assert.NotEmpty(t, pcr, "no PCR 11 line (TPM)") {
		_, ok := predicted[pcr]
		assert.False(t, ok, "PCR 11 of the changed UKI matches a signed prediction")
	}
	unseal := unsealLine(res.Serial)
	assert.True(t, strings.HasPrefix(unseal, "failed"), "the secret must not decrypt under the changed UKI, got %q", unseal)
	t.Logf("changed UKI: unseal %s", unseal)

	// Boot counting: an update (a newer UKI with one try, +1) whose boot
	// never reaches boot-complete.target (here it powers off on the way,
	// systemd.unit=poweroff.target) uses up its try, and the next boot
	// falls back to the blessed UKI.
	fallback := copyFile(t, img)
	replaceESPFile(t, fallback, "EFI/Linux/base-trusted-check-next+1.efi",
		resignedUKI(t, blessed, snakeoilDBKey(t), map[string]string{
			".cmdline": ukiSection(t, blessed, ".cmdline") + " systemd.unit=poweroff.target",
			".osrel":   newerOSRelease(t, ukiSection(t, blessed, ".osrel")),
		}))
	res = bootWith(fallback, "", nil, "reboot: Power down",
		[]string{"HADRON-BASE-BOOTED", "Security Violation", "Kernel panic"}, 8*time.Minute)
	assert.Contains(t, res.Serial, "systemd.unit=poweroff.target", "systemd-boot started the update first")
	espFile(t, fallback, "EFI/Linux/base-trusted-check-next+0-1.efi") // fails the test when missing
	res = bootWith(fallback, "", nil, "HADRON-BASE-BOOTED",
		[]string{"Kernel panic", "Security Violation", "You are in emergency mode", "reboot: Power down"}, 12*time.Minute)
	assert.NotContains(t, res.Serial, "systemd.unit=poweroff.target", "the used-up update is not started again")
	assertSystemRunning(t, res.Serial, "the blessed UKI boots after the failed update")
	t.Logf("boot counting: the update that failed is EFI/Linux/base-trusted-check-next+0-1.efi; the fallback reached its marker after %s",
		res.Elapsed.Round(100*time.Millisecond))

	// One byte of the root changed: dm-verity must refuse the block.
	bad := flipRootByte(t, img, recipe.ArchAMD64)
	res = boot(bad, "is corrupted", []string{"HADRON-BASE-BOOTED", "Security Violation"}, 8*time.Minute)
	t.Logf("tampered root refused after %s: %s", res.Elapsed.Round(100*time.Millisecond),
		regexp.MustCompile(`.*is corrupted.*`).FindString(res.Serial))
}

// TestTrustedDiskBootsArm64 is TestTrustedDiskBoots' trusted chain on
// arm64: images/base-trusted-arm64 plus the boot check, cross-built
// (Hadron's qemu-arm64 kernel, systemd-boot and systemd-stub for aa64,
// base-initrd and the root for arm64), booted on AAVMF (qemu-system-aarch64,
// virt, TCG) with Secure Boot enforced by the snakeoil keys and a software
// TPM. The first boot must pass every check of the amd64 first boot
// (assertTrustedFirstBoot: verity root, Secure Boot, measured UKI, PCR 11
// = a signed prediction, blessed UKI, sealed secret decrypts); a copy
// with one byte of the root changed must fail verity. Full tier.
func TestTrustedDiskBootsArm64(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-aarch64", "openssl", "mcopy", "swtpm")
	e := setup(t)
	dir := copyTree(t)
	writeImageCheck(t, dir, "base-trusted-arm64")
	const image = "base-trusted-arm64-check"

	img := buildDisk(t, e, dir, image, nil, "linux/arm64")
	rootHash, ukiBytes, predicted := checkTrustedDisk(t, img, image, recipe.ArchARM64)
	boot := func(name, disk, marker string, fail []string) qemutest.Result {
		args := append(qemutest.AAVMF(t, qemutest.AAVMFVarsSnakeoil), "-m", "1024",
			"-drive", "file="+disk+",if=virtio,format=raw")
		args = append(args, qemutest.SWTPMDevice(t, "", "tpm-tis-device")...)
		res := qemutest.Run(t, qemutest.Config{
			Binary:      "qemu-system-aarch64",
			Args:        args,
			Marker:      marker,
			FailMarkers: fail,
			Timeout:     30 * time.Minute,
			WaitExit:    marker == "HADRON-BASE-BOOTED",
		})
		keepSerial(t, name, res.Serial)
		return res
	}
	res := boot("first", img, "HADRON-BASE-BOOTED",
		[]string{"Kernel panic", "Security Violation", "Access Denied", "You are in emergency mode", "Freezing execution"})
	assertTrustedFirstBoot(t, res, img, image, rootHash, ukiBytes, predicted)
	assert.Contains(t, res.Serial, "HADRON-UNAME-M: aarch64", "an arm64 system booted")

	bad := flipRootByte(t, img, recipe.ArchARM64)
	res = boot("tampered", bad, "is corrupted", []string{"HADRON-BASE-BOOTED", "Security Violation"})
	t.Logf("tampered root refused after %s: %s", res.Elapsed.Round(100*time.Millisecond),
		regexp.MustCompile(`.*is corrupted.*`).FindString(res.Serial))
}

// diskCheckScript is the fixture initrd's program for
// TestTrustedDiskFromFixtures: it reports the command line the UKI gave
// the kernel and powers off.
const diskCheckScript = `#!/bin/sh
mount -t proc proc /proc
echo "HADRON-DISK-CMDLINE: $(cat /proc/cmdline)"
echo HADRON-DISK-BOOTED
poweroff -f
`

// writeDiskFixtures writes the fixture trusted disk tdisk into the tree at
// dir: the boot fixtures (Debian's kernel, systemd-boot and stub), an
// initrd image tdisk-rd whose program reports the command line and powers
// off, and tdisk itself; it returns the fixtures to serve.
func writeDiskFixtures(t *testing.T, dir string) []fixture {
	t.Helper()
	fixtures := writeBootFixtures(t, dir)
	writeFile(t, dir, "recipes/disk-check/files/hadron-disk-check", diskCheckScript)
	writeFile(t, dir, "recipes/disk-check/recipe.yaml", `# Test fixture: the program of a fixture initrd.
name: disk-check
version: "1"
license: MIT
files: [files]
build:
  style: custom
  install: |
    install -D -m 0755 /recipe/files/hadron-disk-check /out/usr/libexec/hadron-disk-check
    mkdir -p /out/proc /out/sys /out/dev
`)
	writeFile(t, dir, "images/tdisk-rd.yaml", "name: tdisk-rd\nkind: initrd\npackages: [busybox, disk-check]\narches: [amd64]\n")
	writeFile(t, dir, "images/tdisk.yaml", `name: tdisk
packages: [busybox, xz]
boot: trusted
kernel: debian-kernel
efi: debian-efi
initrd: tdisk-rd
cmdline: "console=ttyS0 rdinit=/usr/libexec/hadron-disk-check panic=-1"
arches: [amd64]
`)
	return fixtures
}

// TestTrustedDiskFromFixtures is the CI tier's whole-disk boot: the
// <image>/disk target of a trusted image booted through an initrd image,
// built in BuildKit from fixture recipes (Debian's kernel, systemd-boot
// and stub: the full tier has Hadron's own, see TestTrustedDiskBoots). The
// disk must carry the ESP and the verity pair that the root hash names,
// and boot on OVMF with Secure Boot enforced: systemd-boot finds the
// boot-counted UKI through loader.conf's pattern, and the kernel gets the
// signed command line with roothash=. (Debian's kernel has no built-in
// virtio-blk or dm-verity, so the root itself is checked on the host.)
func TestTrustedDiskFromFixtures(t *testing.T) {
	e := setup(t)
	qemutest.Require(t, "openssl", "mcopy")
	dir := copyTree(t)
	fixtures := writeDiskFixtures(t, dir)
	img := buildDisk(t, e, dir, "tdisk", fixtures)

	// On the host: the root partition hashes to the root hash on the
	// UKI's signed command line, and the partitions carry the UUIDs
	// systemd derives from it.
	inspectSignedUKI(t, espFile(t, img, "EFI/Linux/tdisk+3.efi"))
	rootHash := checkVerityDisk(t, img, recipe.ArchAMD64)
	assert.Contains(t, string(espFile(t, img, "loader/loader.conf")), "default tdisk*.efi")

	res := qemutest.Run(t, qemutest.Config{
		Args:        append(qemutest.UEFI(t, true, qemutest.OVMFVarsSnakeoil), "-drive", "file="+img+",if=virtio,format=raw"),
		Marker:      "HADRON-DISK-BOOTED",
		FailMarkers: []string{"Kernel panic", "Security Violation", "Access Denied", "Error loading"},
		Timeout:     6 * time.Minute,
		WaitExit:    true,
	})
	t.Logf("firmware start to marker: %s", res.Elapsed.Round(100*time.Millisecond))
	assert.Contains(t, res.Serial, "HADRON-DISK-CMDLINE: console=ttyS0 rdinit=/usr/libexec/hadron-disk-check panic=-1 roothash="+rootHash)
	// systemd-boot counted the try: the UKI is now "+2-1".
	espFile(t, img, "EFI/Linux/tdisk+2-1.efi")
}

// checkVerityDisk checks a trusted disk's root and verity partitions the
// way systemd-veritysetup-generator and dm-verity use them
// (trusted.Verify) and returns the root hash in hex.
func checkVerityDisk(t *testing.T, img string, arch recipe.Arch) string {
	t.Helper()
	h, err := trusted.Verify(img, arch)
	require.NoError(t, err)
	return hex.EncodeToString(h)
}
