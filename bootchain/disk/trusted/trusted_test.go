package trusted

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/stretchr/testify/require"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/internal/recipe"
)

const epoch = 1700000000

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED, did not run: %s not installed (apt-get install erofs-utils mtools)", tool)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// fixture writes a small root tree and an ESP tree.
func fixture(t *testing.T) (root, esp string) {
	dir := t.TempDir()
	root, esp = filepath.Join(dir, "root"), filepath.Join(dir, "esp")
	write(t, filepath.Join(root, "usr/lib/os-release"), "ID=hadron\n")
	write(t, filepath.Join(root, "etc/hostname"), "hadron\n")
	require.NoError(t, os.Symlink("../usr/lib/os-release", filepath.Join(root, "etc/os-release")))
	write(t, filepath.Join(esp, "EFI/BOOT/BOOTX64.EFI"), "MZ boot loader")
	write(t, filepath.Join(esp, "EFI/Linux/base+3.efi"), "MZ uki")
	write(t, filepath.Join(esp, "loader/loader.conf"), "timeout 0\n")
	return root, esp
}

func build(t *testing.T, root, esp string) (string, []byte, disk.Plan) {
	t.Helper()
	out := t.TempDir()
	h, err := BuildRoot(context.Background(), RootSpec{Name: "base-trusted", Dir: root, Epoch: epoch}, filepath.Join(out, "root"))
	require.NoError(t, err)
	img := filepath.Join(out, "disk.raw")
	plan, err := Build(context.Background(), Spec{Name: "base-trusted", Epoch: epoch, Arch: recipe.ArchAMD64,
		ESPDir: esp, RootDir: filepath.Join(out, "root")}, out, img)
	require.NoError(t, err)
	return img, h, plan
}

func sum(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestBuild checks the disk as systemd reads it: the root and verity
// partitions carry the Discoverable Partitions types and the UUIDs that
// systemd-veritysetup-generator derives from roothash=, the root
// partition hashes to that root hash, and two builds give the same bytes.
func TestBuild(t *testing.T) {
	need(t, "mkfs.erofs", "mformat", "mcopy")
	root, esp := fixture(t)
	img, h, plan := build(t, root, esp)

	got, err := ReadRootHash(filepath.Join(filepath.Dir(img), "root", RootHashFile))
	require.NoError(t, err)
	require.Equal(t, h, got)
	require.Equal(t, "roothash="+hex.EncodeToString(h), CmdlineArg(h))

	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	table, err := gpt.Read(f, disk.SectorSize, disk.SectorSize)
	require.NoError(t, err)
	require.Len(t, table.Partitions, 3)
	esp0, rootPart, verityPart := table.Partitions[0], table.Partitions[1], table.Partitions[2]
	require.Equal(t, ESPName, esp0.Name)
	require.Equal(t, "root-x86-64", rootPart.Name)
	require.Equal(t, "root-x86-64-verity", verityPart.Name)
	require.True(t, strings.EqualFold(string(disk.TypeRootX86_64), string(rootPart.Type)))
	require.True(t, strings.EqualFold("2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5", string(verityPart.Type)))
	// systemd: data partition UUID = first 128 bits of the root hash,
	// hash partition UUID = last 128 bits, in the byte order of the hex.
	hexHash := hex.EncodeToString(h)
	require.Equal(t, hexHash[:32], strings.ReplaceAll(strings.ToLower(rootPart.GUID), "-", ""))
	require.Equal(t, hexHash[32:], strings.ReplaceAll(strings.ToLower(verityPart.GUID), "-", ""))
	require.NotZero(t, rootPart.Attributes&(1<<60), "root partition marked read-only")
	require.Len(t, plan.Partitions, 3)

	// The root partition hashes to the root hash with the salt the hash
	// device's superblock records, and the UUIDs are its halves.
	verified, err := Verify(img, recipe.ArchAMD64)
	require.NoError(t, err)
	require.Equal(t, h, verified)
	data := make([]byte, 4)
	_, err = f.ReadAt(data, int64(rootPart.Start)*disk.SectorSize+1024)
	require.NoError(t, err)
	require.Equal(t, []byte{0xe2, 0xe1, 0xf5, 0xe0}, data, "an erofs superblock at 1024")

	img2, h2, _ := build(t, root, esp)
	require.Equal(t, h, h2, "root hash reproducible")
	require.Equal(t, sum(t, img), sum(t, img2), "disk reproducible")

	// One changed file in the root changes the root hash.
	write(t, filepath.Join(root, "etc/hostname"), "other\n")
	_, h3, _ := build(t, root, esp)
	require.NotEqual(t, h, h3)
}

func TestBuildErrors(t *testing.T) {
	need(t, "mkfs.erofs", "mformat", "mcopy")
	root, esp := fixture(t)
	out := t.TempDir()
	_, err := BuildRoot(context.Background(), RootSpec{Dir: root, Epoch: epoch}, out)
	require.ErrorContains(t, err, "no image name")

	_, err = Build(context.Background(), Spec{Name: "x", Arch: "riscv64", ESPDir: esp, RootDir: out}, out, filepath.Join(out, "d"))
	require.ErrorContains(t, err, `no root partition types for arch "riscv64"`)

	_, err = Build(context.Background(), Spec{Name: "x", Arch: recipe.ArchAMD64, ESPDir: esp, RootDir: out}, out, filepath.Join(out, "d"))
	require.ErrorContains(t, err, "root hash")

	require.NoError(t, os.Symlink("BOOTX64.EFI", filepath.Join(esp, "EFI/BOOT/link.efi")))
	_, err = Build(context.Background(), Spec{Name: "x", Arch: recipe.ArchAMD64, ESPDir: esp, RootDir: out}, out, filepath.Join(out, "d"))
	require.ErrorContains(t, err, "EFI/BOOT/link.efi is not a regular file")

	write(t, filepath.Join(out, RootHashFile), "abcd\n")
	_, err = ReadRootHash(filepath.Join(out, RootHashFile))
	require.ErrorContains(t, err, "is not a SHA-256 hash in hex")
}

// TestVerifyRefuses: a changed byte of the root, or partition UUIDs that
// are not the root hash's halves, fail Verify.
func TestVerifyRefuses(t *testing.T) {
	need(t, "mkfs.erofs", "mformat", "mcopy")
	root, esp := fixture(t)
	img, _, plan := build(t, root, esp)
	_, err := Verify(img, recipe.ArchARM64)
	require.ErrorContains(t, err, "no partition of type")

	b, err := os.ReadFile(img)
	require.NoError(t, err)
	rootPart, _ := plan.Find("root-x86-64")
	bad := append([]byte(nil), b...)
	bad[int64(rootPart.Start)*disk.SectorSize+1024+16] ^= 1
	badImg := filepath.Join(t.TempDir(), "bad.raw")
	require.NoError(t, os.WriteFile(badImg, bad, 0o644))
	// The fixture's root is one 4 KiB block, so its hash device holds no
	// hash level: the changed block shows as a root hash that the
	// partition UUIDs (from the built root hash) do not match.
	_, err = Verify(badImg, recipe.ArchAMD64)
	require.ErrorContains(t, err, "are not the halves of root hash")
}
