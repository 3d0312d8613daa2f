package qemu_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/disk/standard"
	"github.com/hadron-linux/hadron/bootchain/dracut"
	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/stretchr/testify/require"
)

// standardEpoch is SOURCE_DATE_EPOCH for the standard-boot test images.
const standardEpoch = 1700000000

// bootMarker is what the test initrd prints on ttyS0, followed by
// " slot=<hadron.slot>" and, for the dracut initrd, " root=<device>".
const bootMarker = "HADRON-BOOT-OK"

// markerHook is a dracut pre-mount hook: it runs once the root device
// named by root= has appeared, prints the marker with the slot and the
// device, and powers the machine off through sysrq (nothing else is
// needed in the initrd for that).
const markerHook = `#!/bin/sh
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
slot=$(getarg hadron.slot=)
root=$(getarg root=)
dev=$(readlink -f "/dev/disk/by-partlabel/${root#PARTLABEL=}")
echo "` + bootMarker + ` slot=${slot:-none} root=${dev}" > /dev/ttyS0
echo o > /proc/sysrq-trigger
`

// busyboxInit is the fallback initrd's /init body (when dracut is not
// installed): it can only report the slot.
const busyboxInit = `for w in $(cat /proc/cmdline); do case $w in hadron.slot=*) slot=${w#hadron.slot=};; esac; done
echo "` + bootMarker + ` slot=$slot" > /dev/ttyS0`

var (
	stdInitrdOnce sync.Once
	stdInitrdPath string
	stdInitrdKind string
	stdInitrdErr  error
)

// standardInitrd builds the test initrd once per test binary, with dracut
// against the Debian kernel's modules when dracut is installed, otherwise
// a busybox initrd. It lives under out/ (a cache, rebuilt per run).
func standardInitrd(t *testing.T, kdir string) (path, kind string) {
	t.Helper()
	stdInitrdOnce.Do(func() {
		dir := filepath.Join(qemutest.RepoRoot(t), "out", "tests", "standard-boot")
		if stdInitrdErr = os.MkdirAll(dir, 0o755); stdInitrdErr != nil {
			return
		}
		stdInitrdPath = filepath.Join(dir, "initrd.img")
		if _, err := exec.LookPath("dracut"); err != nil {
			stdInitrdKind = "busybox (dracut not installed)"
			b := qemutest.BusyboxInitrd(t, qemutest.MarkerScript(busyboxInit, "HADRON-INIT-DONE"))
			stdInitrdErr = os.WriteFile(stdInitrdPath, b, 0o644)
			return
		}
		stdInitrdKind = "dracut"
		hook := filepath.Join(dir, "hadron-marker.sh")
		if stdInitrdErr = os.WriteFile(hook, []byte(markerHook), 0o755); stdInitrdErr != nil {
			return
		}
		kver, err := os.ReadFile(filepath.Join(kdir, "uname"))
		if err != nil {
			stdInitrdErr = err
			return
		}
		cfg := dracut.Default("PARTLABEL=root-a")
		// Only what the proof needs, to keep the initrd small under TCG.
		cfg.Modules = []string{"systemd", "systemd-initrd", "dracut-systemd", "base", "udev-rules", "kernel-modules", "rootfs-block", "fs-lib"}
		cfg.AddModules, cfg.OmitModules, cfg.AddDrivers = nil, nil, nil
		cfg.Drivers = []string{"virtio_blk", "virtio_pci", "erofs"}
		cfg.Filesystems = nil
		cfg.Cmdline = ""
		v := strings.TrimSpace(string(kver))
		b := dracut.Build{Config: cfg, Kver: v, ModulesDir: filepath.Join(kdir, "modules", v), Epoch: standardEpoch,
			Includes: []dracut.Include{{Src: hook, Dst: "/lib/dracut/hooks/pre-mount/99-hadron-marker.sh"}}}
		start := time.Now()
		stdInitrdErr = b.Run(t.Context(), stdInitrdPath)
		stdInitrdKind = fmt.Sprintf("dracut (%s, built in %s)", v, time.Since(start).Round(time.Second))
	})
	require.NoError(t, stdInitrdErr, "build test initrd")
	return stdInitrdPath, stdInitrdKind
}

