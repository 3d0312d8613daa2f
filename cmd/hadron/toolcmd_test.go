package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/bootchain/toolcmd"
	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseInvocation parses inv through the real command tree the way the
// hadron binary inside a build step does, and checks that every flag holds
// the typed value and the positional arguments are accepted.
func parseInvocation(root *cobra.Command, inv toolcmd.Invocation) error {
	argv := inv.Argv()
	cmd, rest, err := root.Find(argv)
	if err != nil {
		return fmt.Errorf("%s: %w", inv, err)
	}
	if got := strings.TrimPrefix(cmd.CommandPath(), root.Name()+" "); got != inv.String() {
		return fmt.Errorf("%s: resolves to command %q", inv, got)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("%s: %w", inv, err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("%s: %w", inv, err)
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return fmt.Errorf("%s: %w", inv, err)
	}
	if !slices.Equal(cmd.Flags().Args(), inv.Args) && !(len(inv.Args) == 0 && len(cmd.Flags().Args()) == 0) {
		return fmt.Errorf("%s: positional arguments %q, want %q", inv, cmd.Flags().Args(), inv.Args)
	}
	want := map[string][]string{}
	for _, f := range inv.Flags {
		v := f.Value
		if f.Bool {
			v = "true"
		}
		want[f.Name] = append(want[f.Name], v)
	}
	for name, values := range want {
		fl := cmd.Flags().Lookup(name)
		if fl == nil {
			return fmt.Errorf("%s: no flag --%s", inv, name)
		}
		var got []string
		switch fl.Value.Type() {
		case "stringArray":
			got, _ = cmd.Flags().GetStringArray(name)
		case "stringSlice":
			got, _ = cmd.Flags().GetStringSlice(name)
		default: // a scalar: its parsed value, printed back
			got = []string{fl.Value.String()}
		}
		if !slices.Equal(got, values) {
			return fmt.Errorf("%s: --%s parsed as %q, want %q", inv, name, got, values)
		}
	}
	return nil
}

// bootInvocations converts a trusted <image>/boot target and returns the
// hadron command lines its steps run.
func bootInvocations(t *testing.T) []toolcmd.Invocation {
	t.Helper()
	fsys := fstest.MapFS{}
	projecttest.Add(fsys, projecttest.Spec{Name: "hello", Style: recipe.StyleCustom})
	projecttest.Add(fsys, projecttest.Spec{Name: "kern", Style: recipe.StyleCustom})
	fsys["images/tb.yaml"] = &fstest.MapFile{Data: []byte("name: tb\npackages: [hello]\nboot: trusted\nkernel: kern\nefi: kern\n" +
		"cmdline: \"console=ttyS0 --not-a-flag it's\"\n")}
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	tg, err := target.Lookup(tree, "tb/boot")
	require.NoError(t, err)
	c, err := convert.New(tree, convert.Options{Arch: recipe.ArchAMD64, Settings: convert.Settings{SourceDateEpoch: 1700000000}}, tg.Roots(tree.Images)...)
	require.NoError(t, err)
	_, err = c.State(tg)
	require.NoError(t, err)
	return c.ToolInvocations()
}

// TestConverterToolInvocationsParse: every hadron command line a boot
// target runs inside BuildKit (its image's ELF gates included) parses
// through the real command tree with the typed values; a renamed or
// retyped flag fails here, not in a build.
func TestConverterToolInvocationsParse(t *testing.T) {
	invs := bootInvocations(t)
	var names []string
	for _, inv := range invs {
		names = append(names, inv.String())
		t.Run(inv.String(), func(t *testing.T) {
			assert.NoError(t, parseInvocation(newRootCmd(), inv))
		})
	}
	assert.ElementsMatch(t, []string{"initrd pack", "uki build", "sign"}, names, "the boot steps (the fixture tree has no toolchain, so no ELF gate; TestEveryToolParses covers elf-check)")
}

// TestEveryToolParses: one value of each typed invocation, with every
// field set, parses through the real command tree.
func TestEveryToolParses(t *testing.T) {
	for _, tool := range []toolcmd.Tool{
		toolcmd.InitrdPack{Dir: "/rootfs", Out: "/out/initrd.cpio.gz", Gzip: true},
		toolcmd.UKIBuild{Output: "/out/a.efi", Stub: "/stub", Kernel: "/k", Initrds: []string{"/i1", "/i2"}, Cmdline: "quiet it's",
			RootHashFile: "/root/roothash", OSRelease: "/os-release", PCRKey: "/run/secrets/pcr.key", SignKey: "/run/secrets/db.key", SignCert: "/run/secrets/db.crt"},
		toolcmd.Sign{Key: "/k", Cert: "/c", In: "/in", Out: "/out"},
		toolcmd.ELFCheck{Arch: string(recipe.ArchARM64), Package: "xz", Dir: "/closure"},
		toolcmd.SysextBuild{Name: "debug-tools", Arch: "arm64", FS: "squashfs", Key: "/run/secrets/verity.key", Cert: "/run/secrets/verity.crt", Dir: "/tree", Out: "/out/debug-tools.raw"},
		toolcmd.VerityRoot{Name: "base-trusted", Dir: "/rootfs", Out: "/out/root"},
		toolcmd.TrustedDisk{Name: "base-trusted", Arch: "amd64", ESP: "/esp", Root: "/root", Out: "/out/base-trusted.raw"},
		toolcmd.RPiDisk{Name: "rpi5", Boards: []string{"pi4", "pi5"}, Boot: "/boot", Root: "/root", Out: "/out/rpi5.raw"},
		toolcmd.StandardDisk{Name: "base-standard", Arch: "arm64", Kernel: "/kernel/boot/vmlinuz", Initrd: "/initrd/initrd.cpio.gz", RootfsDir: "/rootfs",
			Cmdline: "console=ttyS0 it's", GrubLib: "/grub/usr/lib/grub", GrubMkimage: "/tmp/grub-mkimage", ESPTree: "/esp-tree", Out: "/out/base-standard.raw", FillSlots: true},
		toolcmd.DracutBuild{Tool: "/dracut/usr/bin/dracut", SysRoot: "/sysroot", Modules: "/sysroot/usr/lib/modules", KverFile: "/kernel/boot/kernel.release",
			Out: "/out/initrd.img", Root: "", Compress: "zstd"},
		toolcmd.DracutBuild{Modules: "/m", KverFile: "/k", Out: "/o", Root: "PARTLABEL=root-b"},
	} {
		inv := tool.Invocation()
		t.Run(inv.String(), func(t *testing.T) {
			assert.NoError(t, parseInvocation(newRootCmd(), inv))
		})
	}
}

// TestParseInvocationCatchesDrift: the check fails for a flag the command
// does not have, a value that parses differently, a missing positional
// argument and an unknown command.
func TestParseInvocationCatchesDrift(t *testing.T) {
	sign := toolcmd.Sign{Key: "/k", Cert: "/c", In: "/in", Out: "/out"}.Invocation()
	renamed := sign
	renamed.Flags = append([]toolcmd.Flag(nil), sign.Flags...)
	renamed.Flags[0].Name = "db-key"
	missingArg := sign
	missingArg.Args = sign.Args[:1]
	unknown := sign
	unknown.Command = []string{"signature"}
	epoch := toolcmd.InitrdPack{Dir: "/r", Out: "/o"}.Invocation()
	epoch.Flags = []toolcmd.Flag{{Name: "epoch", Value: "007"}}
	for _, tc := range []struct {
		name string
		inv  toolcmd.Invocation
		want string
	}{
		{"renamed flag", renamed, "unknown flag: --db-key"},
		{"missing argument", missingArg, "accepts 2 arg(s)"},
		{"unknown command", unknown, `unknown command "signature"`},
		{"value parses differently", epoch, `--epoch parsed as ["7"], want ["007"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := parseInvocation(newRootCmd(), tc.inv)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestSysextInvocationParses: the `sysext build` command line the
// debug-tools/sysext target of the real tree runs parses through the real
// command tree.
func TestSysextInvocationParses(t *testing.T) {
	tree, err := project.Load(os.DirFS("../.."))
	require.NoError(t, err)
	tg, err := target.Lookup(tree, "debug-tools/sysext")
	require.NoError(t, err)
	c, err := convert.New(tree, convert.Options{Arch: recipe.ArchARM64, Settings: convert.Settings{SourceDateEpoch: 1700000000}}, tg.Roots(tree.Images)...)
	require.NoError(t, err)
	_, err = c.State(tg)
	require.NoError(t, err)
	var found bool
	for _, inv := range c.ToolInvocations() {
		assert.NoError(t, parseInvocation(newRootCmd(), inv))
		found = found || inv.String() == "sysext build"
	}
	assert.True(t, found, "no sysext build step")
}
