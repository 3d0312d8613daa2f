package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/bootchain/secureboot"
	"github.com/hadron-linux/hadron/bootchain/uki"
	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tonistiigi/fsutil"
)

// fixtureHost is the made-up upstream of the test-only fixture recipes;
// the mirror map points it at a loopback server.
const fixtureHost = "https://fixtures.hadron.invalid/"

const trustedMarker = "HADRON-IMAGE-TRUSTED-BOOT-OK"

// fixture is one file the loopback server publishes, pinned like any
// upstream source.
type fixture struct {
	path string // below fixtureHost
	data []byte
}

// lock renders a vendor-hashes lock pinning f as recipe name's only source.
func (f fixture) lock(name, version string) string {
	s256 := sha256.Sum256(f.data)
	s512 := sha512.Sum512(f.data)
	return fmt.Sprintf("recipe: %s\nversion: %q\nsources:\n  - url: %s%s\n    sha256: %s\n    sha512: %s\n    size: %d\n",
		name, version, fixtureHost, f.path, hex.EncodeToString(s256[:]), hex.EncodeToString(s512[:]), len(f.data))
}

// serveFixtures serves files on loopback and returns the mirror entry.
func serveFixtures(t *testing.T, files ...fixture) map[string]string {
	t.Helper()
	mux := http.NewServeMux()
	for _, f := range files {
		data := f.data
		mux.HandleFunc("/"+f.path, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(data) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return map[string]string{fixtureHost: srv.URL + "/"}
}

// writeFile writes data to dir/rel, creating folders.
func writeFile(t *testing.T, dir, rel, data string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
}

// buildHadron builds the hadron CLI without cgo (it runs inside stage 0)
// into a fresh directory and returns that directory.
func buildHadron(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "hadron"), "./cmd/hadron")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/hadron: %s", out)
	return dir
}

// writeBootFixtures writes two test-only fixture recipes into the tree at
// dir: debian-kernel (Debian's amd64 vmlinuz, from out/debian-kernel) and
// boot-init (an /init printing a marker and powering off). It returns the
// files the loopback upstream must serve for them.
func writeBootFixtures(t *testing.T, dir string) []fixture {
	t.Helper()
	kdir := qemutest.DebianKernel(t)
	vmlinuz, err := os.ReadFile(filepath.Join(kdir, "vmlinuz"))
	require.NoError(t, err)
	unameRaw, err := os.ReadFile(filepath.Join(kdir, "uname"))
	require.NoError(t, err)
	kver := strings.TrimSpace(string(unameRaw))

	// Fixture recipes, in the temporary tree only.
	kernel := fixture{path: "debian-kernel/vmlinuz-" + kver, data: vmlinuz}
	initScript := qemutest.MarkerScript(
		`echo "hadron: $(cat /etc/hostname) $(. /usr/lib/os-release; echo $ID) cmdline=$(cat /proc/cmdline)"`+"\n"+
			"echo hadron-xz | xz | xz -d",
		trustedMarker)
	initFile := fixture{path: "boot-init/init-1.sh", data: []byte(initScript)}
	writeFile(t, dir, "recipes/debian-kernel/recipe.yaml", `# Test fixture: Debian's amd64 kernel image (not a Hadron recipe).
name: debian-kernel
version: "`+kver+`"
license: GPL-2.0-only
sources:
  - url: `+fixtureHost+`debian-kernel/vmlinuz-${version}
build:
  style: custom
  install: |
    mkdir -p /out/boot
    cp /build/vmlinuz-* /out/boot/vmlinuz
arches: [amd64]
`)
	writeFile(t, dir, "vendor-hashes/debian-kernel.lock", kernel.lock("debian-kernel", kver))
	writeFile(t, dir, "recipes/boot-init/recipe.yaml", `# Test fixture: an /init that prints a marker and powers off.
name: boot-init
version: "1"
license: MIT
sources:
  - url: `+fixtureHost+`boot-init/init-${version}.sh
build:
  style: custom
  install: |
    install -D -m 0755 /build/init-1.sh /out/init
    mkdir -p /out/proc /out/sys /out/dev
`)
	writeFile(t, dir, "vendor-hashes/boot-init.lock", initFile.lock("boot-init", "1"))
	efi := writeEFIFixture(t, dir)
	return append([]fixture{kernel, initFile}, efi...)
}

// debianEFI is the host's (Debian's systemd-boot-efi package) folder of
// systemd-boot and systemd-stub.
const debianEFI = "/usr/lib/systemd/boot/efi"