// standardDisk builds a standard-boot disk (EFI and BIOS, slots a and b)
// from the Debian kernel and the test initrd, with env as the initial
// grubenv, and returns the image path and build result.
func standardDisk(t *testing.T, env grub.Env) (string, standard.Result) {
	t.Helper()
	qemutest.Require(t, "grub-mkimage", "mformat", "mcopy", "mkfs.erofs")
	kdir := qemutest.DebianKernel(t)
	rd, kind := standardInitrd(t, kdir)
	t.Logf("initrd: %s", kind)

	work := t.TempDir()
	rootDir := filepath.Join(work, "rootfs")
	require.NoError(t, os.MkdirAll(filepath.Join(rootDir, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rootDir, "etc", "os-release"), []byte("ID=hadron\n"), 0o644))
	rootImg := filepath.Join(work, "root-a.erofs")
	require.NoError(t, disk.RootFS{Type: disk.EROFS, Dir: rootDir, Epoch: standardEpoch,
		UUID: disk.GUID("qemu-standard", standardEpoch, "rootfs/a")}.Build(t.Context(), rootImg))

	slot := func(name string) standard.Slot {
		return standard.Slot{Name: name, Kernel: filepath.Join(kdir, "vmlinuz"), Initrd: rd,
			Cmdline: "console=ttyS0,115200 panic=-1 quiet hadron.slot=" + name}
	}
	a, b := slot("a"), slot("b")
	a.RootFS = rootImg
	b.RootSize = disk.MiB
	spec := standard.Spec{Name: "qemu-standard", Epoch: standardEpoch, EFI: true, BIOS: true,
		Timeout: 0, Serial: &grub.Serial{Unit: 0, Speed: 115200}, Slots: []standard.Slot{a, b}, Env: env}
	out := filepath.Join(work, "disk.img")
	res, err := standard.Build(t.Context(), spec, work, out)
	require.NoError(t, err)
	esp, err := os.Stat(res.ESP)
	require.NoError(t, err)
	dsk, err := os.Stat(out)
	require.NoError(t, err)
	t.Logf("ESP %d MiB, disk %d MiB (%d MiB allocatedBytes)", esp.Size()/disk.MiB, dsk.Size()/disk.MiB, allocatedBytes(t, out)/disk.MiB)
	return out, res
}

// allocatedBytes returns the bytes a (sparse) file occupies on disk.
func allocatedBytes(t *testing.T, path string) int64 {
	out, err := exec.Command("du", "--block-size=1", path).Output()
	require.NoError(t, err)
	var n int64
	_, err = fmt.Sscan(string(out), &n)
	require.NoError(t, err)
	return n
}

// readGrubenv reads grub/grubenv back from the ESP inside the disk image.
func readGrubenv(t *testing.T, img string, res standard.Result) grub.Env {
	t.Helper()
	esp, ok := res.Plan.Find(standard.ESPName)
	require.True(t, ok)
	target := fmt.Sprintf("%s@@%d", img, esp.Start*disk.SectorSize)
	out, err := exec.Command("mtype", "-i", target, "::/grub/grubenv").Output()
	require.NoError(t, err)
	env, err := grub.ParseEnv(out)
	require.NoError(t, err)
	return env
}

// bootStandard boots img with firmware args and expects the marker for slot.
func bootStandard(t *testing.T, firmware []string, img, slot, other string) qemutest.Result {
	t.Helper()
	want := bootMarker + " slot=" + slot
	if stdInitrdKind != "" && strings.HasPrefix(stdInitrdKind, "dracut") {
		want += " root=/dev/vda3"
		if slot == "b" {
			want = bootMarker + " slot=b root=/dev/vda4"
		}
	}
	args := append(append([]string{}, firmware...), "-smp", "1",
		"-drive", "file="+img+",format=raw,if=virtio")
	res := qemutest.Run(t, qemutest.Config{
		Args:        args,
		Marker:      want,
		FailMarkers: []string{bootMarker + " slot=" + other, "Kernel panic", "grub rescue>", "error: file", "No bootable device"},
		Timeout:     5 * time.Minute,
		WaitExit:    true,
	})
	t.Logf("marker %q after %s", want, res.Elapsed.Round(100*time.Millisecond))
	return res
}
