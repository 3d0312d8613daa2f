// Package qemutest runs QEMU for boot tests: TCG only (never KVM), a
// wall-clock timeout, the guest's serial console captured to a file and
// watched for a marker string. On failure the serial log is kept and its
// tail goes into the test output.
package qemutest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvVar enables the QEMU tests when set to "1".
const EnvVar = "HADRON_QEMU"

// ArtifactsEnv names a directory where serial logs of failed runs are
// copied (CI uploads it). Unset: logs stay in the test's temp directory.
const ArtifactsEnv = "HADRON_TEST_ARTIFACTS"

// Require skips t unless HADRON_QEMU=1, and fails it when one of the
// named programs is missing (a QEMU test that silently passes without
// QEMU proves nothing).
func Require(t testing.TB, programs ...string) {
	t.Helper()
	if os.Getenv(EnvVar) != "1" {
		t.Skipf("QEMU boot test: set %s=1 to run it", EnvVar)
	}
	for _, p := range append([]string{"qemu-system-x86_64"}, programs...) {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s=1 but %s is not installed: %v", EnvVar, p, err)
		}
	}
}

// Config is one QEMU run.
type Config struct {
	// Binary is the QEMU program; default qemu-system-x86_64.
	Binary string
	// Args are the machine arguments (-machine, -m, drives, -kernel, ...).
	// Run adds -accel tcg, -nographic, -no-reboot, -monitor none and the
	// serial console itself; do not pass -serial.
	Args []string
	// Marker is the string that means success when it appears on the
	// serial console.
	Marker string
	// FailMarkers end the run early with an error when one appears first
	// (a kernel panic, a boot loader's error, the marker of the other
	// outcome in a negative test).
	FailMarkers []string
	// Timeout bounds the whole run; default 5 minutes.
	Timeout time.Duration
	// WaitExit keeps waiting after Marker until QEMU exits by itself
	// (the guest powers off), still within Timeout.
	WaitExit bool
	// AllowReboot lets a guest reset restart the machine (firmware that
	// reboots after enrolling keys); by default QEMU runs with -no-reboot
	// and a reset ends the run.
	AllowReboot bool
}

// Result is what a run produced.
type Result struct {
	// Serial is the whole serial console output.
	Serial string
	// LogPath is the file holding Serial.
	LogPath string
	// Elapsed is the time from start to the marker.
	Elapsed time.Duration
}

// Run starts QEMU as cfg says and waits for cfg.Marker on the serial
// console. It fails t (with the serial log's tail) on timeout, on a fail
// marker or when QEMU exits without the marker.
func Run(t testing.TB, cfg Config) Result {
	t.Helper()
	res, err := Boot(context.Background(), t.TempDir(), cfg)
	if err != nil {
		keep := saveArtifact(t, res.LogPath)
		t.Fatalf("qemu: %v\nserial log: %s\n--- last lines ---\n%s", err, keep, tail(res.Serial, 40))
	}
	return res
}

