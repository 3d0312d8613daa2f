package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/bootchain/ddi"
	"github.com/hadron-linux/hadron/bootchain/initrd"
	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bootCheckService reports on the booted system once boot has finished:
// Type=simple, so that `is-system-running --wait` does not wait for
// itself. Its output goes to the serial console.
const bootCheckService = `[Unit]
Description=Hadron boot check (tests/e2e)
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/libexec/hadron-boot-check
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`

const bootCheckScript = `#!/bin/sh
state=$(systemctl is-system-running --wait)
echo "HADRON-STATE: $state"
systemctl --failed --no-legend --plain | sed 's/^/HADRON-FAILED: /'
echo "HADRON-VERSION: $(systemctl --version | head -n1)"
echo "HADRON-FEATURES: $(systemctl --version | sed -n 2p)"
echo "HADRON-TOOL: $(kmod --version | head -n1)"
echo "HADRON-TOOL: $(ip -V)"
echo "HADRON-TOOL: $(openssl version)"
echo "HADRON-TOOL: $(mke2fs -V 2>&1 | head -n1)"
echo "HADRON-TOOL: $(dmsetup --version | head -n1)"
echo "HADRON-CA: $(openssl storeutl -noout -certs /etc/ssl/cert.pem | tail -n1)"
echo "HADRON-SYSEXT: $(systemd-sysext list --no-legend 2>&1 | tr '\n' ' ')"
echo "HADRON-CAPSH: $(capsh --print 2>&1 | head -n1)"
echo "HADRON-LIBC: $(/lib/ld-musl-*.so.1 --list /usr/lib/systemd/systemd 2>&1 | grep -o 'libc.so' | head -n1)"
echo "HADRON-JOURNAL: $(journalctl -b --no-pager -o cat | grep -c .) lines"
echo "HADRON-GETTY: $(systemctl is-active serial-getty@$(cat /sys/class/tty/console/active | tr ' ' '\n' | tail -n1).service)"
systemd-analyze | head -n1 | sed 's/^/HADRON-ANALYZE: /'
systemd-analyze blame --no-pager 2>/dev/null | grep -v '\.device$' | head -n8 | sed 's/^ */HADRON-BLAME: /'
echo "HADRON-UPDATE-UNITS: $(for u in systemd-hwdb-update systemd-journal-catalog-update; do systemctl show -P ConditionResult $u.service; done | tr '\n' ' ')"
echo "HADRON-HWDB: $(systemd-hwdb query usb:v1D6Bp0001 | tr '\n' ' ')"
echo "HADRON-ROOTDEV: $(dmsetup table root 2>/dev/null | cut -d' ' -f3)"
echo "HADRON-CMDLINE: $(cat /proc/cmdline)"
echo "HADRON-PARTLABELS: $(for l in /dev/disk/by-partlabel/*; do printf '%s=%s ' "${l##*/}" "$(readlink -f "$l")"; done)"
echo "HADRON-EROFS: $(ls /sys/fs/erofs 2>/dev/null | grep -vx features | tr '\n' ' ')"
echo "HADRON-UNAME-M: $(uname -m)"
echo "HADRON-SECUREBOOT: $(bootctl status 2>/dev/null | grep -m1 'Secure Boot:')"
echo "HADRON-BOOTLOADER: $(bootctl status 2>/dev/null | sed -n 's/^ *Product: //p' | head -n1)"
echo "HADRON-STUB: $(bootctl status 2>/dev/null | sed -n '/Current Stub:/,$ s/^ *Product: //p' | head -n1)"
echo "HADRON-UKI: $(bootctl status 2>/dev/null | sed -n 's/^ *Stub: [^/]*//p' | head -n1)"
echo "HADRON-MEASURED-UKI: $(bootctl status 2>/dev/null | sed -n 's/^ *Measured UKI: //p' | head -n1)"
echo "HADRON-PCR11: $(cat /sys/class/tpm/tpm0/pcr-sha256/11 2>/dev/null)"
if [ -e /sys/class/tpm/tpm0 ]; then
  echo "HADRON-PCRPOLICY: $(ls /run/systemd/tpm2-pcr-public-key.pem /run/systemd/tpm2-pcr-signature.json 2>&1 | tr '\n' ' ')"
  given=/run/credentials/@system/hadron.sealed
  if [ ! -e "$given" ]; then
    if printf hadron-secret | systemd-creds encrypt --with-key=tpm2-with-public-key --name=hadron.sealed - /run/hadron.sealed 2>/run/seal.err; then
      echo "HADRON-SEALED: $(base64 /run/hadron.sealed | tr -d '\n')"
      given=/run/hadron.sealed
    else
      echo "HADRON-SEALED: failed $(cat /run/seal.err)"
    fi
  fi
  if [ -e "$given" ]; then
    if secret=$(systemd-creds decrypt --name=hadron.sealed "$given" - 2>&1); then
      echo "HADRON-UNSEAL: ok $secret"
    else
      echo "HADRON-UNSEAL: failed $(echo "$secret" | tr '\n' ' ')"
    fi
  fi
fi
echo HADRON-BASE-BOOTED
systemctl poweroff
`

