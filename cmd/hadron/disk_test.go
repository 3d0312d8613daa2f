package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/grub"
)

// runBootCLI runs the CLI in-process and returns stdout and the error.
func runBootCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestGrubConfigCommand(t *testing.T) {
	out, err := runBootCLI(t, "grub", "config", "--slots", "a,b", "--default", "b", "--timeout", "0", "--serial-speed", "0")
	require.NoError(t, err)
	require.Contains(t, out, "set default='hadron-b'")
	require.Contains(t, out, "linux /hadron/a/vmlinuz root=PARTLABEL=root-a ro console=ttyS0,115200")
	require.NotContains(t, out, "serial --unit")

	_, err = runBootCLI(t, "grub", "config", "--slots", "a", "--default", "z")
	require.ErrorContains(t, err, "not an entry id")
}

func TestGrubEnvCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "grubenv")
	_, err := runBootCLI(t, "grub", "env", "-o", out, "saved_entry=hadron-b")
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	env, err := grub.ParseEnv(b)
	require.NoError(t, err)
	require.Equal(t, grub.Env{"saved_entry": "hadron-b"}, env)

	_, err = runBootCLI(t, "grub", "env", "-o", out, "novalue")
	require.ErrorContains(t, err, "want NAME=VALUE")
}

func TestDracutConfigCommand(t *testing.T) {
	out, err := runBootCLI(t, "dracut", "config", "--root", "PARTUUID=1234", "--compress", "xz")
	require.NoError(t, err)
	require.Contains(t, out, `kernel_cmdline="root=PARTUUID=1234 ro"`)
	require.Contains(t, out, `compress="xz"`)
	_, err = runBootCLI(t, "dracut", "config", "--root", "x;reboot")
	require.ErrorContains(t, err, "kernel command line")
}

// TestDiskStandardCommand builds the same image twice through the CLI.
func TestDiskStandardCommand(t *testing.T) {
	for _, tool := range []string{"grub-mkimage", "mformat", "mcopy", "mkfs.erofs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install grub-common grub-efi-amd64-bin grub-pc-bin mtools erofs-utils)", tool)
		}
	}
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	require.NoError(t, os.WriteFile(kernel, []byte("kernel"), 0o644))
	root := filepath.Join(dir, "root", "etc")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "os-release"), []byte("ID=hadron\n"), 0o644))

	var sums [][32]byte
	for _, name := range []string{"one.img", "two.img"} {
		img := filepath.Join(dir, name)
		out, err := runBootCLI(t, "disk", "standard", "-o", img, "--epoch", "1700000000",
			"--kernel", kernel, "--initrd", kernel, "--rootfs-dir", filepath.Dir(root), "--root-size", "4")
		require.NoError(t, err, out)
		require.Contains(t, out, "root-b")
		b, err := os.ReadFile(img)
		require.NoError(t, err)
		sums = append(sums, sha256.Sum256(b))
	}
	require.Equal(t, sums[0], sums[1])

	t.Setenv("SOURCE_DATE_EPOCH", "")
	_, err := runBootCLI(t, "disk", "standard", "-o", filepath.Join(dir, "x.img"), "--kernel", kernel, "--initrd", kernel, "--root-size", "4")
	require.ErrorContains(t, err, "SOURCE_DATE_EPOCH")
}

// TestDiskStandardArm64Flags: on arm64, BIOS boot is off by default and
// refused when asked for; without it the command goes on to GRUB's
// arm64-efi files (missing here: a clear grub-mkimage error naming them).
func TestDiskStandardArm64Flags(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	require.NoError(t, os.WriteFile(kernel, []byte("kernel"), 0o644))
	args := []string{"disk", "standard", "-o", filepath.Join(dir, "d.img"), "--epoch", "1700000000", "--arch", "arm64",
		"--kernel", kernel, "--initrd", kernel, "--root-size", "4", "--grub-lib", filepath.Join(dir, "grub"),
		"--grub-mkimage", "/bin/false"}
	_, err := runBootCLI(t, append(args, "--bios")...)
	require.ErrorContains(t, err, "BIOS boot is for amd64, not arm64")
	_, err = runBootCLI(t, args...)
	require.ErrorContains(t, err, "grub-mkimage arm64-efi")
}

func TestDiskRPiCommand(t *testing.T) {
	if _, err := exec.LookPath("mformat"); err != nil {
		t.Skip("mformat not installed (apt-get install mtools)")
	}
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(name), 0o644))
		return p
	}
	img := filepath.Join(dir, "boot.img")
	out, err := runBootCLI(t, "disk", "rpi-boot", "-o", img, "--epoch", "1700000000", "--board", "pi4",
		"--kernel", file("Image"), "--initrd", file("initrd"), "--firmware", file("start4.elf"),
		"--firmware", file("fixup4.dat"), "--dtb", file("bcm2711-rpi-4-b.dtb"), "--overlay", file("disable-bt.dtbo"))
	require.NoError(t, err, out)
	require.Contains(t, out, "volume id")
	cfg, err := exec.Command("mtype", "-i", img, "::/config.txt").Output()
	require.NoError(t, err)
	require.Contains(t, string(cfg), "initramfs initrd.img followkernel\n")
	require.Contains(t, string(cfg), "dtoverlay=disable-bt\n")

	_, err = runBootCLI(t, "disk", "rpi-boot", "-o", img, "--epoch", "1700000000", "--board", "pi5", "--kernel", file("Image"))
	require.ErrorContains(t, err, "board pi5 needs bcm2712-rpi-5-b.dtb")
}

func TestQEMUDiskFile(t *testing.T) {
	tree := t.TempDir()
	raw := filepath.Join(tree, "out", "disk", "base-trusted", "base-trusted.raw")
	require.NoError(t, os.MkdirAll(filepath.Dir(raw), 0o755))
	require.NoError(t, os.WriteFile(raw, []byte("disk"), 0o644))
	got, err := diskFile(tree, "base-trusted")
	require.NoError(t, err)
	assert.Equal(t, raw, got, "an image name boots what make qemu built")
	got, err = diskFile(tree, raw)
	require.NoError(t, err)
	assert.Equal(t, raw, got)
	_, err = diskFile(tree, "mini")
	assert.ErrorContains(t, err, "build the image's disk first, e.g. `make qemu IMAGE=mini`")
	_, err = diskFile(tree, "/nope/x.raw")
	assert.ErrorContains(t, err, "disk image /nope/x.raw: no such file")
}
