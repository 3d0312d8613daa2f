package qemutest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SWTPM starts a software TPM 2.0 (swtpm) for one QEMU run and returns
// the QEMU arguments that attach it as a TIS device. swtpm is stopped
// when the test ends.
func SWTPM(t testing.TB) []string {
	t.Helper()
	return SWTPMWithState(t, "")
}

// SWTPMWithState is SWTPM keeping the TPM's state in stateDir, so that
// several QEMU runs see the same TPM (its storage root key, NV indexes):
// what one boot seals, a later boot can unseal. An empty stateDir is a
// fresh TPM.
func SWTPMWithState(t testing.TB, stateDir string) []string {
	t.Helper()
	return SWTPMDevice(t, stateDir, "tpm-tis")
}

// SWTPMDevice is SWTPMWithState attaching the TPM as QEMU device model
// device: "tpm-tis" on q35 (amd64), "tpm-tis-device" (the memory-mapped
// TIS) on arm64's virt machine.
func SWTPMDevice(t testing.TB, stateDir, device string) []string {
	t.Helper()
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Fatalf("swtpm is not installed (apt-get install swtpm): %v", err)
	}
	// Unix socket paths are limited to 108 bytes: keep it short.
	dir, err := os.MkdirTemp("", "swtpm")
	if err != nil {
		t.Fatalf("swtpm dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if stateDir == "" {
		stateDir = dir
	}
	sock := filepath.Join(dir, "ctrl")
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+stateDir,
		"--ctrl", "type=unixio,path="+sock, "--log", "file="+filepath.Join(dir, "log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start swtpm: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("swtpm did not create its control socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return []string{
		"-chardev", "socket,id=chrtpm,path=" + sock,
		"-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
		"-device", device + ",tpmdev=tpm0",
	}
}