// assertSystemRunning checks the boot check's report on serial: the state
// line is there and says "running"; the failed units it lists are logged.
func assertSystemRunning(t *testing.T, serial, what string) {
	t.Helper()
	state := regexp.MustCompile(`HADRON-STATE: (\S+)`).FindStringSubmatch(serial)
	require.NotNil(t, state, "no state line on the console")
	t.Logf("system state: %s", state[1])
	for _, m := range regexp.MustCompile(`HADRON-FAILED: .*`).FindAllString(serial, -1) {
		t.Log(m)
	}
	assert.Equal(t, "running", state[1], what)
}

// TestBaseBootsToMultiUser builds images/base (plus a boot-check unit)
// for amd64 and boots it in QEMU (TCG) on Hadron's qemu-amd64 kernel,
// systemd as PID 1 from the initramfs: it must reach multi-user.target
// (running, or degraded with the failed units listed), run the musl build
// of systemd, keep the boot in the journal and start a getty on ttyS0.
// Full tier: systemd and the kernel are long compiles.
func TestBaseBootsToMultiUser(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-x86_64")
	e := setup(t)
	dir := copyTree(t)
	check := writeBaseCheck(t, dir)

	kernel := buildKernel(t, e, "linux@qemu-amd64", "linux/amd64")
	start := time.Now()
	out := buildTo(t, e, dir, "base-check")
	t.Logf("images/base (+ boot-check) built in %s", time.Since(start).Round(time.Second))
	assertELFClean(t, out, recipe.ArchAMD64)
	assertSystemdSetup(t, out)

	rd := rootfsInitramfs(t, out)

	res := qemutest.Run(t, qemutest.Config{
		Binary: "qemu-system-x86_64",
		Args: []string{"-machine", "q35", "-m", "1024",
			"-kernel", filepath.Join(kernel, "boot/vmlinuz"), "-initrd", rd,
			"-append", "console=ttyS0 rdinit=/usr/lib/systemd/systemd panic=-1 systemd.show_status=1"},
		Marker:      "HADRON-BASE-BOOTED",
		FailMarkers: []string{"Kernel panic", "Freezing execution"},
		Timeout:     10 * time.Minute,
		WaitExit:    true,
	})
	t.Logf("booted to the marker in %s", res.Elapsed)
	// With dbus in the image every unit of the base system starts:
	// "degraded" means one failed, and the failed ones are listed.
	assertSystemRunning(t, res.Serial, "systemctl is-system-running")
	assert.Regexp(t, `HADRON-VERSION: systemd 262 `, res.Serial)
	assert.Contains(t, res.Serial, "HADRON-LIBC: libc.so", "systemd runs on musl")
	assert.Regexp(t, `HADRON-JOURNAL: [1-9][0-9]* lines`, res.Serial)
	assert.Contains(t, res.Serial, "HADRON-GETTY: active")
	// The libraries systemd is built with, each a recipe of the base
	// system: all of them in its feature list.
	features := regexp.MustCompile(`HADRON-FEATURES: .*`).FindString(res.Serial)
	for _, f := range []string{"+ACL", "+SECCOMP", "+OPENSSL", "+LIBCRYPTSETUP", "+TPM2", "+KMOD", "+ZLIB", "+ZSTD", "+LZ4", "+XZ", "+BLKID", "+LIBFDISK"} {
		assert.Contains(t, features, f, "systemd's features")
	}
	t.Log(features)
	// The base system's tools run on the booted system, and OpenSSL finds
	// the CA bundle at its default path.
	for _, want := range []string{`HADRON-TOOL: kmod version 34`, `HADRON-TOOL: ip utility, iproute2-6\.1\.0`,
		`HADRON-TOOL: OpenSSL 3\.5\.7`, `HADRON-TOOL: mke2fs 1\.47\.2`, `HADRON-TOOL: Library version: *1\.02\.`,
		`HADRON-CA: Total found: [1-9][0-9]+`} {
		assert.Regexp(t, want, res.Serial)
	}
	for _, m := range regexp.MustCompile(`HADRON-(TOOL|CA): .*`).FindAllString(res.Serial, -1) {
		t.Log(m)
	}
	// hwdb.bin and the catalog come from the build: the update units
	// are skipped on the first boot, and udev's database answers.
	upd := regexp.MustCompile(`HADRON-UPDATE-UNITS: .*`).FindString(res.Serial)
	t.Log(upd)
	assert.Regexp(t, `^HADRON-UPDATE-UNITS: no no\b`, upd, "systemd-hwdb-update and systemd-journal-catalog-update skipped")
	hw := regexp.MustCompile(`HADRON-HWDB: .*`).FindString(res.Serial)
	t.Log(hw)
	assert.Contains(t, hw, "ID_AUTOSUSPEND=1", "the compiled hwdb answers a query")
	assert.NotContains(t, hw, "ID_VENDOR_FROM_DATABASE", "no vendor names without systemd:hwdb-vendors")
	logBootTimes(t, res.Serial)

	t.Run("bad sysusers line", func(t *testing.T) {
		// A package whose sysusers.d file has a bad line: the image's
		// build-time setup fails, naming the file and the line.
		writeFile(t, dir, "recipes/bad-sysusers/files/hadron-bad.conf", "g hadron-ok -\nX hadron-bad - -\n")
		writeFile(t, dir, "recipes/bad-sysusers/recipe.yaml", `name: bad-sysusers
version: "1"
license: MIT
files: [files]
build:
  style: custom
  install: |
    install -D -m 0644 /recipe/files/hadron-bad.conf /out/usr/lib/sysusers.d/hadron-bad.conf
`)
		bad := regexp.MustCompile(`(?m)^name: base-check$`).ReplaceAllString(check, "name: base-bad")
		writeFile(t, dir, "images/base-bad.yaml", strings.Replace(bad, "  - boot-check\n", "  - boot-check\n  - bad-sysusers\n", 1))
		req := e.request(dir, "base-bad")
		req.Outputs = []string{"type=local,dest=" + t.TempDir()}
		var logs buildLog
		req.OnStatus = logs.add
		_, err := solve.Build(context.Background(), e.client, req)
		require.Error(t, err, "an image whose sysusers.d has a bad line must not build")
		assert.Contains(t, err.Error(), "image-setup")
		assert.Contains(t, logs.tail(40), "systemd-sysusers failed")
		assert.Contains(t, logs.tail(40), "/usr/lib/sysusers.d/hadron-bad.conf:2")
		t.Log(logs.tail(5))
	})
}