// writeEFIFixture writes the test-only recipe debian-efi into the tree at
// dir: Debian's systemd-boot and systemd-stub for amd64 where a trusted
// image expects them (efi: debian-efi), so that the CI tier's boot tests
// do not build systemd. Hadron's own come from systemd:efi (full tier).
func writeEFIFixture(t *testing.T, dir string) []fixture {
	t.Helper()
	var files []fixture
	lock := "recipe: debian-efi\nversion: \"1\"\nsources:\n"
	for _, name := range []string{"linuxx64.efi.stub", "systemd-bootx64.efi"} {
		data, err := os.ReadFile(filepath.Join(debianEFI, name))
		if err != nil {
			t.Skipf("SKIPPED, did not run: %v (Debian's systemd-boot-efi package: make deps)", err)
		}
		f := fixture{path: "debian-efi/1/" + name, data: data}
		files = append(files, f)
		l := f.lock("debian-efi", "1")
		lock += l[strings.Index(l, "sources:\n")+len("sources:\n"):]
	}
	writeFile(t, dir, "recipes/debian-efi/recipe.yaml", `# Test fixture: Debian's systemd-boot and systemd-stub (not a Hadron recipe).
name: debian-efi
version: "1"
license: LGPL-2.1-or-later
sources:
  - url: `+fixtureHost+`debian-efi/${version}/linuxx64.efi.stub
  - url: `+fixtureHost+`debian-efi/${version}/systemd-bootx64.efi
build:
  style: custom
  install: |
    mkdir -p /out`+debianEFI+`
    cp /build/linuxx64.efi.stub /build/systemd-bootx64.efi /out`+debianEFI+`/
arches: [amd64]
`)
	writeFile(t, dir, "vendor-hashes/debian-efi.lock", lock)
	return files
}

// snakeoilSecrets builds the hadron binary and returns its folder, the
// secrets of a boot target signed with Debian's snakeoil db key (what
// OVMFVarsSnakeoil trusts; decrypted, hadron takes no encrypted keys) and
// a PCR key from `hadron keys generate`, and the decrypted db key's path.
func snakeoilSecrets(t *testing.T) (tools string, secrets []string, dbKey string) {
	t.Helper()
	tools = buildHadron(t)
	keys := filepath.Join(t.TempDir(), "keys")
	out, err := exec.Command(filepath.Join(tools, "hadron"), "keys", "generate", keys).CombinedOutput()
	require.NoError(t, err, "hadron keys generate: %s", out)
	dbKey = snakeoilDBKey(t)
	return tools, []string{
		"id=db.key,src=" + dbKey,
		"id=db.crt,src=" + qemutest.SnakeoilCert,
		"id=pcr.key,src=" + secureboot.KeyFile(keys, secureboot.PCRKeyName),
	}, dbKey
}

// inspectSignedUKI inspects a UKI and checks that it is Authenticode-signed
// and that its .pcrsig verifies against its .pcrpkey.
func inspectSignedUKI(t *testing.T, img []byte) *uki.Info {
	t.Helper()
	info, err := uki.Inspect(img)
	require.NoError(t, err)
	assert.True(t, info.Signed, "UKI signed")
	assert.Equal(t, "valid", info.PCRSig)
	return info
}

// snakeoilDBKey writes the private key of the db certificate that
// Debian's snakeoil OVMF variables enroll, unencrypted, and returns its
// path.
func snakeoilDBKey(t *testing.T) string {
	t.Helper()
	dbKey := filepath.Join(t.TempDir(), "snakeoil.key")
	out, err := exec.Command("openssl", "pkey", "-in", qemutest.SnakeoilKey, "-passin", "pass:snakeoil", "-out", dbKey).CombinedOutput()
	require.NoError(t, err, "decrypt snakeoil key: %s", out)
	return dbKey
}

