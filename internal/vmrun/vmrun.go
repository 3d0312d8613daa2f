// Package vmrun boots a built disk image in QEMU the way a contributor
// tries an image after editing a recipe: UEFI firmware for the disk's
// architecture (OVMF on amd64, AAVMF on arm64, from Debian's ovmf and
// qemu-efi-aarch64 packages), optionally with Secure Boot enforced and a
// software TPM 2.0 (swtpm), the serial console on the terminal. Every
// file it makes (the firmware variable store, swtpm's state and socket)
// lives in one temporary folder that is removed when QEMU exits or the
// run is interrupted.
package vmrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hadron-linux/hadron/internal/recipe"
)

// Firmware is a UEFI firmware: its code and the template of its variable
// store, which each run copies (the run may write to its copy).
type Firmware struct {
	Code, Vars string
	// Package is the Debian package that ships the files, for errors.
	Package string
}

// Debian's firmware builds. The Secure Boot variants have Debian's
// snakeoil PK/KEK/db enrolled (its key is /usr/share/ovmf/PkKek-1-snakeoil.key),
// so a disk signed with that key boots with Secure Boot enforced.
var (
	OVMF               = Firmware{Code: "/usr/share/OVMF/OVMF_CODE_4M.fd", Vars: "/usr/share/OVMF/OVMF_VARS_4M.fd", Package: "ovmf"}
	OVMFSecureBoot     = Firmware{Code: "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", Vars: "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd", Package: "ovmf"}
	AAVMF              = Firmware{Code: "/usr/share/AAVMF/AAVMF_CODE.fd", Vars: "/usr/share/AAVMF/AAVMF_VARS.fd", Package: "qemu-efi-aarch64"}
	AAVMFSecureBoot    = Firmware{Code: "/usr/share/AAVMF/AAVMF_CODE.snakeoil.fd", Vars: "/usr/share/AAVMF/AAVMF_VARS.snakeoil.fd", Package: "qemu-efi-aarch64"}
	errUnsupportedArch = errors.New("unsupported architecture")
)

// Options describe one run.
type Options struct {
	// Disk is the raw disk image to boot.
	Disk string
	// Arch is the disk's architecture: amd64 or arm64.
	Arch recipe.Arch
	// SecureBoot boots Secure Boot firmware with keys enrolled (see
	// Vars).
	SecureBoot bool
	// TPM attaches a software TPM 2.0 (swtpm).
	TPM bool
	// Snapshot keeps the disk unchanged: writes go to a temporary overlay.
	Snapshot bool
	// Vars, when set, is the variable store template to copy instead of
	// the firmware's own (e.g. one with your keys enrolled).
	Vars string
	// MemoryMiB is the guest memory; 0 means 1024.
	MemoryMiB int
	// CPUs is the number of virtual CPUs; 0 means 2.
	CPUs int
	// Accel is QEMU's accelerator; empty means tcg (software emulation,
	// which works everywhere; pass kvm where /dev/kvm works).
	Accel string
}

// FirmwareFor returns the firmware for arch, with Secure Boot or without.
func FirmwareFor(arch recipe.Arch, secureBoot bool) (Firmware, error) {
	switch {
	case arch == recipe.ArchAMD64 && secureBoot:
		return OVMFSecureBoot, nil
	case arch == recipe.ArchAMD64:
		return OVMF, nil
	case arch == recipe.ArchARM64 && secureBoot:
		return AAVMFSecureBoot, nil
	case arch == recipe.ArchARM64:
		return AAVMF, nil
	}
	return Firmware{}, fmt.Errorf("%w %q (amd64, arm64)", errUnsupportedArch, arch)
}

// Binary is the QEMU program for arch.
func Binary(arch recipe.Arch) string {
	if arch == recipe.ArchARM64 {
		return "qemu-system-aarch64"
	}
	return "qemu-system-x86_64"
}