// assertSystemdSetup checks the build-time setup layer of an image with
// systemd (root is its exported tree): the system users and groups of
// sysusers.d, the folders of tmpfiles.d and the links of the presets are
// there before the first boot, at SOURCE_DATE_EPOCH.
func assertSystemdSetup(t *testing.T, root string) {
	t.Helper()
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	group, err := os.ReadFile(filepath.Join(root, "etc/group"))
	require.NoError(t, err)
	for _, u := range []string{"root:", "systemd-network:", "systemd-timesync:", "messagebus:"} {
		assert.Contains(t, "\n"+string(passwd), "\n"+u, "/etc/passwd has the user %s from sysusers.d", u)
	}
	assert.Contains(t, "\n"+string(group), "\nsystemd-journal:", "/etc/group has systemd-journal from sysusers.d")
	for _, p := range []string{"var/log/journal", "var/lib/systemd"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if assert.NoError(t, err, "tmpfiles.d creates /%s at build time", p) {
			assert.True(t, fi.IsDir(), p)
			assert.Equal(t, int64(epoch), fi.ModTime().Unix(), "/%s has the build's time", p)
		}
	}
	link := filepath.Join(root, "etc/systemd/system/getty.target.wants/getty@tty1.service")
	_, err = os.Lstat(link)
	assert.NoError(t, err, "the presets enable getty@tty1 at build time")
	pcrlock, err := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants/systemd-pcrlock-*.service"))
	require.NoError(t, err)
	assert.Empty(t, pcrlock, "99-hadron.preset keeps systemd-pcrlock's units off")
	crypt, err := os.ReadFile(filepath.Join(root, "usr/lib/tmpfiles.d/cryptsetup.conf"))
	if assert.NoError(t, err) {
		assert.Contains(t, string(crypt), ` 0700 `, "cryptsetup's tmpfiles.d mode is octal")
	}
	rules, err := os.ReadFile(filepath.Join(root, "usr/lib/udev/rules.d/10-dm-hadron.rules"))
	if assert.NoError(t, err, "lvm2 ships Hadron's dm udev rules") {
		assert.Contains(t, string(rules), `SYMLINK+="mapper/$env{DM_NAME}"`)
	}
	// The hardware database is compiled at build time, without the vendor
	// name databases (systemd:hwdb-vendors), and /etc and /var are
	// stamped updated so that no boot compiles it again.
	fi, err := os.Stat(filepath.Join(root, "usr/lib/udev/hwdb.bin"))
	if assert.NoError(t, err, "/usr/lib/udev/hwdb.bin compiled at build time") {
		assert.Less(t, fi.Size(), int64(4<<20), "hwdb.bin without the vendor name databases")
		assert.Greater(t, fi.Size(), int64(64<<10), "hwdb.bin holds the functional entries")
	}
	assert.NoFileExists(t, filepath.Join(root, "usr/lib/udev/hwdb.d/20-pci-vendor-model.hwdb"), "vendor names are systemd:hwdb-vendors")
	assert.FileExists(t, filepath.Join(root, "usr/lib/udev/hwdb.d/60-keyboard.hwdb"))
	assert.FileExists(t, filepath.Join(root, "var/lib/systemd/catalog/database"), "the journal's catalog")
	for _, p := range []string{"etc/.updated", "var/.updated"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if assert.NoError(t, err, "/%s", p) {
			assert.Equal(t, fmt.Sprintf("TIMESTAMP_NSEC=%d\n", int64(epoch)*1_000_000_000), string(b), "/%s", p)
		}
	}
}

