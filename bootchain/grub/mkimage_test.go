package grub

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/stretchr/testify/require"
)

func TestArgs(t *testing.T) {
	efi := Image{Platform: EFIx64, Prefix: "/grub"}
	args, err := efi.Args("/out/BOOTX64.EFI", "/tmp/early.cfg")
	require.NoError(t, err)
	bios := Image{Platform: BIOS, Prefix: "/grub", Modules: []string{"biosdisk", "part_gpt"}, Tool: "/opt/grub-mkimage", ModuleDir: "/opt/mods"}
	args2, err := bios.Args("/out/core.img", "")
	require.NoError(t, err)
	golden.Assert(t, "mkimage-args.golden", []byte(strings.Join(args, " ")+"\n"+strings.Join(args2, " ")+"\n"))

	_, err = Image{Platform: "sparc64-ieee1275", Prefix: "/grub"}.Args("x", "")
	require.ErrorContains(t, err, "unsupported platform")
	_, err = Image{Platform: BIOS, Prefix: "grub"}.Args("x", "")
	require.ErrorContains(t, err, "absolute GRUB path")
	_, err = Image{Platform: BIOS, Prefix: "/grub", Modules: []string{}}.Args("x", "")
	require.ErrorContains(t, err, "no modules")
}

func TestDefaultModulesSorted(t *testing.T) {
	for _, p := range []Platform{EFIx64, EFIArm64, BIOS} {
		m := DefaultModules(p)
		require.IsIncreasing(t, m, p)
		require.Contains(t, m, "loadenv")
	}
	require.Contains(t, DefaultModules(BIOS), "biosdisk")
	require.NotContains(t, DefaultModules(EFIx64), "biosdisk")
}

// TestBuildReproducible builds each x86 image twice with the host's
// grub-mkimage and expects identical bytes.
func TestBuildReproducible(t *testing.T) {
	if _, err := exec.LookPath("grub-mkimage"); err != nil {
		t.Skip("grub-mkimage not installed (apt-get install grub-common grub-efi-amd64-bin grub-pc-bin)")
	}
	early, err := EarlyConfig("1234-ABCD", "/grub")
	require.NoError(t, err)
	for _, p := range []Platform{EFIx64, BIOS} {
		t.Run(string(p), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("/usr/lib/grub", string(p))); err != nil {
				t.Skipf("GRUB %s modules not installed", p)
			}
			dir := t.TempDir()
			im := Image{Platform: p, Prefix: "/grub", EarlyConfig: early}
			var outs [][]byte
			for _, name := range []string{"one", "two"} {
				out := filepath.Join(dir, name)
				require.NoError(t, im.Build(t.Context(), out))
				b, err := os.ReadFile(out)
				require.NoError(t, err)
				outs = append(outs, b)
			}
			require.True(t, bytes.Equal(outs[0], outs[1]), "two builds differ")
			if p == EFIx64 { // the i386-pc core is lzma-compressed
				require.True(t, bytes.Contains(outs[0], []byte("search --no-floppy --fs-uuid --set=root 1234-ABCD")), "early config embedded")
			}
		})
	}
}

func TestBuildError(t *testing.T) {
	err := Image{Platform: BIOS, Prefix: "/grub", Tool: "false"}.Build(t.Context(), filepath.Join(t.TempDir(), "x"))
	require.ErrorContains(t, err, "grub-mkimage i386-pc")
}
