package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/disk/standard"
	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/hadron-linux/hadron/tests/qemu/qemutest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grubVersion is what the GRUB of recipes/grub prints above its menu.
const grubVersion = "GNU GRUB  version 2.14"

// TestStandardDiskBoots builds images/base-standard (plus the boot check)
// as one disk in the graph: GRUB built from recipes/grub for UEFI and
// BIOS, Hadron's kernel (qemu-amd64 board) and a dracut initramfs (made
// by recipes/dracut from the image's root) in both A/B slots, the base
// root as erofs in root-a and root-b. It boots the disk four ways: OVMF
// (UEFI, no Secure Boot) and SeaBIOS, each from slot a (the default) and
// from slot b (grubenv next_entry=hadron-b, which GRUB must clear). Every boot must reach multi-user.target with no
// failed unit, on the slot's kernel command line and root partition.
// Full tier: the kernel and systemd are long compiles.
func TestStandardDiskBoots(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-x86_64", "mcopy")
	e := setup(t)
	dir := copyTree(t)
	const image = "base-standard-check"
	writeImageCheck(t, dir, "base-standard")
	img := buildDisk(t, e, dir, image, nil)
	checkStandardDisk(t, img, "EFI/BOOT/BOOTX64.EFI", "console=ttyS0", true)
	checkESPTree(t, buildTo(t, e, dir, image+"/boot"), img, "EFI/BOOT/BOOTX64.EFI")
	bootStandardSlots(t, img, image, "", "x86_64", []standardFirmware{
		{"uefi", func() []string { return qemutest.UEFI(t, false, qemutest.OVMFVarsEmpty) }},
		{"bios", func() []string { return []string{"-machine", "q35"} }}, // QEMU's default firmware: SeaBIOS
	})
}

// TestStandardDiskBootsArm64 is TestStandardDiskBoots for arm64
// (images/base-standard-arm64): GRUB's arm64-efi files from recipes/grub
// built for arm64, packed by the grub-mkimage of its amd64 build, booted
// on AAVMF without Secure Boot (qemu-system-aarch64, virt, TCG) from both
// slots. Full tier: the arm64 chain is a long cross compile.
func TestStandardDiskBootsArm64(t *testing.T) {
	harness.RequireFull(t)
	qemutest.Require(t, "qemu-system-aarch64", "mcopy")
	e := setup(t)
	dir := copyTree(t)
	const image = "base-standard-arm64-check"
	writeImageCheck(t, dir, "base-standard-arm64")
	img := buildDisk(t, e, dir, image, nil, "linux/arm64")
	checkStandardDisk(t, img, "EFI/BOOT/BOOTAA64.EFI", "console=ttyAMA0", false)
	checkESPTree(t, buildTo(t, e, dir, image+"/boot", "linux/arm64"), img, "EFI/BOOT/BOOTAA64.EFI")
	bootStandardSlots(t, img, image, "qemu-system-aarch64", "aarch64", []standardFirmware{
		{"uefi", func() []string { return qemutest.AAVMF(t, qemutest.AAVMFVarsEmpty) }},
	})
}

// checkESPTree checks a standard image's <image>/boot output (tree): the
// boot loader, grub.cfg, grubenv and each slot's kernel and initrd, every
// file byte for byte the one on the disk img's ESP (the same step makes
// both).
func checkESPTree(t *testing.T, tree, img, loader string) {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(tree, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	}))
	sort.Strings(files)
	assert.Equal(t, []string{loader, "grub/grub.cfg", "grub/grubenv",
		"hadron/a/initrd.img", "hadron/a/vmlinuz", "hadron/b/initrd.img", "hadron/b/vmlinuz"}, files)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(tree, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(espFile(t, img, "/"+f), b), "%s: the tree's file is the ESP's", f)
	}
	t.Logf("<image>/boot: %d files, each as on the ESP of %s", len(files), filepath.Base(img))
}

// standardFirmware is one way to boot a standard disk: a name and the
// QEMU arguments of its machine and firmware.
type standardFirmware struct {
	name string
	args func() []string
}

// bootStandardSlots boots a standard disk with each firmware, from slot a
// (the default) and from slot b (grubenv next_entry=hadron-b, which GRUB
// must clear), each to multi-user.target (assertStandardBoot) on a
// machine whose uname -m is machine. binary is the QEMU program
// (qemu-system-x86_64 when empty).
func bootStandardSlots(t *testing.T, img, image, binary, machine string, firmwares []standardFirmware) {
	t.Helper()
	for _, fw := range firmwares {
		for _, slot := range []string{"a", "b"} {
			t.Run(fw.name+"/"+slot, func(t *testing.T) {
				d := copyFile(t, img)
				if slot != "a" {
					env, err := grub.Env{"next_entry": standard.EntryID(slot)}.Encode()
					require.NoError(t, err)
					replaceESPFile(t, d, "grub/grubenv", env)
				}
				args := append(fw.args(), "-m", "1024", "-drive", "file="+d+",if=virtio,format=raw")
				res := qemutest.Run(t, qemutest.Config{
					Binary:      binary,
					Args:        args,
					Marker:      "HADRON-BASE-BOOTED",
					FailMarkers: []string{"Kernel panic", "grub rescue>", "error: file", "error: no such", "error: unknown filesystem", "You are in emergency mode", "Freezing execution", "No bootable device"},
					Timeout:     30 * time.Minute,
					WaitExit:    true,
				})
				keepSerial(t, fw.name+"-"+slot, res.Serial)
				t.Logf("firmware start to the boot check's marker: %s", res.Elapsed.Round(100*time.Millisecond))
				logBootTimes(t, res.Serial)
				assertStandardBoot(t, res.Serial, image, slot)
				assert.Contains(t, res.Serial, "HADRON-UNAME-M: "+machine)
				if slot != "a" {
					env := grubenvOf(t, d)
					assert.Equal(t, "", env["next_entry"], "GRUB clears next_entry before it boots the entry")
				}
			})
		}
	}
}

