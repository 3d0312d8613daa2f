package vmrun

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/internal/recipe"
)

func TestArgs(t *testing.T) {
	o := Options{Disk: "/d.raw", Arch: recipe.ArchAMD64, SecureBoot: true, TPM: true, Snapshot: true}
	got := strings.Join(Args(o, OVMFSecureBoot, "/w/vars.fd", "/w/tpm.sock"), " ")
	for _, want := range []string{
		"-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on",
		"-accel tcg -m 1024 -smp 2",
		"-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
		"-drive if=pflash,format=raw,unit=1,file=/w/vars.fd",
		"-drive file=/d.raw,if=virtio,format=raw",
		"-nographic -serial mon:stdio -snapshot",
		"-chardev socket,id=chrtpm,path=/w/tpm.sock -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0",
	} {
		assert.Contains(t, got, want)
	}

	arm := Options{Disk: "/d.raw", Arch: recipe.ArchARM64, TPM: true, MemoryMiB: 2048, CPUs: 4, Accel: "kvm"}
	got = strings.Join(Args(arm, AAVMF, "/w/vars.fd", "/w/tpm.sock"), " ")
	assert.Contains(t, got, "-machine virt -cpu max -accel kvm -m 2048 -smp 4")
	assert.Contains(t, got, "-device tpm-tis-device,tpmdev=tpm0")
	assert.NotContains(t, got, "-snapshot")
	assert.NotContains(t, got, "smm")

	plain := strings.Join(Args(Options{Disk: "/d.raw", Arch: recipe.ArchAMD64}, OVMF, "/v", ""), " ")
	assert.Contains(t, plain, "-machine q35 -accel tcg")
	assert.NotContains(t, plain, "tpm")
}

func TestFirmwareFor(t *testing.T) {
	fw, err := FirmwareFor(recipe.ArchARM64, true)
	require.NoError(t, err)
	assert.Equal(t, AAVMFSecureBoot, fw)
	_, err = FirmwareFor("riscv64", false)
	assert.ErrorContains(t, err, `unsupported architecture "riscv64" (amd64, arm64)`)
}

// fakeQEMU puts a qemu-system-x86_64 on PATH that runs script with its
// arguments in $ARGS, and returns the file it writes them to.
func fakeQEMU(t *testing.T, script string) string {
	t.Helper()
	bin := t.TempDir()
	argsFile := filepath.Join(t.TempDir(), "args")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "qemu-system-x86_64"),
		[]byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+argsFile+"\nARGS=\"$*\"\n"+script), 0o755))
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return argsFile
}

// varsOf is the variable store path a run passed to QEMU.
func varsOf(t *testing.T, argsFile string) string {
	b, err := os.ReadFile(argsFile)
	require.NoError(t, err)
	for _, a := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(a, "if=pflash,format=raw,unit=1,file="); ok {
			return v
		}
	}
	t.Fatalf("no variable store in %s", b)
	return ""
}

func disk(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "d.raw")
	require.NoError(t, os.WriteFile(p, make([]byte, 4096), 0o644))
	return p
}

// TestRunCleansUp: the firmware variables are a private copy that QEMU
// sees, the software TPM's socket exists while QEMU runs, and nothing is
// left once it exits.
func TestRunCleansUp(t *testing.T) {
	if _, err := os.Stat(OVMFSecureBoot.Vars); err != nil {
		t.Skipf("SKIPPED, did not run: %v (apt-get install ovmf)", err)
	}
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Skip("SKIPPED, did not run: swtpm not installed (apt-get install swtpm)")
	}
	args := fakeQEMU(t, `
vars=$(printf '%s\n' "$@" | sed -n 's/^if=pflash,format=raw,unit=1,file=//p')
sock=$(printf '%s\n' "$@" | sed -n 's/^socket,id=chrtpm,path=//p')
test -s "$vars" || { echo "no vars copy" >&2; exit 3; }
test -S "$sock" || { echo "no swtpm socket" >&2; exit 4; }
echo guest-ran
`)
	var out, errOut bytes.Buffer
	err := Run(context.Background(), Options{Disk: disk(t), Arch: recipe.ArchAMD64, SecureBoot: true, TPM: true},
		strings.NewReader(""), &out, &errOut)
	require.NoError(t, err, errOut.String())
	assert.Equal(t, "guest-ran\n", out.String())
	vars := varsOf(t, args)
	assert.NoFileExists(t, vars)
	assert.NoDirExists(t, filepath.Dir(vars), "the run's folder is removed")
}

// TestRunInterrupted: cancelling the context (Ctrl-C) stops QEMU and
// removes the run's files.
func TestRunInterrupted(t *testing.T) {
	if _, err := os.Stat(OVMF.Vars); err != nil {
		t.Skipf("SKIPPED, did not run: %v (apt-get install ovmf)", err)
	}
	args := fakeQEMU(t, "exec sleep 30\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Run(ctx, Options{Disk: disk(t), Arch: recipe.ArchAMD64}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	require.ErrorContains(t, err, "qemu: stopped")
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.NoDirExists(t, filepath.Dir(varsOf(t, args)))
}

func TestRunErrors(t *testing.T) {
	err := Run(context.Background(), Options{Disk: filepath.Join(t.TempDir(), "none.raw"), Arch: recipe.ArchAMD64}, nil, nil, nil)
	assert.ErrorContains(t, err, "not a file (build one with hadron build IMAGE/disk)")
	err = Run(context.Background(), Options{Disk: disk(t), Arch: recipe.ArchAMD64, Vars: "/nonexistent/vars.fd"}, nil, nil, nil)
	assert.ErrorContains(t, err, "firmware /nonexistent/vars.fd")
	err = Run(context.Background(), Options{Disk: disk(t), Arch: "mips"}, nil, nil, nil)
	assert.ErrorContains(t, err, "unsupported architecture")
}
