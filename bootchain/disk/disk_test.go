package disk

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/stretchr/testify/require"
)

const epoch = 1700000000

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install mtools erofs-utils squashfs-tools fdisk)", tool)
		}
	}
}

func sha(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func TestIDs(t *testing.T) {
	a := GUID("hadron-amd64", epoch, "disk")
	require.Equal(t, a, GUID("hadron-amd64", epoch, "disk"), "stable")
	require.NotEqual(t, a, GUID("hadron-amd64", epoch+1, "disk"), "epoch changes it")
	require.NotEqual(t, a, GUID("hadron-arm64", epoch, "disk"), "name changes it")
	require.NotEqual(t, a, GUID("hadron-amd64", epoch, "partition/esp"), "role changes it")
	require.Equal(t, byte('5'), a[14], "version 5 UUID")

	id := VolumeID("hadron-amd64", epoch, "esp")
	require.Equal(t, id, VolumeID("hadron-amd64", epoch, "esp"))
	require.NotEqual(t, id, VolumeID("hadron-amd64", epoch, "rpi-boot"))
	require.Equal(t, "1234-ABCD", FormatVolumeID(0x1234abcd))
	require.Equal(t, "0000-00FF", FormatVolumeID(0xff))
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	content := writeFile(t, filepath.Join(dir, "esp.img"), strings.Repeat("x", 3*MiB+1))
	plan, err := Layout{Name: "test", Epoch: epoch, Partitions: []Partition{
		{Name: "bios", Type: TypeBIOSBoot, Size: MiB},
		{Name: "esp", Type: TypeESP, Content: content},
		{Name: "root-a", Type: TypeRootX86_64, Size: 10 * MiB},
	}}.Plan()
	require.NoError(t, err)
	require.Equal(t, GUID("test", epoch, "disk"), plan.GUID)
	var got []string
	for _, p := range plan.Partitions {
		got = append(got, p.Name)
		require.Equal(t, GUID("test", epoch, "partition/"+p.Name), p.GUID)
		require.Zero(t, p.Start%2048, "aligned")
	}
	require.Equal(t, []string{"bios", "esp", "root-a"}, got)
	require.Equal(t, uint64(2048), plan.Partitions[0].Start)
	require.Equal(t, uint64(4096), plan.Partitions[1].Start)
	require.Equal(t, uint64(4*2048), plan.Partitions[1].Sectors, "3 MiB + 1 byte rounds to 4 MiB")
	require.Equal(t, int64(1+1+4+10+1)*MiB, plan.Size)
	esp, ok := plan.Find("esp")
	require.True(t, ok)
	require.Equal(t, 2, esp.Index)
}

func TestPlanErrors(t *testing.T) {
	big := writeFile(t, filepath.Join(t.TempDir(), "big"), strings.Repeat("x", 2*MiB))
	for _, tc := range []struct {
		name  string
		parts []Partition
		want  string
	}{
		{"none", nil, "0 partitions"},
		{"no name", []Partition{{Type: TypeLinux, Size: MiB}}, "name"},
		{"long name", []Partition{{Name: strings.Repeat("n", 37), Type: TypeLinux, Size: MiB}}, "1 to 36"},
		{"duplicate", []Partition{{Name: "a", Size: MiB}, {Name: "a", Size: MiB}}, "duplicate partition name"},
		{"no size", []Partition{{Name: "a"}}, "no size and no content"},
		{"missing content", []Partition{{Name: "a", Content: "/nonexistent/x"}}, "no such file"},
		{"content too big", []Partition{{Name: "a", Size: MiB, Content: big}}, "content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Layout{Name: "t", Epoch: epoch, Partitions: tc.parts}.Plan()
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := Layout{Partitions: []Partition{{Name: "a", Size: MiB}}}.Plan()
	require.ErrorContains(t, err, "no image name")
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	content := writeFile(t, filepath.Join(dir, "fs.img"), "HADRON-PARTITION-CONTENT")
	plan, err := Layout{Name: "readback", Epoch: epoch, Partitions: []Partition{
		{Name: "bios", Type: TypeBIOSBoot, Size: MiB},
		{Name: "root-a", Type: TypeRootX86_64, Size: 2 * MiB, Content: content},
	}}.Plan()
	require.NoError(t, err)
	img := filepath.Join(dir, "disk.img")
	require.NoError(t, Write(img, plan))

	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	table, err := gpt.Read(f, SectorSize, SectorSize)
	require.NoError(t, err)
	require.Equal(t, strings.ToUpper(plan.GUID), strings.ToUpper(table.GUID))
	parts := table.Partitions
	require.Len(t, parts, 2)
	require.Equal(t, "root-a", parts[1].Name)
	require.Equal(t, uint64(4096), parts[1].Start)
	require.Equal(t, TypeRootX86_64, parts[1].Type)

	buf := make([]byte, len("HADRON-PARTITION-CONTENT"))
	_, err = f.ReadAt(buf, 4096*SectorSize)
	require.NoError(t, err)
	require.Equal(t, "HADRON-PARTITION-CONTENT", string(buf))

	// An independent reader: sfdisk's dump of the table.
	if _, err := exec.LookPath("sfdisk"); err == nil {
		out, err := exec.Command("sfdisk", "--dump", img).CombinedOutput()
		require.NoError(t, err, string(out))
		golden.Assert(t, "sfdisk-dump.golden", []byte(strings.ReplaceAll(string(out), img, "disk.img")))
	}
}

func TestFATBuild(t *testing.T) {
	need(t, "mformat", "mcopy", "mdir", "mtype")
	dir := t.TempDir()
	src := writeFile(t, filepath.Join(dir, "src", "grub.cfg"), "set timeout=0\n")
	efi := writeFile(t, filepath.Join(dir, "src", "app.efi"), "MZ fake")
	fat := FAT{Label: "HADRON", VolumeID: 0x1234abcd, Epoch: epoch, Files: []File{
		{Path: "grub/grub.cfg", Source: src},
		{Path: "EFI/BOOT/BOOTX64.EFI", Source: efi},
	}}
	var sums []string
	for _, name := range []string{"a.img", "b.img"} {
		out := filepath.Join(dir, name)
		require.NoError(t, fat.Build(t.Context(), out))
		sums = append(sums, sha(t, out))
		// touch the sources between builds: their mtimes must not leak in
		require.NoError(t, os.Chtimes(src, time0(), time0()))
	}
	require.Equal(t, sums[0], sums[1], "two builds differ")

	img := filepath.Join(dir, "a.img")
	st, err := os.Stat(img)
	require.NoError(t, err)
	require.Equal(t, int64(64*MiB), st.Size())
	out, err := exec.Command("mtype", "-i", img, "::/grub/grub.cfg").Output()
	require.NoError(t, err)
	require.Equal(t, "set timeout=0\n", string(out))
	out, err = exec.Command("mdir", "-i", img, "::/EFI/BOOT").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), "Volume Serial Number is 1234-ABCD")
	require.Contains(t, string(out), "2023-11-14")
	require.Contains(t, string(out), "BOOTX64  EFI")
}

func TestFATValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		fat  FAT
		want string
	}{
		{"label too long", FAT{Label: "ABCDEFGHIJKL", Epoch: epoch}, "volume label"},
		{"too small", FAT{Size: MiB, Epoch: epoch}, "FAT32 minimum"},
		{"negative epoch", FAT{Epoch: -1}, "negative epoch"},
		{"traversal", FAT{Epoch: epoch, Files: []File{{Path: "../x", Source: "/x"}}}, "bad path"},
		{"absolute", FAT{Epoch: epoch, Files: []File{{Path: "/x", Source: "/x"}}}, "bad path"},
		{"case duplicate", FAT{Epoch: epoch, Files: []File{{Path: "a/b", Source: "/x"}, {Path: "A/B", Source: "/y"}}}, "duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.fat.Validate(), tc.want)
		})
	}
	err := FAT{Epoch: epoch, Files: []File{{Path: "x", Source: "/nonexistent"}}}.Build(t.Context(), filepath.Join(t.TempDir(), "x.img"))
	require.ErrorContains(t, err, "no such file")
}

