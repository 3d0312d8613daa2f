package target

import (
	"testing"

	"github.com/hadron-linux/hadron/internal/imagedef"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: "mini", want: Target{Kind: Named, Name: "mini"}},
		{in: "musl", want: Target{Kind: Named, Name: "musl"}},
		{in: "gcc-stage1", want: Target{Kind: Named, Name: "gcc-stage1"}},
		{in: "libstdc++", want: Target{Kind: Named, Name: "libstdc++"}},
		{in: "mini/boot", want: Target{Kind: Boot, Name: "mini"}},
		{in: "dbg/sysext", want: Target{Kind: Sysext, Name: "dbg"}},
		{in: "linux@qemu-amd64", want: Target{Kind: Kernel, Name: "linux", Board: "qemu-amd64"}},
		{in: "linux@qemu-amd64/config", want: Target{Kind: KernelConfig, Name: "linux", Board: "qemu-amd64"}},
		{in: "musl:dev", want: Target{Kind: Named, Name: "musl", Output: "dev"}},
		{in: "openssl:tools-2", want: Target{Kind: Named, Name: "openssl", Output: "tools-2"}},

		{in: "", wantErr: "empty target"},
		{in: " mini", wantErr: "white space"},
		{in: "mini boot", wantErr: "white space"},
		{in: "mini/disk", want: Target{Kind: Disk, Name: "mini"}},
		{in: "mini/uki", want: Target{Kind: UKI, Name: "mini"}},
		{in: "mini/pe", wantErr: `target "mini/pe": image mini has no output "pe" (only "boot", "disk", "uki" or "sysext")`},
		{in: "mini/", wantErr: `image mini has no output "" (only "boot", "disk", "uki" or "sysext")`},
		{in: "mini/boot/x", wantErr: `more than one "/"`},
		{in: "linux@qemu-amd64/boot", wantErr: `kernel linux@qemu-amd64 has no output "boot" (only "config")`},
		{in: "linux@", wantErr: `"" is not a board name`},
		{in: "linux@qemu@amd64", wantErr: `"qemu@amd64" is not a board name`},
		{in: "@qemu-amd64", wantErr: `"" is not a recipe or image name`},
		{in: "/boot", wantErr: `"" is not a recipe or image name`},
		{in: "Mini", wantErr: `"Mini" is not a recipe or image name`},
		{in: "../etc", wantErr: `".." is not a recipe or image name`},
		{in: "musl:", wantErr: `target "musl:": "" is not an output name (want RECIPE:OUTPUT, e.g. zlib:dev)`},
		{in: "musl:Dev", wantErr: `"Dev" is not an output name`},
		{in: "musl:dev:x", wantErr: `"dev:x" is not an output name`},
		{in: "mini:dev/boot", wantErr: `a package output (:dev) goes with a plain recipe name only`},
		{in: "linux@qemu-amd64:dev", wantErr: `a package output (:dev) goes with a plain recipe name only`},
		{in: ":dev", wantErr: `"" is not a recipe or image name`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in, got.String(), "String gives the name back")
		})
	}
}

func testTree() *project.Tree {
	return &project.Tree{
		Recipes: map[string]*recipe.Recipe{
			"musl": {Name: "musl"}, "busybox": {Name: "busybox"}, "linux": {Name: "linux"},
			"both": {Name: "both"},
		},
		Images: map[string]*imagedef.Image{
			"mini":  {Name: "mini", Packages: []string{"musl", "busybox"}},
			"tboot": {Name: "tboot", Packages: []string{"musl"}, Kernel: "linux@qemu-amd64", Boot: imagedef.BootTrusted},
			"tdisk": {Name: "tdisk", Packages: []string{"musl"}, Kernel: "linux@qemu-amd64", Boot: imagedef.BootTrusted,
				Initrd: "rd", EFI: "systemd:efi"},
			"rd":   {Name: "rd", Kind: imagedef.KindInitrd, Packages: []string{"busybox", "musl"}},
			"std":  {Name: "std", Packages: []string{"musl"}, Kernel: "linux@qemu-amd64", Boot: imagedef.BootGRUB, Initrd: "rd"},
			"both": {Name: "both", Packages: []string{"busybox"}},
		},
	}
}