// checkStandardDisk checks the layout of a standard disk: the BIOS boot
// partition (with bios), the ESP with GRUB's EFI image at loader, grub.cfg
// (each slot's entry: root=, then console and the image's command line),
// grubenv and each slot's kernel and initrd, and the two root slots.
func checkStandardDisk(t *testing.T, img, loader, console string, bios bool) {
	t.Helper()
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	t.Logf("disk %d MiB", st.Size()/disk.MiB)
	table, err := gpt.Read(f, disk.SectorSize, disk.SectorSize)
	require.NoError(t, err)
	var names []string
	for _, p := range table.Partitions {
		if p.Name != "" {
			names = append(names, p.Name)
		}
	}
	want := []string{standard.ESPName, standard.RootLabel("a"), standard.RootLabel("b")}
	if bios {
		want = append([]string{standard.BIOSBootName}, want...)
	}
	assert.Equal(t, want, names, "partitions")

	files := map[string][]byte{}
	for _, name := range []string{loader, "grub/grub.cfg", "grub/grubenv", "hadron/a/vmlinuz", "hadron/a/initrd.img", "hadron/b/vmlinuz", "hadron/b/initrd.img"} {
		files[name] = espFile(t, img, name)
		assert.NotEmpty(t, files[name], "ESP file %s", name)
	}
	cfg := string(files["grub/grub.cfg"])
	for _, slot := range []string{"a", "b"} {
		assert.Contains(t, cfg, "root=PARTLABEL=root-"+slot+" ro "+console+" rootfstype=erofs systemd.volatile=overlay")
	}
	efi := files[loader]
	require.Greater(t, len(efi), 0x40)
	assert.Equal(t, "MZ", string(efi[:2]), "%s is a PE image", loader)
	t.Logf("%s %d KiB, kernel %d KiB, initrd %d KiB", loader, len(efi)/1024,
		len(files["hadron/a/vmlinuz"])/1024, len(files["hadron/a/initrd.img"])/1024)
}

// assertStandardBoot checks one boot of a standard disk from slot: GRUB
// of recipes/grub showed its menu, the kernel ran with the slot's root=,
// the initramfs was dracut's made from the image and the root was Hadron's, the root partition mounted is
// the slot's, and the system is running.
func assertStandardBoot(t *testing.T, serial, image, slot string) {
	t.Helper()
	assert.Contains(t, serial, grubVersion, "the GRUB of recipes/grub showed its menu")
	// dracut names its initramfs after the image it was made from.
	assert.Contains(t, serial, "Hadron Linux ("+image+") dracut-", "systemd welcomed the image's dracut initramfs")
	assert.Contains(t, serial, "Hadron Linux ("+image+")", "and the root after switching")
	assertSystemRunning(t, serial, "multi-user.target without failed units")
	cmdline := regexp.MustCompile(`HADRON-CMDLINE: (.*)`).FindStringSubmatch(serial)
	require.NotNil(t, cmdline, "no command line on the console")
	assert.Contains(t, strings.Fields(cmdline[1]), "root=PARTLABEL=root-"+slot, "the slot's entry booted: %s", cmdline[1])
	labels := map[string]string{}
	if m := regexp.MustCompile(`HADRON-PARTLABELS: (.*)`).FindStringSubmatch(serial); m != nil {
		for _, kv := range strings.Fields(m[1]) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				labels[k] = v
			}
		}
	}
	// The root is an overlay (systemd.volatile=overlay) whose lower layer,
	// the erofs, is mounted in the initrd only: erofs lists each mounted
	// instance's device under /sys/fs/erofs.
	m := regexp.MustCompile(`HADRON-EROFS: (.*)`).FindStringSubmatch(serial)
	require.NotNil(t, m, "no erofs line on the console")
	mounted := strings.Fields(m[1])
	t.Logf("partitions %v; erofs mounted from %v", labels, mounted)
	for label, dev := range labels {
		if strings.HasPrefix(label, "root-") {
			want := label == "root-"+slot
			assert.Equal(t, want, slices.Contains(mounted, path.Base(dev)), "erofs of %s (%s) mounted: %v", label, dev, mounted)
		}
	}
	assert.NotEmpty(t, labels["root-"+slot], "no root-%s partition seen by udev", slot)
}

// grubenvOf reads grub/grubenv back from the ESP of a standard disk.
func grubenvOf(t *testing.T, img string) grub.Env {
	t.Helper()
	env, err := grub.ParseEnv(espFile(t, img, "grub/grubenv"))
	require.NoError(t, err)
	return env
}