// Boot is Run without a testing.TB: it writes the serial log into dir and
// returns an error instead of failing a test.
func Boot(ctx context.Context, dir string, cfg Config) (Result, error) {
	if cfg.Binary == "" {
		cfg.Binary = "qemu-system-x86_64"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	res := Result{LogPath: filepath.Join(dir, "serial.log")}
	if err := os.WriteFile(res.LogPath, nil, 0o644); err != nil {
		return res, fmt.Errorf("create serial log: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	args := []string{"-accel", "tcg", "-nographic", "-monitor", "none", "-serial", "file:" + res.LogPath}
	if !cfg.AllowReboot {
		args = append(args, "-no-reboot")
	}
	args = append(args, cfg.Args...)
	cmd := exec.CommandContext(ctx, cfg.Binary, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start %s: %w", cfg.Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	found := false
	for {
		select {
		case err := <-exited:
			res.Serial = readLog(res.LogPath)
			if !found && cfg.Marker != "" && strings.Contains(res.Serial, cfg.Marker) {
				found, res.Elapsed = true, time.Since(start)
			}
			if m := failMarker(res.Serial, cfg.FailMarkers); m != "" && !found {
				return res, fmt.Errorf("fail marker %q on the serial console", m)
			}
			if found {
				return res, nil
			}
			if ctx.Err() != nil {
				return res, fmt.Errorf("no %q within %s: %w", cfg.Marker, cfg.Timeout, ErrNoMarker)
			}
			return res, fmt.Errorf("%s exited (%v) without %q (%w); stderr: %s", cfg.Binary, err, cfg.Marker, ErrNoMarker, strings.TrimSpace(stderr.String()))
		case <-tick.C:
			if found {
				continue // waiting for the guest to power off
			}
			res.Serial = readLog(res.LogPath)
			if m := failMarker(res.Serial, cfg.FailMarkers); m != "" {
				stop()
				res.Serial = readLog(res.LogPath)
				return res, fmt.Errorf("fail marker %q on the serial console", m)
			}
			if cfg.Marker != "" && strings.Contains(res.Serial, cfg.Marker) {
				found, res.Elapsed = true, time.Since(start)
				if !cfg.WaitExit {
					stop()
					res.Serial = readLog(res.LogPath)
					return res, nil
				}
			}
		}
	}
}

func failMarker(serial string, markers []string) string {
	for _, m := range markers {
		if m != "" && strings.Contains(serial, m) {
			return m
		}
	}
	return ""
}

func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// saveArtifact copies the serial log to $HADRON_TEST_ARTIFACTS/<test>.serial.log
// when that variable is set and returns where the log can be read.
func saveArtifact(t testing.TB, logPath string) string {
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" || logPath == "" {
		return logPath
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		return logPath
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".serial.log"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return logPath
	}
	dst := filepath.Join(dir, name)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return logPath
	}
	return dst
}

// RepoRoot returns the repository root (the directory holding go.mod),
// searching upwards from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// DebianKernel runs tests/fixtures/debian-kernel.sh (a no-op once fetched)
// and returns its directory, out/debian-kernel, holding vmlinuz, uname and
// modules/.
func DebianKernel(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	dest := filepath.Join(root, "out", "debian-kernel")
	cmd := exec.Command("sh", filepath.Join(root, "tests", "fixtures", "debian-kernel.sh"), dest)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("debian-kernel.sh: %v\n%s", err, out)
	}
	return dest
}

// OVMF file locations in Debian's ovmf package.
const (
	OVMFCode       = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFCodeSecure = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	// OVMFVarsEmpty has no keys: the firmware is in setup mode.
	OVMFVarsEmpty = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	// OVMFVarsSnakeoil has Debian's snakeoil PK/KEK/db enrolled and
	// Secure Boot on.
	OVMFVarsSnakeoil = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"
	// SnakeoilKey and SnakeoilCert sign for OVMFVarsSnakeoil's db.
	SnakeoilKey  = "/usr/share/ovmf/PkKek-1-snakeoil.key"
	SnakeoilCert = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
)

// UEFI returns QEMU arguments for a q35 machine booting OVMF from pflash:
// code read-only, a private writable copy of varsTemplate (in a temp dir).
// With secure=true it uses the Secure Boot firmware, SMM and secure
// pflash, as OVMF's secboot build needs.
func UEFI(t testing.TB, secure bool, varsTemplate string) []string {
	t.Helper()
	return UEFIWithVars(secure, copyVars(t, varsTemplate))
}

// copyVars copies a firmware variable store template into a temp dir of
// the test and returns the copy's path: the firmware writes to it.
func copyVars(t testing.TB, template string) string {
	t.Helper()
	vars := filepath.Join(t.TempDir(), filepath.Base(template))
	b, err := os.ReadFile(template)
	if err != nil {
		t.Fatalf("read firmware variables: %v", err)
	}
	if err := os.WriteFile(vars, b, 0o644); err != nil {
		t.Fatalf("copy firmware variables: %v", err)
	}
	return vars
}

// UEFIWithVars is UEFI with a caller-owned, writable variable store, so
// that state (enrolled keys) carries over from one run to the next.
func UEFIWithVars(secure bool, vars string) []string {
	code, machine := OVMFCode, "q35"
	var extra []string
	if secure {
		code, machine = OVMFCodeSecure, "q35,smm=on"
		extra = []string{"-global", "driver=cfi.pflash01,property=secure,value=on"}
	}
	args := []string{"-machine", machine, "-m", "512"}
	args = append(args, extra...)
	return append(args,
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
		"-drive", "if=pflash,format=raw,unit=1,file="+vars)
}

// AAVMF, the arm64 firmware (Debian's qemu-efi-aarch64): one code image
// for Secure Boot and without (its Secure Boot needs no SMM), and a
// variable store with Debian's snakeoil keys enrolled, the same
// PkKek-1-snakeoil key as OVMFVarsSnakeoil's (SnakeoilKey signs for its
// db): with it, Secure Boot is enforced.
const (
	AAVMFCode         = "/usr/share/AAVMF/AAVMF_CODE.fd"
	AAVMFVarsSnakeoil = "/usr/share/AAVMF/AAVMF_VARS.snakeoil.fd"
	// AAVMFVarsEmpty has no keys: Secure Boot is off.
	AAVMFVarsEmpty = "/usr/share/AAVMF/AAVMF_VARS.fd"
)

// AAVMF returns QEMU arguments for an arm64 virt machine (qemu-system-aarch64)
// booting AAVMF from pflash: code read-only, a private writable copy of
// varsTemplate (in a temp dir), two CPUs of QEMU's "max" model (with the
// cheap pointer authentication TCG emulates fast).
func AAVMF(t testing.TB, varsTemplate string) []string {
	t.Helper()
	vars := copyVars(t, varsTemplate)
	return []string{"-machine", "virt", "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "512",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + AAVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + vars}
}

// ESPDrive returns QEMU arguments that expose directory dir as a FAT
// disk (QEMU's vvfat), enough for firmware to find EFI/BOOT/BOOTX64.EFI.
func ESPDrive(dir string) []string {
	return []string{"-drive", "file=fat:rw:" + dir + ",format=raw,if=virtio"}
}

// ErrNoMarker is wrapped by Boot's error when QEMU stops without the marker.
var ErrNoMarker = errors.New("marker not seen")