// Args returns QEMU's arguments for o, with the variable store copy at
// vars and, when o.TPM, swtpm's control socket at tpmSock.
func Args(o Options, fw Firmware, vars, tpmSock string) []string {
	mem, cpus, accel := o.MemoryMiB, o.CPUs, o.Accel
	if mem == 0 {
		mem = 1024
	}
	if cpus == 0 {
		cpus = 2
	}
	if accel == "" {
		accel = "tcg"
	}
	var args []string
	switch o.Arch {
	case recipe.ArchARM64:
		cpu := "max"
		if accel == "tcg" {
			cpu = "max,pauth-impdef=on" // the fast pointer authentication under TCG
		}
		args = []string{"-machine", "virt", "-cpu", cpu}
	default:
		machine := "q35"
		if o.SecureBoot {
			// OVMF's Secure Boot build keeps its variables in SMM.
			machine = "q35,smm=on"
		}
		args = []string{"-machine", machine}
		if o.SecureBoot {
			args = append(args, "-global", "driver=cfi.pflash01,property=secure,value=on")
		}
	}
	args = append(args, "-accel", accel, "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+fw.Code,
		"-drive", "if=pflash,format=raw,unit=1,file="+vars,
		"-drive", "file="+o.Disk+",if=virtio,format=raw",
		"-nographic", "-serial", "mon:stdio")
	if o.Snapshot {
		args = append(args, "-snapshot")
	}
	if o.TPM {
		dev := "tpm-tis"
		if o.Arch == recipe.ArchARM64 {
			dev = "tpm-tis-device"
		}
		args = append(args, "-chardev", "socket,id=chrtpm,path="+tpmSock,
			"-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", dev+",tpmdev=tpm0")
	}
	return args
}

// Run boots o with QEMU's console on stdin/stdout and returns when QEMU
// exits or ctx ends (QEMU is then killed). It removes every file it made
// before it returns.
func Run(ctx context.Context, o Options, stdin io.Reader, stdout, stderr io.Writer) error {
	fw, err := FirmwareFor(o.Arch, o.SecureBoot)
	if err != nil {
		return err
	}
	if o.Vars != "" {
		fw.Vars = o.Vars
	}
	if st, err := os.Stat(o.Disk); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("disk image %s: not a file (build one with hadron build IMAGE/disk)", o.Disk)
	}
	for _, f := range []string{fw.Code, fw.Vars} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("firmware %s: %w (apt-get install %s)", f, err, fw.Package)
		}
	}
	qemu, err := exec.LookPath(Binary(o.Arch))
	if err != nil {
		return fmt.Errorf("%s: %w (apt-get install qemu-system-x86 or qemu-system-arm)", Binary(o.Arch), err)
	}
	// Unix socket paths are limited to 108 bytes: a short folder in /tmp.
	work, err := os.MkdirTemp("", "hadron-qemu-")
	if err != nil {
		return fmt.Errorf("qemu: %w", err)
	}
	defer os.RemoveAll(work)
	vars := filepath.Join(work, "vars.fd")
	if err := copyFile(fw.Vars, vars); err != nil {
		return fmt.Errorf("qemu: firmware variables: %w", err)
	}
	tpmSock := filepath.Join(work, "tpm.sock")
	if o.TPM {
		stop, err := startSWTPM(ctx, filepath.Join(work, "tpm"), tpmSock)
		if err != nil {
			return err
		}
		defer stop()
	}
	cmd := exec.CommandContext(ctx, qemu, Args(o, fw, vars, tpmSock)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("qemu: stopped: %w", ctx.Err())
		}
		return fmt.Errorf("qemu: %w", err)
	}
	return nil
}

// startSWTPM starts swtpm with its state in dir and its control socket at
// sock, waits for the socket and returns the function that stops it.
func startSWTPM(ctx context.Context, dir, sock string) (func(), error) {
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		return nil, fmt.Errorf("--tpm: swtpm: %w (apt-get install swtpm)", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--tpm: %w", err)
	}
	cmd := exec.CommandContext(ctx, bin, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--ctrl", "type=unixio,path="+sock, "--log", "file="+filepath.Join(dir, "log"))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("--tpm: start swtpm: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("--tpm: swtpm did not create its control socket in 5 s: %s", log)
		}
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
