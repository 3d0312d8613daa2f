package standard

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/bootchain/disk"
	"github.com/hadron-linux/hadron/bootchain/grub"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const epoch = 1700000000

func need(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"grub-mkimage", "mformat", "mcopy", "mtype"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install grub-common grub-efi-amd64-bin grub-pc-bin mtools)", tool)
		}
	}
	for _, p := range []string{"/usr/lib/grub/x86_64-efi", "/usr/lib/grub/i386-pc/boot.img"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing (apt-get install grub-efi-amd64-bin grub-pc-bin)", p)
		}
	}
}

func spec(t *testing.T, dir string) Spec {
	t.Helper()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	kernel := write("vmlinuz", "fake kernel")
	initrd := write("initrd.img", "fake initrd")
	root := write("root.img", "fake root fs")
	return Spec{
		Name: "hadron-test", Epoch: epoch, EFI: true, BIOS: true, Timeout: 1,
		Serial: &grub.Serial{Unit: 0, Speed: 115200},
		Slots: []Slot{
			{Name: "a", Kernel: kernel, Initrd: initrd, RootFS: root, Cmdline: "console=ttyS0"},
			{Name: "b", Kernel: kernel, Initrd: initrd, RootSize: disk.MiB, Cmdline: "console=ttyS0"},
		},
		Env: grub.Env{"saved_entry": "hadron-a"},
	}
}

func sum(t *testing.T, path string) string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}

func TestGrubConfigGolden(t *testing.T) {
	s := spec(t, t.TempDir())
	s.Default = "b"
	cfg, err := s.GrubConfig().Render()
	require.NoError(t, err)
	golden.Assert(t, "grub.cfg.golden", cfg)
}

// TestBuildReproducible builds the image twice in different work
// directories and expects the same bytes, then checks its layout.
func TestBuildReproducible(t *testing.T) {
	need(t)
	in := t.TempDir()
	s := spec(t, in)
	var sums []string
	var res Result
	for _, name := range []string{"one", "two"} {
		work := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.Mkdir(work, 0o755))
		out := filepath.Join(work, "disk.img")
		var err error
		res, err = Build(t.Context(), s, work, out)
		require.NoError(t, err)
		sums = append(sums, sum(t, out))
	}
	require.Equal(t, sums[0], sums[1], "two builds differ")

	names := []string{}
	for _, p := range res.Plan.Partitions {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"bios-boot", "esp", "root-a", "root-b"}, names)
	require.Equal(t, disk.FormatVolumeID(disk.VolumeID("hadron-test", epoch, "esp")), res.ESPUUID)

	out := filepath.Join(filepath.Dir(res.ESP), "disk.img")
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	bios, _ := res.Plan.Find(BIOSBootName)
	require.Equal(t, bios.Start, binary.LittleEndian.Uint64(img[0x5c:]), "boot.img points at core.img")
	require.Equal(t, []byte{0x55, 0xaa}, img[510:512])
	require.Equal(t, byte(0xee), img[0x1be+4], "protective MBR kept")

	for path, want := range map[string]string{
		"::/hadron/a/vmlinuz": "fake kernel",
		"::/grub/grub.cfg":    string(res.GrubCfg),
	} {
		got, err := exec.Command("mtype", "-i", res.ESP, path).Output()
		require.NoError(t, err, path)
		require.Equal(t, want, string(got), path)
	}
	env, err := exec.Command("mtype", "-i", res.ESP, "::/grub/grubenv").Output()
	require.NoError(t, err)
	parsed, err := grub.ParseEnv(env)
	require.NoError(t, err)
	require.Equal(t, "hadron-a", parsed["saved_entry"])
}

// TestPlatforms: the GRUB platforms a disk is made from, per arch.
func TestPlatforms(t *testing.T) {
	p, err := Platforms(recipe.ArchAMD64)
	require.NoError(t, err)
	assert.Equal(t, []grub.Platform{grub.EFIx64, grub.BIOS}, p)
	p, err = Platforms(recipe.ArchARM64)
	require.NoError(t, err)
	assert.Equal(t, []grub.Platform{grub.EFIArm64}, p)
	_, err = Platforms("riscv64")
	assert.ErrorContains(t, err, `no GRUB boot for arch "riscv64"`)
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"no loader", func(s *Spec) { s.EFI, s.BIOS = false, false }, "neither EFI nor BIOS"},
		{"no slots", func(s *Spec) { s.Slots = nil }, "no slots"},
		{"bad slot", func(s *Spec) { s.Slots[0].Name = "A/B" }, "bad slot name"},
		{"no kernel", func(s *Spec) { s.Slots[0].Kernel = "" }, "needs a kernel"},
		{"no root", func(s *Spec) { s.Slots[1].RootSize = 0 }, "root file system or a root size"},
		{"bad default", func(s *Spec) { s.Default = "c" }, "not an entry id"},
		{"BIOS on arm64", func(s *Spec) { s.Arch = recipe.ArchARM64 }, "BIOS boot is for amd64, not arm64"},
		{"unknown arch", func(s *Spec) { s.Arch = "riscv64" }, `no GRUB boot for arch "riscv64" (amd64, arm64)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec(t, dir)
			tc.edit(&s)
			_, err := Build(t.Context(), s, t.TempDir(), filepath.Join(t.TempDir(), "disk.img"))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestESPTreeIsTheESP: with ESPTree, the tree holds exactly the ESP's
// files with the same bytes (what `<image>/boot` exports for a GRUB
// image), stamped with the epoch; a non-empty tree directory is refused.
func TestESPTreeIsTheESP(t *testing.T) {
	need(t)
	s := spec(t, t.TempDir())
	s.ESPTree = filepath.Join(t.TempDir(), "esp")
	work := t.TempDir()
	res, err := Build(t.Context(), s, work, filepath.Join(work, "disk.img"))
	require.NoError(t, err)

	var tree []string
	require.NoError(t, filepath.WalkDir(s.ESPTree, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		fi, err := d.Info()
		require.NoError(t, err)
		assert.Equal(t, int64(epoch), fi.ModTime().Unix(), "%s stamped with the epoch", p)
		if !d.IsDir() {
			rel, _ := filepath.Rel(s.ESPTree, p)
			tree = append(tree, filepath.ToSlash(rel))
		}
		return nil
	}))
	ls, err := exec.Command("mdir", "-i", res.ESP, "-/", "-b", "::/").Output()
	require.NoError(t, err)
	var fat []string
	for _, line := range strings.Fields(string(ls)) {
		if !strings.HasSuffix(line, "/") {
			fat = append(fat, strings.TrimPrefix(line, "::/"))
		}
	}
	sort.Strings(tree)
	sort.Strings(fat)
	require.Equal(t, fat, tree, "the tree holds the ESP's files")
	assert.Contains(t, tree, "EFI/BOOT/BOOTX64.EFI")
	for _, f := range tree {
		got, err := exec.Command("mtype", "-i", res.ESP, "::/"+f).Output()
		require.NoError(t, err, f)
		want, err := os.ReadFile(filepath.Join(s.ESPTree, f))
		require.NoError(t, err)
		assert.Equal(t, want, got, f)
	}

	work = t.TempDir()
	_, err = Build(t.Context(), s, work, filepath.Join(work, "disk.img"))
	assert.ErrorContains(t, err, "ESP tree: "+s.ESPTree+" is not empty")
}
