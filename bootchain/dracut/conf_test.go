package dracut

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/stretchr/testify/require"
)

func TestRenderGolden(t *testing.T) {
	minimal := Config{
		Modules:  []string{"systemd", "systemd-initrd", "dracut-systemd", "base", "kernel-modules"},
		Drivers:  []string{"virtio_blk", "virtio_pci"},
		Compress: "gzip",
		Cmdline:  "root=PARTUUID=7743e5ba-707f-5b9b-899d-bc3694d5065f ro console=ttyS0,115200",
	}
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"hadron-default.conf.golden", Default("PARTLABEL=root-a")},
		{"minimal-exact.conf.golden", minimal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cfg.Render()
			require.NoError(t, err)
			golden.Assert(t, tc.name, got)
		})
	}
}

// TestRenderIsValidBash sources the output with bash, as dracut does,
// and reads the values back.
func TestRenderIsValidBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	conf, err := Default("PARTLABEL=root-a").Render()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), ConfName)
	require.NoError(t, os.WriteFile(path, conf, 0o644))
	out, err := exec.Command(bash, "-euc", `. "$1"; echo "$hostonly|$kernel_cmdline|$compress|${add_drivers}"`, "-", path).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "no|root=PARTLABEL=root-a ro|zstd| ahci nvme sd_mod virtio_blk virtio_pci virtio_scsi \n", string(out))
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"quote in cmdline", func(c *Config) { c.Cmdline = `root=x" ; rm -rf /` }, "kernel command line"},
		{"subshell in cmdline", func(c *Config) { c.Cmdline = "root=$(id)" }, "kernel command line"},
		{"bad module", func(c *Config) { c.AddModules = append(c.AddModules, "a b") }, "add_dracutmodules: bad name"},
		{"bad driver", func(c *Config) { c.Drivers = []string{"x;y"} }, "drivers: bad name"},
		{"added and omitted", func(c *Config) { c.OmitModules = append(c.OmitModules, "systemd") }, "both added and omitted"},
		{"compressor", func(c *Config) { c.Compress = "bzip3" }, "unknown compressor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default("PARTLABEL=root-a")
			tc.edit(&c)
			_, err := c.Render()
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestArgs(t *testing.T) {
	b := Build{Kver: "6.1.0-56-amd64", SysRoot: "/rootfs",
		Includes: []Include{{Src: "/tmp/hook.sh", Dst: "/lib/dracut/hooks/cmdline/99-x.sh"}}}
	args, err := b.Args("/tmp/conf.d", "/tmp/k/lib/modules/6.1.0-56-amd64", "/out/initrd.img")
	require.NoError(t, err)
	golden.Assert(t, "args.golden", []byte(strings.Join(args, "\n")+"\n"))

	_, err = b.Args("/c", "/tmp/k/lib/modules/5.0", "/o")
	require.ErrorContains(t, err, "must end in lib/modules/6.1.0-56-amd64")
	_, err = Build{Kver: "../x"}.Args("/c", "/m", "/o")
	require.ErrorContains(t, err, "bad kernel release")
	b.Includes[0].Dst = "relative"
	_, err = b.Args("/c", "/tmp/k/lib/modules/6.1.0-56-amd64", "/o")
	require.ErrorContains(t, err, "must be absolute")
}

// TestStageModules stages an uninstalled module tree (no modules.dep)
// and checks depmod ran in the copy, not in the source.
func TestStageModules(t *testing.T) {
	if _, err := exec.LookPath("depmod"); err != nil {
		t.Skip("depmod not installed (apt-get install kmod)")
	}
	src := filepath.Join(t.TempDir(), "6.1.0-test")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "kernel"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "modules.order"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "modules.builtin"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "modules.dep"), []byte("stale"), 0o644))

	root := t.TempDir()
	dir, err := Build{Kver: "6.1.0-test", ModulesDir: src}.stageModules(t.Context(), root)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(root, "lib/modules/6.1.0-test"), dir)
	dep, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	require.NoError(t, err)
	require.Empty(t, dep, "regenerated, not the stale source copy")
	target, err := os.Readlink(filepath.Join(dir, "kernel"))
	require.NoError(t, err)
	require.Equal(t, filepath.Join(src, "kernel"), target)
	stale, err := os.ReadFile(filepath.Join(src, "modules.dep"))
	require.NoError(t, err)
	require.Equal(t, "stale", string(stale), "source untouched")

	_, err = Build{Kver: "6.1.0-test", ModulesDir: "/nonexistent"}.stageModules(t.Context(), t.TempDir())
	require.ErrorContains(t, err, "kernel modules")
}