// TestTrustedBootFromImageDefinition builds `<image>/boot` for an image
// with boot: trusted through BuildKit (initrd, UKI, signing and ESP all in
// LLB steps, keys as secrets), exports the ESP and boots it on OVMF with
// Secure Boot on and Debian's snakeoil keys enrolled. The kernel is a
// test-only fixture recipe wrapping Debian's vmlinuz; /init comes from a
// second fixture recipe.
func TestTrustedBootFromImageDefinition(t *testing.T) {
	e := setup(t)
	qemutest.Require(t, "openssl")
	dir := copyTree(t)
	fixtures := writeBootFixtures(t, dir)
	writeFile(t, dir, "images/tmini.yaml", `name: tmini
description: mini with trusted boot (e2e fixture)
packages: [busybox, xz, boot-init]
boot: trusted
kernel: debian-kernel
efi: debian-efi
cmdline: "console=ttyS0 rdinit=/init panic=-1"
hostname: hadron-trusted
arches: [amd64]
`)

	tools, secrets, dbKey := snakeoilSecrets(t)
	esp := t.TempDir()
	req := e.request(dir, "tmini/boot")
	req.Mirrors = maps.Clone(e.mirrors)
	maps.Copy(req.Mirrors, serveFixtures(t, fixtures...))
	req.ToolsDir = tools
	req.Outputs = []string{"type=local,dest=" + esp}
	req.Secrets = secrets
	var mu sync.Mutex
	steps := map[string]string{}
	req.OnStatus = func(s *client.SolveStatus) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range s.Vertexes {
			if strings.HasPrefix(v.Name, "tmini: ") && v.Started != nil && v.Completed != nil {
				d := v.Completed.Sub(*v.Started).Round(10 * time.Millisecond).String()
				if v.Cached {
					d = "cached"
				}
				steps[v.Name] = d
			}
		}
	}
	start := time.Now()
	_, err := solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)
	t.Logf("tmini/boot built in %s; steps: %v", time.Since(start).Round(time.Millisecond), steps)
	for _, n := range []string{"tmini: initrd", "tmini: uki", "tmini: sign", "tmini: esp"} {
		assert.Contains(t, steps, n, "named step ran")
	}
	// Secrets are not in cache keys, so signing must run every time (an
	// earlier build with another db key must not leak its signature in).
	assert.NotEqual(t, "cached", steps["tmini: uki"])
	assert.NotEqual(t, "cached", steps["tmini: sign"])

	// The ESP: signed systemd-boot, signed UKI with a valid .pcrsig,
	// loader.conf; no key material anywhere.
	ukiPath := filepath.Join(esp, "EFI/Linux/tmini.efi")
	img, err := os.ReadFile(ukiPath)
	require.NoError(t, err)
	inspectSignedUKI(t, img)
	conf, err := os.ReadFile(filepath.Join(esp, "loader/loader.conf"))
	require.NoError(t, err)
	assert.Contains(t, string(conf), "default tmini.efi")
	if _, err := exec.LookPath("sbverify"); err == nil {
		for _, f := range []string{ukiPath, filepath.Join(esp, "EFI/BOOT/BOOTX64.EFI")} {
			out, err := exec.Command("sbverify", "--cert", qemutest.SnakeoilCert, f).CombinedOutput()
			assert.NoError(t, err, "sbverify %s: %s", f, out)
		}
	}
	dbKeyBytes, err := os.ReadFile(dbKey)
	require.NoError(t, err)
	require.NoError(t, filepath.WalkDir(esp, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		assert.False(t, bytes.Contains(b, []byte("PRIVATE KEY")) || bytes.Contains(b, bytes.TrimSpace(dbKeyBytes)), "%s holds key material", p)
		return nil
	}))

	args := append(qemutest.UEFI(t, true, qemutest.OVMFVarsSnakeoil), qemutest.ESPDrive(esp)...)
	res := qemutest.Run(t, qemutest.Config{
		Args:        args,
		Marker:      trustedMarker,
		FailMarkers: []string{"Kernel panic", "Error loading", "Access Denied", "Security Violation"},
		Timeout:     6 * time.Minute,
		WaitExit:    true,
	})
	assert.Contains(t, res.Serial, "hadron: hadron-trusted hadron cmdline=console=ttyS0 rdinit=/init panic=-1")
	assert.Contains(t, res.Serial, "hadron-xz")
	t.Logf("firmware start to marker: %s", res.Elapsed.Round(100*time.Millisecond))
}

// TestBootTargetMissingSecret runs the frontend directly (no solve.Build
// pre-check) without the PCR key: BuildKit's real "secret pcr.key: not
// found" is recognised and becomes an error naming the secret and the flag
// to pass.
func TestBootTargetMissingSecret(t *testing.T) {
	e := setup(t)
	dir := copyTree(t)
	// xz stands in for a kernel: the uki step fails at its secret mount,
	// before the kernel is looked at. The sign step (its secrets are
	// there) signs the fixture's systemd-boot.
	efi := writeEFIFixture(t, dir)
	writeFile(t, dir, "images/tmini.yaml", "name: tmini\npackages: [busybox]\nboot: trusted\nkernel: xz\nefi: debian-efi\n")
	tools := buildHadron(t)
	keys := filepath.Join(t.TempDir(), "keys")
	out, err := exec.Command(filepath.Join(tools, "hadron"), "keys", "generate", keys).CombinedOutput()
	require.NoError(t, err, "hadron keys generate: %s", out)
	secrets, err := build.ParseSecret([]string{
		"id=db.key,src=" + secureboot.KeyFile(keys, secureboot.DBName),
		"id=db.crt,src=" + secureboot.CertFile(keys, secureboot.DBName),
	})
	require.NoError(t, err)
	req := e.request(dir, "tmini/boot")
	req.Mirrors = maps.Clone(e.mirrors)
	maps.Copy(req.Mirrors, serveFixtures(t, efi...))
	_, err = e.client.Build(context.Background(), client.SolveOpt{
		LocalMounts:   map[string]fsutil.FS{"context": mustFS(t, dir), convert.DefaultToolsContext: mustFS(t, tools)},
		FrontendAttrs: req.Attrs(),
		Session:       []session.Attachable{secrets},
	}, "hadron-e2e", frontend.Build, nil)
	require.Error(t, err)
	// The control API may report BuildKit's own error before the
	// frontend's; solve.Build maps it on the client side the same way.
	err = frontend.ExplainSolveError(err, nil)
	assert.Contains(t, err.Error(), `secret "pcr.key" was not passed to the build: pass --secret id=pcr.key,src=PATH`)
	assert.NotContains(t, err.Error(), "PRIVATE KEY")
}