func TestLookup(t *testing.T) {
	tree := testTree()
	tests := []struct {
		in      string
		want    Target
		roots   []string
		secrets bool
		tools   bool
		wantErr string
	}{
		{in: "mini", want: Target{Kind: Image, Name: "mini"}, roots: []string{"musl", "busybox"}, tools: true},
		{in: "musl", want: Target{Kind: Recipe, Name: "musl"}, roots: []string{"musl"}, tools: true},
		{in: "both", want: Target{Kind: Image, Name: "both"}, roots: []string{"busybox"}, tools: true},
		{in: "tboot/boot", want: Target{Kind: Boot, Name: "tboot"}, roots: []string{"musl", "linux", "systemd"}, secrets: true, tools: true},
		{in: "mini/boot", want: Target{Kind: Boot, Name: "mini"}, roots: []string{"musl", "busybox"}, secrets: false, tools: true}, // no boot: (the conversion says so)
		{in: "tdisk/disk", want: Target{Kind: Disk, Name: "tdisk"}, roots: []string{"musl", "linux", "systemd", "busybox"}, secrets: true, tools: true},
		{in: "std/disk", want: Target{Kind: Disk, Name: "std"}, roots: []string{"musl", "linux", "grub", "busybox"}, secrets: false, tools: true},
		{in: "mini/disk", wantErr: "target mini/disk: image mini has no disk: a disk is built for boot: trusted with initrd:"},
		{in: "linux@qemu-amd64", want: Target{Kind: Kernel, Name: "linux", Board: "qemu-amd64"}, roots: []string{"linux"}},
		{in: "linux@rpi4/config", want: Target{Kind: KernelConfig, Name: "linux", Board: "rpi4"}, roots: []string{"linux"}},
		{in: "musl:dev", want: Target{Kind: Recipe, Name: "musl", Output: "dev"}, roots: []string{"musl"}, tools: true},
		{in: "both:doc", want: Target{Kind: Recipe, Name: "both", Output: "doc"}, roots: []string{"both"}, tools: true},

		{in: "nope", wantErr: `no image images/nope.yaml and no recipe named "nope" (images: both, mini, rd, std, tboot, tdisk)`},
		{in: "nope/boot", wantErr: "target nope/boot: no image images/nope.yaml (images: both, mini, rd, std, tboot, tdisk)"},
		{in: "musl/boot", wantErr: "no image images/musl.yaml"},
		{in: "zlinux@qemu-amd64", wantErr: `target zlinux@qemu-amd64: no kernel recipe named "zlinux"`},
		{in: "mini/pe", wantErr: `image mini has no output "pe"`},
		{in: "tboot/uki", want: Target{Kind: UKI, Name: "tboot"}, roots: []string{"musl", "linux", "systemd"}, secrets: true, tools: true},
		{in: "musl:devel", wantErr: `target musl:devel: recipe musl has no output "devel" (outputs: dev, doc, locale)`},
		{in: "mini:dev", wantErr: `target mini:dev: no recipe named "mini" (an image has no package outputs)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Lookup(tree, tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.roots, got.Roots(tree.Images))
			assert.Equal(t, tt.secrets, got.NeedsSecrets(tree.Images))
			assert.Equal(t, tt.tools, got.RunsTools())
		})
	}
}

// TestRunsTools: every target kind that may hold an ELF gate or a boot
// step runs the hadron binary, a parsed bare name included (Parse cannot
// tell an image from a recipe); kernel board builds and configurations do
// not.
func TestRunsTools(t *testing.T) {
	for in, want := range map[string]bool{
		"mini": true, "mini/boot": true, "linux@qemu-amd64": false, "linux@qemu-amd64/config": false,
	} {
		tg, err := Parse(in)
		require.NoError(t, err)
		assert.Equal(t, want, tg.RunsTools(), in)
	}
}

func TestAll(t *testing.T) {
	got := All(testTree())
	want := []Target{
		{Kind: Recipe, Name: "busybox"}, {Kind: Recipe, Name: "linux"}, {Kind: Recipe, Name: "musl"},
		{Kind: Image, Name: "both"}, {Kind: Image, Name: "mini"}, {Kind: Image, Name: "rd"}, {Kind: Image, Name: "std"}, {Kind: Image, Name: "tboot"}, {Kind: Image, Name: "tdisk"},
	}
	assert.Equal(t, want, got)
	for _, tg := range got {
		back, err := Lookup(testTree(), tg.String())
		require.NoError(t, err)
		assert.Equal(t, tg, back, "every listed target looks up as itself")
	}
}

// TestLookupSysext: IMAGE/sysext needs a system extension image; its
// roots hold its base image's packages too (what the extension leaves
// out), and it signs.
func TestLookupSysext(t *testing.T) {
	tree := testTree()
	tree.Images["dbg"] = &imagedef.Image{Name: "dbg", Kind: imagedef.KindSysext, Extends: "mini", Packages: []string{"both", "musl"}}
	for _, in := range []string{"dbg/sysext", "dbg"} {
		got, err := Lookup(tree, in)
		require.NoError(t, err)
		assert.Equal(t, []string{"both", "musl", "busybox"}, got.Roots(tree.Images), in)
		assert.True(t, got.RunsTools())
		assert.Equal(t, in == "dbg/sysext", got.NeedsSecrets(tree.Images), in)
		assert.Equal(t, in, got.String())
	}
	_, err := Lookup(tree, "mini/sysext")
	require.ErrorContains(t, err, "target mini/sysext: image mini is not a system extension")
	_, err = Lookup(tree, "nope/sysext")
	require.ErrorContains(t, err, "target nope/sysext: no image images/nope.yaml")
}

// TestBuiltFor: an image's targets follow its arches:; recipes and
// kernels are not decided here.
func TestBuiltFor(t *testing.T) {
	images := map[string]*imagedef.Image{
		"pi":  {Name: "pi", Arches: []recipe.Arch{recipe.ArchARM64}},
		"any": {Name: "any"},
	}
	for _, tt := range []struct {
		in   string
		arch recipe.Arch
		want bool
	}{
		{"pi", recipe.ArchARM64, true}, {"pi", recipe.ArchAMD64, false},
		{"pi/disk", recipe.ArchAMD64, false}, {"pi/boot", recipe.ArchARM64, true},
		{"any", recipe.ArchAMD64, true}, {"any/uki", recipe.ArchARM64, true},
		{"zlib", recipe.ArchAMD64, true}, {"linux@rpi5", recipe.ArchAMD64, true},
	} {
		tg, err := Parse(tt.in)
		require.NoError(t, err)
		assert.Equal(t, tt.want, tg.BuiltFor(images, tt.arch), "%s for %s", tt.in, tt.arch)
	}
}

// TestRootsRPiFirmware: a Pi image's boot targets resolve its firmware
// package too (its gate needs the package's runtime closure), the image
// alone does not.
func TestRootsRPiFirmware(t *testing.T) {
	images := map[string]*imagedef.Image{"pi": {Name: "pi", Packages: []string{"busybox"}, Boot: imagedef.BootRPi,
		Kernel: "linux@rpi4", Firmware: "pi-firmware", Arches: []recipe.Arch{recipe.ArchARM64}}}
	for in, want := range map[string][]string{
		"pi/disk": {"busybox", "linux", "pi-firmware"},
		"pi/boot": {"busybox", "linux", "pi-firmware"},
		"pi":      {"busybox"},
	} {
		tg, err := Parse(in)
		require.NoError(t, err)
		if tg.Kind == Named {
			tg.Kind = Image
		}
		assert.Equal(t, want, tg.Roots(images), in)
	}
}