// TestFATEpochBefore1980: the default SOURCE_DATE_EPOCH, 0, is before
// anything FAT can record: the image is stamped 1980-01-01, the same for
// every epoch up to then.
func TestFATEpochBefore1980(t *testing.T) {
	need(t, "mformat", "mcopy")
	src := writeFile(t, filepath.Join(t.TempDir(), "f"), "x")
	build := func(epoch int64) string {
		out := filepath.Join(t.TempDir(), "fat.img")
		require.NoError(t, FAT{Label: "T", VolumeID: 1, Epoch: epoch, Files: []File{{Path: "EFI/f", Source: src}}}.Build(t.Context(), out))
		return sha(t, out)
	}
	require.Equal(t, build(0), build(FATEpoch), "epochs before 1980 are 1980")
	require.NotEqual(t, build(0), build(FATEpoch+86400))
	require.Equal(t, int64(FATEpoch), FATTime(0))
	require.Equal(t, int64(epoch), FATTime(epoch))
}

func TestSizeFor(t *testing.T) {
	require.Equal(t, int64(64*MiB), SizeFor(0))
	require.Equal(t, int64(64*MiB), SizeFor(40*MiB))
	require.Equal(t, int64(134*MiB), SizeFor(100*MiB+1))
}

// BenchmarkWrite measures writing a disk with a 32 MiB partition image
// that is half data, half zeros (the sparse copy is the hot path).
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	content := make([]byte, 32*MiB)
	for i := 0; i < len(content)/2; i++ {
		content[i] = byte(i)
	}
	src := filepath.Join(dir, "fs.img")
	require.NoError(b, os.WriteFile(src, content, 0o644))
	plan, err := Layout{Name: "bench", Epoch: epoch, Partitions: []Partition{
		{Name: "root", Type: TypeLinux, Content: src},
	}}.Plan()
	require.NoError(b, err)
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		if err := Write(filepath.Join(dir, "disk.img"), plan); err != nil {
			b.Fatal(err)
		}
	}
}