// writeBaseCheck adds to the tree in dir a boot-check recipe (the unit
// and script above) and images/base-check.yaml, images/base with it, and
// returns that image definition.
func writeBaseCheck(t *testing.T, dir string) string {
	t.Helper()
	writeFile(t, dir, "recipes/boot-check/files/hadron-boot-check.service", bootCheckService)
	writeFile(t, dir, "recipes/boot-check/files/hadron-boot-check", bootCheckScript)
	writeFile(t, dir, "recipes/boot-check/recipe.yaml", `name: boot-check
version: "1"
license: MIT
files: [files]
build:
  style: custom
  install: |
    install -D -m 0644 /recipe/files/hadron-boot-check.service /out/usr/lib/systemd/system/hadron-boot-check.service
    install -D -m 0755 /recipe/files/hadron-boot-check /out/usr/libexec/hadron-boot-check
    mkdir -p /out/usr/lib/systemd/system/multi-user.target.wants
    ln -s ../hadron-boot-check.service /out/usr/lib/systemd/system/multi-user.target.wants/hadron-boot-check.service
`)
	base, err := os.ReadFile(filepath.Join(dir, "images/base.yaml"))
	require.NoError(t, err)
	check := regexp.MustCompile(`(?m)^name: base$`).ReplaceAllString(string(base), "name: base-check")
	check = regexp.MustCompile(`(?m)^packages:\n`).ReplaceAllString(check, "packages:\n  - boot-check\n")
	require.Contains(t, check, "  - boot-check\n", "images/base.yaml has no packages: list to extend")
	writeFile(t, dir, "images/base-check.yaml", check)
	return check
}

