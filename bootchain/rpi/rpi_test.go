package rpi

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/stretchr/testify/require"
)

func config() Config {
	return Config{
		Boards:     []Board{Pi4, Pi5},
		Kernel:     "Image",
		Initramfs:  "initrd.img",
		Cmdline:    "console=serial0,115200  root=PARTUUID=7743e5ba-02 rootwait ro",
		EnableUART: true,
		Overlays:   []string{"disable-bt"},
		Extra:      []string{"disable_splash=1"},
		BoardExtra: map[Board][]string{Pi4: {"arm_boost=1"}},
	}
}

func TestConfigGolden(t *testing.T) {
	c := config()
	cfg, err := c.ConfigTxt()
	require.NoError(t, err)
	golden.Assert(t, "config-pi4-pi5.txt.golden", cfg)
	cmd, err := c.CmdlineTxt()
	require.NoError(t, err)
	golden.Assert(t, "cmdline.txt.golden", cmd)

	pi5 := Config{Boards: []Board{Pi5}, Kernel: "kernel_2712.img", Cmdline: "root=/dev/mmcblk0p2 rootwait"}
	cfg, err = pi5.ConfigTxt()
	require.NoError(t, err)
	golden.Assert(t, "config-pi5-no-initrd.txt.golden", cfg)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no boards", func(c *Config) { c.Boards = nil }, "no boards"},
		{"unknown board", func(c *Config) { c.Boards = []Board{"pi3"} }, "unsupported board"},
		{"twice", func(c *Config) { c.Boards = []Board{Pi4, Pi4} }, "listed twice"},
		{"kernel path", func(c *Config) { c.Kernel = "../Image" }, "bad kernel file name"},
		{"initramfs", func(c *Config) { c.Initramfs = "a b" }, "bad initramfs"},
		{"cmdline newline", func(c *Config) { c.Cmdline = "root=x\ninit=/bin/sh" }, "kernel command line"},
		{"empty cmdline", func(c *Config) { c.Cmdline = "" }, "kernel command line"},
		{"overlay", func(c *Config) { c.Overlays = []string{"x/y"} }, "bad overlay"},
		{"extra line", func(c *Config) { c.Extra = []string{"[pi3]"} }, "bad config.txt line"},
		{"board extra for missing board", func(c *Config) { c.Boards = []Board{Pi5} }, "not in Boards"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config()
			tc.edit(&c)
			_, err := c.ConfigTxt()
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// dummies writes placeholder firmware, DTB, kernel and initrd files.
func dummies(t *testing.T, dir string, names ...string) []string {
	t.Helper()
	var paths []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		require.NoError(t, os.WriteFile(p, []byte("dummy "+n), 0o644))
		paths = append(paths, p)
	}
	return paths
}

func partition(t *testing.T) Partition {
	dir := t.TempDir()
	return Partition{
		Config:   config(),
		Kernel:   dummies(t, dir, "vmlinux-arm64")[0],
		Initrd:   dummies(t, dir, "initramfs")[0],
		Firmware: dummies(t, dir, "start4.elf", "fixup4.dat"),
		DTBs:     dummies(t, dir, "bcm2711-rpi-4-b.dtb", "bcm2712-rpi-5-b.dtb"),
		Overlays: dummies(t, dir, "disable-bt.dtbo"),
		Label:    "HADRON-BOOT", VolumeID: 0x0badcafe, Epoch: 1700000000,
	}
}

func TestFiles(t *testing.T) {
	p := partition(t)
	files, err := p.Files("/w/config.txt", "/w/cmdline.txt")
	require.NoError(t, err)
	var got []string
	for _, f := range files {
		got = append(got, f.Path+" <- "+filepath.Base(f.Source))
	}
	golden.Assert(t, "files.golden", []byte(strings.Join(got, "\n")+"\n"))

	for _, tc := range []struct {
		name string
		edit func(*Partition)
		want string
	}{
		{"pi4 firmware missing", func(p *Partition) { p.Firmware = p.Firmware[1:] }, "board pi4 needs start4.elf"},
		{"pi5 dtb missing", func(p *Partition) { p.DTBs = p.DTBs[:1] }, "board pi5 needs bcm2712-rpi-5-b.dtb"},
		{"no kernel", func(p *Partition) { p.Kernel = "" }, "no kernel"},
		{"no initrd", func(p *Partition) { p.Initrd = "" }, "no initrd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := partition(t)
			tc.edit(&p)
			_, err := p.Files("/w/config.txt", "/w/cmdline.txt")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestBuild(t *testing.T) {
	for _, tool := range []string{"mformat", "mcopy", "mdir", "mtype"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install mtools)", tool)
		}
	}
	p := partition(t)
	var sums [][32]byte
	var img string
	for range 2 {
		work := t.TempDir()
		img = filepath.Join(work, "boot.img")
		require.NoError(t, p.Build(t.Context(), work, img))
		b, err := os.ReadFile(img)
		require.NoError(t, err)
		sums = append(sums, sha256.Sum256(b))
	}
	require.Equal(t, sums[0], sums[1], "two builds differ")

	cfg, err := exec.Command("mtype", "-i", img, "::/config.txt").Output()
	require.NoError(t, err)
	want, err := config().ConfigTxt()
	require.NoError(t, err)
	require.Equal(t, string(want), string(cfg))
	kernel, err := exec.Command("mtype", "-i", img, "::/Image").Output()
	require.NoError(t, err)
	require.Equal(t, "dummy vmlinux-arm64", string(kernel))
	ls, err := exec.Command("mdir", "-i", img, "-b", "::/overlays").Output()
	require.NoError(t, err)
	require.Equal(t, "::/overlays/disable-bt.dtbo\n", string(ls))
}