// TestBaseInitrdSwitchesRoot boots images/base the way a disk install
// does: Hadron's kernel with images/base-initrd (kind: initrd) as its
// initramfs and the base root file system (plus the boot check) on an
// ext4 virtio disk. systemd in the initrd must mount root=/dev/vda at
// /sysroot and switch into it, and the real root reach multi-user.target
// (running) with the signed debug-tools system extension merged (its
// signature checked against /etc/verity.d); then boots once more with
// one byte of the extension changed, which must be refused. Full tier:
// systemd and the kernel are long compiles.
func TestBaseInitrdSwitchesRoot(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-x86_64")
	mke2fs, err := exec.LookPath("mke2fs")
	require.NoError(t, err, "mke2fs (e2fsprogs) makes the root disk")
	e := setup(t)
	dir := copyTree(t)
	writeBaseCheck(t, dir)

	kernel := buildKernel(t, e, "linux@qemu-amd64", "linux/amd64")
	root := buildTo(t, e, dir, "base-check")
	rd := buildTo(t, e, dir, "base-initrd")
	assertELFClean(t, rd, recipe.ArchAMD64)
	assertInitrdSetup(t, rd)
	for _, tree := range []string{root, rd} {
		for _, d := range []string{"proc", "sys", "dev", "run", "tmp"} {
			require.NoError(t, os.MkdirAll(filepath.Join(tree, d), 0o755))
		}
	}
	require.NoError(t, os.MkdirAll(filepath.Join(rd, "sysroot"), 0o755))

	var buf bytes.Buffer
	require.NoError(t, initrd.WriteDir(&buf, rd, epoch))
	cpio := filepath.Join(t.TempDir(), "initrd.cpio")
	require.NoError(t, os.WriteFile(cpio, buf.Bytes(), 0o644))
	// The signed debug-tools extension (libcap's capsh) goes onto the
	// root disk with the certificate that verifies it, and sysext.conf
	// insists on a signature: systemd-sysext merges it at boot only if
	// the root hash signature checks out against /etc/verity.d.
	tools := buildHadron(t)
	keys := filepath.Join(t.TempDir(), "keys")
	kout, err := exec.Command(filepath.Join(tools, "hadron"), "keys", "generate", keys).CombinedOutput()
	require.NoError(t, err, "hadron keys generate: %s", kout)
	ext := t.TempDir()
	req := e.request(dir, "debug-tools/sysext")
	req.Outputs = []string{"type=local,dest=" + ext}
	req.Secrets = []string{
		"id=verity.key,src=" + secureboot.KeyFile(keys, secureboot.DBName),
		"id=verity.crt,src=" + secureboot.CertFile(keys, secureboot.DBName),
	}
	_, err = solve.Build(context.Background(), e.client, req)
	require.NoError(t, err, "debug-tools/sysext")
	raw, err := os.ReadFile(filepath.Join(ext, "debug-tools.raw"))
	require.NoError(t, err)
	writeFile(t, root, "var/lib/extensions/debug-tools.raw", string(raw))
	crt, err := os.ReadFile(secureboot.CertFile(keys, secureboot.DBName))
	require.NoError(t, err)
	writeFile(t, root, "etc/verity.d/hadron.crt", string(crt))
	writeFile(t, root, "etc/systemd/sysext.conf", "[SysExt]\nImagePolicy=root=signed+absent:usr=signed+absent\n")

	t.Logf("initrd %d MiB, root disk from %s", buf.Len()>>20, root)
	// boot makes the root disk from root and boots it through the initrd.
	boot := func(name string) qemutest.Result {
		img := filepath.Join(t.TempDir(), name+".ext4")
		out, err := exec.Command(mke2fs, "-q", "-t", "ext4", "-L", "hadron-root", "-d", root, img, "512M").CombinedOutput()
		require.NoError(t, err, "mke2fs: %s", out)
		return qemutest.Run(t, qemutest.Config{
			Binary: "qemu-system-x86_64",
			Args: []string{"-machine", "q35", "-m", "1024",
				"-kernel", filepath.Join(kernel, "boot/vmlinuz"), "-initrd", cpio,
				"-drive", "file=" + img + ",if=virtio,format=raw",
				"-append", "console=ttyS0 root=/dev/vda rootfstype=ext4 rw panic=-1 systemd.show_status=1"},
			Marker:      "HADRON-BASE-BOOTED",
			FailMarkers: []string{"Kernel panic", "Freezing execution", "You are in emergency mode"},
			Timeout:     10 * time.Minute,
			WaitExit:    true,
		})
	}

	res := boot("root")
	t.Logf("booted through the initrd to the marker in %s", res.Elapsed)
	assert.Contains(t, res.Serial, "Hadron Linux (base-initrd)", "systemd welcomed the initrd")
	assert.Contains(t, res.Serial, "Hadron Linux (base-check)", "and the real root after switching")
	assertSystemRunning(t, res.Serial, "systemctl is-system-running on the real root")
	assert.Regexp(t, `HADRON-SYSEXT: .*debug-tools`, res.Serial, "systemd-sysext lists the signed extension")
	assert.Regexp(t, `HADRON-CAPSH: Current: `, res.Serial, "capsh (only in the extension) runs: the extension is merged")
	for _, m := range regexp.MustCompile(`HADRON-(SYSEXT|CAPSH): .*`).FindAllString(res.Serial, -1) {
		t.Log(m)
	}

	// The same extension with one byte of its erofs superblock changed:
	// the signature over the root hash still checks out, the hash tree
	// does not. Hadron's own verifier refuses it, and so must systemd:
	// dm-verity fails the read, the extension is not merged, capsh is
	// not there and systemd-sysext.service is the one failed unit.
	bad := tamperUsr(t, raw)
	cert, err := secureboot.LoadCert(secureboot.CertFile(keys, secureboot.DBName))
	require.NoError(t, err)
	_, err = ddi.Verify(writeTemp(t, bad), recipe.ArchAMD64, cert)
	require.Error(t, err, "ddi.Verify accepts a tampered extension")
	t.Logf("ddi.Verify on the tampered extension: %v", err)
	writeFile(t, root, "var/lib/extensions/debug-tools.raw", string(bad))
	res = boot("tampered")
	t.Logf("booted with the tampered extension in %s", res.Elapsed)
	for _, m := range regexp.MustCompile(`HADRON-(STATE|FAILED|SYSEXT|CAPSH): .*`).FindAllString(res.Serial, -1) {
		t.Log(m)
	}
	assert.NotRegexp(t, `HADRON-CAPSH: Current: `, res.Serial, "capsh must not run from a tampered extension")
	assert.Regexp(t, `HADRON-FAILED: systemd-sysext\.service`, res.Serial, "systemd-sysext refused the extension")
}

// tamperUsr returns a copy of the amd64 system extension raw with one
// byte of its usr partition's erofs superblock (1024 bytes in) flipped.
func tamperUsr(t *testing.T, raw []byte) []byte {
	t.Helper()
	off, _ := usrPartition(t, raw, recipe.ArchAMD64)
	bad := append([]byte(nil), raw...)
	bad[off+1024] ^= 0xff
	return bad
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// rootfsInitramfs writes the exported image tree out, with the mount
// points of the API file systems added, as a cpio initramfs (every time
// at the epoch) and returns its path: systemd runs from it as PID 1.
func rootfsInitramfs(t *testing.T, out string) string {
	t.Helper()
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(out, d), 0o755))
	}
	var buf bytes.Buffer
	require.NoError(t, initrd.WriteDir(&buf, out, epoch))
	rd := filepath.Join(t.TempDir(), "rootfs.cpio")
	require.NoError(t, os.WriteFile(rd, buf.Bytes(), 0o644))
	t.Logf("rootfs as initramfs: %d MiB", buf.Len()>>20)
	return rd
}

// assertInitrdSetup checks the build-time setup of an initrd: the system
// groups of sysusers.d and the journal folder. Presets are not checked:
// systemctl applies the initrd's presets in an image with
// /etc/initrd-release, which enable no getty.
func assertInitrdSetup(t *testing.T, root string) {
	t.Helper()
	group, err := os.ReadFile(filepath.Join(root, "etc/group"))
	require.NoError(t, err)
	assert.Contains(t, "\n"+string(group), "\nsystemd-journal:", "/etc/group has systemd-journal from sysusers.d")
	var network []string
	for _, u := range []string{"systemd-networkd.service", "systemd-resolved.service", "systemd-network-generator.service"} {
		matches, err := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants", u))
		require.NoError(t, err)
		network = append(network, matches...)
	}
	assert.Empty(t, network, "80-hadron-initrd.preset keeps the network out of the initrd")
	fi, err := os.Stat(filepath.Join(root, "var/log/journal"))
	if assert.NoError(t, err, "tmpfiles.d creates /var/log/journal at build time") {
		assert.Equal(t, int64(epoch), fi.ModTime().Unix())
	}
}

// logBootTimes logs what the boot check's systemd-analyze lines say:
// the time to the default target per stage and the slowest units.
func logBootTimes(t *testing.T, serial string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`HADRON-(ANALYZE|BLAME): .*`).FindAllString(serial, -1) {
		t.Log(strings.TrimSpace(m))
	}
}
