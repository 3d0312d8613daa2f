package board

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/kernel/kconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	amd64File = "kernel/boards/qemu-amd64/board.yaml"
	rpiFile   = "kernel/boards/rpi5/board.yaml"
)

const amd64Board = `name: qemu-amd64
description: Small amd64 kernel for QEMU q35 boots in CI
arch: amd64
base: allnoconfig
fragments:
  - common/systemd.config
  - boards/qemu-amd64/qemu.config
dtbs: []
`

const rpiBoard = `name: rpi5
arch: arm64
base: defconfig
fragments: [common/systemd.config]
dtbs:
  - broadcom/bcm2712-rpi-5-b.dtb
  - broadcom/bcm2712d0-rpi-5-b.dtb
`

const systemdConfig = `# What systemd needs.
CONFIG_CGROUPS=y
CONFIG_BPF_SYSCALL=y
# CONFIG_SYSFS_DEPRECATED is not set
CONFIG_DEFAULT_HOSTNAME="(none)"
`

const qemuConfig = `CONFIG_VIRTIO_PCI=y
CONFIG_DEFAULT_HOSTNAME="hadron"
`

// tree returns a tree with both boards and their fragments, with files
// replaced or added by extra.
func tree(extra map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		amd64File:                                  {Data: []byte(amd64Board)},
		rpiFile:                                    {Data: []byte(rpiBoard)},
		"kernel/common/systemd.config":             {Data: []byte(systemdConfig)},
		"kernel/boards/qemu-amd64/qemu.config":     {Data: []byte(qemuConfig)},
		"kernel/boards/README.md":                  {Data: []byte("not a board\n")},
		"kernel/boards/rpi5/cmdline.txt":           {Data: []byte("console=serial0\n")},
		"recipes/linux/recipe.yaml":                {Data: []byte("name: linux\n")},
		"kernel/boards/qemu-amd64/notes/readme.md": {Data: []byte("x\n")},
	}
	for k, v := range extra {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fsys
}

func without(fsys fstest.MapFS, files ...string) fstest.MapFS {
	for _, f := range files {
		delete(fsys, f)
	}
	return fsys
}

func TestLoadGood(t *testing.T) {
	fsys := tree(nil)
	b, err := Load(fsys, amd64File)
	require.NoError(t, err)
	assert.Equal(t, "qemu-amd64", b.Name)
	assert.Equal(t, "Small amd64 kernel for QEMU q35 boots in CI", b.Description)
	assert.Equal(t, recipe.ArchAMD64, b.Arch)
	assert.Equal(t, BaseAllnoconfig, b.Base)
	assert.Equal(t, []string{"common/systemd.config", "boards/qemu-amd64/qemu.config"}, b.Fragments)
	assert.Empty(t, b.DTBs)
	assert.Equal(t, amd64File, b.File)
	assert.Equal(t, 1, b.Line)
	assert.Equal(t, 7, b.LineOf("fragments[1]"))
	assert.Equal(t, 4, b.LineOf("base"))
	assert.Equal(t, 1, b.LineOf("no.such.key"))
	assert.Equal(t, "x86_64", b.MakeArch())
	assert.Equal(t, "x86", b.SrcArch())
	assert.Equal(t, "kernel/boards/qemu-amd64/qemu.config", b.FragmentPath(1))

	rpi, err := Load(fsys, rpiFile)
	require.NoError(t, err)
	assert.Equal(t, BaseDefconfig, rpi.Base)
	assert.Equal(t, "arm64", rpi.MakeArch())
	assert.Equal(t, []string{
		"arch/arm64/boot/dts/broadcom/bcm2712-rpi-5-b.dtb",
		"arch/arm64/boot/dts/broadcom/bcm2712d0-rpi-5-b.dtb",
	}, rpi.DTBPaths())
}

func TestLoadAll(t *testing.T) {
	all, err := LoadAll(tree(nil))
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "qemu-amd64", all["qemu-amd64"].Name)
	assert.Equal(t, "rpi5", all["rpi5"].Name)

	all, err = LoadAll(fstest.MapFS{"recipes/x/recipe.yaml": {Data: []byte("name: x\n")}})
	require.NoError(t, err, "a tree without kernel/boards has no boards")
	assert.Empty(t, all)

	all, err = LoadAll(fstest.MapFS{Dir + "/README.md": {Data: []byte("x")}})
	require.NoError(t, err)
	assert.Empty(t, all)
}

func TestLoadAllReportsEverything(t *testing.T) {
	fsys := tree(map[string]string{
		rpiFile:                                strings.Replace(rpiBoard, "arch: arm64", "arch: arm46", 1),
		"kernel/boards/qemu-amd64/qemu.config": "CONFIG_VIRTIO_PCI=yes\n",
		"kernel/boards/empty/board.yml":        "name: empty\n",
	})
	all, err := LoadAll(fsys)
	require.Error(t, err)
	assert.Len(t, all, 2, "boards are returned as far as they were read")
	assert.Equal(t, strings.Join([]string{
		"kernel/boards/empty: no board.yaml: every folder under kernel/boards is a board",
		`kernel/boards/qemu-amd64/qemu.config:1: CONFIG_VIRTIO_PCI: malformed value "yes": expected y, m, n, a quoted string, a decimal integer or a 0x hex number`,
		"kernel/boards/rpi5/board.yaml:2: unsupported arch \"arm46\"; did you mean `arm64`?",
	}, "\n"), err.Error())
	var list errlist.List
	assert.ErrorAs(t, err, &list)
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		file  string // default amd64File
		src   string
		extra map[string]string
		want  []string
	}{
		{name: "unknown key", src: strings.Replace(amd64Board, "fragments:", "fragment:", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:5: unknown key `fragment`; did you mean `fragments`?"}},
		{name: "unknown key far off", src: amd64Board + "kernel_version: 7.2\n",
			want: []string{"kernel/boards/qemu-amd64/board.yaml:9: unknown key `kernel_version`; known keys: arch, base, description, dtbs, fragments, name"}},
		{name: "wrong type", src: strings.Replace(amd64Board, "dtbs: []", "dtbs: foo.dtb", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:8: dtbs: expected a list, got "foo.dtb"`}},
		{name: "malformed yaml", src: "name: [\n",
			want: []string{"kernel/boards/qemu-amd64/board.yaml:1: malformed YAML"}},
		{name: "empty file", src: "",
			want: []string{"kernel/boards/qemu-amd64/board.yaml: empty document"}},
		{name: "no name", src: strings.Replace(amd64Board, "name: qemu-amd64\n", "", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:1: name is required (use "qemu-amd64", the folder name)`}},
		{name: "name mismatch", src: strings.Replace(amd64Board, "name: qemu-amd64", "name: qemu", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:1: name "qemu" does not match the folder name qemu-amd64`}},
		{name: "invalid name", src: strings.Replace(amd64Board, "name: qemu-amd64", "name: Qemu/AMD64", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:1: invalid board name "Qemu/AMD64"`}},
		{name: "no arch", src: strings.Replace(amd64Board, "arch: amd64\n", "", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:1: arch is required: one of amd64, arm64"}},
		{name: "arch typo", src: strings.Replace(amd64Board, "arch: amd64", "arch: amd46", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:3: unsupported arch \"amd46\"; did you mean `amd64`?"}},
		{name: "arch unknown", src: strings.Replace(amd64Board, "arch: amd64", "arch: riscv64", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:3: unsupported arch "riscv64"; one of amd64, arm64`}},
		{name: "no base", src: strings.Replace(amd64Board, "base: allnoconfig\n", "", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:1: base is required: one of defconfig, tinyconfig, allnoconfig"}},
		{name: "base typo", src: strings.Replace(amd64Board, "base: allnoconfig", "base: tinyconfg", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:4: unknown base \"tinyconfg\"; did you mean `tinyconfig`?"}},
		{name: "base unknown", src: strings.Replace(amd64Board, "base: allnoconfig", "base: allyesconfig", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:4: unknown base "allyesconfig"; one of defconfig, tinyconfig, allnoconfig`}},
		{name: "fragment missing", src: strings.Replace(amd64Board, "common/systemd.config", "common/sytemd.config", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:6: fragments: kernel/common/sytemd.config does not exist"}},
		{name: "fragment dotdot", src: strings.Replace(amd64Board, "common/systemd.config", "../kernel/common/systemd.config", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:6: fragments: "../kernel/common/systemd.config" must not contain .. (paths are relative to kernel/)`}},
		{name: "fragment absolute", src: strings.Replace(amd64Board, "common/systemd.config", "/kernel/common/systemd.config", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:6: fragments: "/kernel/common/systemd.config" must be relative, not absolute`}},
		{name: "fragment unclean", src: strings.Replace(amd64Board, "common/systemd.config", "./common//systemd.config", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:6: fragments: "./common//systemd.config" is not a clean path (write "common/systemd.config")`}},
		{name: "fragment backslash", src: strings.Replace(amd64Board, "common/systemd.config", `common\systemd.config`, 1),
			want: []string{`fragments: "common\\systemd.config" must use / as separator`}},
		{name: "fragment empty", src: strings.Replace(amd64Board, "common/systemd.config", `""`, 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:6: fragments: "" is empty`}},
		{name: "fragment twice", src: strings.Replace(amd64Board, "boards/qemu-amd64/qemu.config", "common/systemd.config", 1),
			want: []string{`kernel/boards/qemu-amd64/board.yaml:7: fragments: "common/systemd.config" listed twice`}},
		{name: "fragment is a folder", src: strings.Replace(amd64Board, "common/systemd.config", "common", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:6: fragments: read kernel/common:"}},
		{name: "fragment malformed lines", extra: map[string]string{"kernel/common/systemd.config": "CONFIG_A=y\nCONFIG_B\nCONFIG_A=m\n"},
			want: []string{
				"kernel/common/systemd.config:2: CONFIG_B has no value",
				"kernel/common/systemd.config:3: CONFIG_A is set to m here but to y on line 1 of the same fragment; keep one",
			}},
		{name: "dtbs on amd64", src: strings.Replace(amd64Board, "dtbs: []", "dtbs: [x.dtb]", 1),
			want: []string{"kernel/boards/qemu-amd64/board.yaml:8: dtbs: only arm64 boards have device trees; this board is amd64"}},
		{name: "dtb not .dtb", file: rpiFile, src: strings.Replace(rpiBoard, "bcm2712-rpi-5-b.dtb", "bcm2712-rpi-5-b.dts", 1),
			want: []string{`kernel/boards/rpi5/board.yaml:6: dtbs: "broadcom/bcm2712-rpi-5-b.dts" must name a .dtb file`}},
		{name: "dtb dotdot", file: rpiFile, src: strings.Replace(rpiBoard, "broadcom/bcm2712-rpi-5-b.dtb", "../../x.dtb", 1),
			want: []string{`kernel/boards/rpi5/board.yaml:6: dtbs: "../../x.dtb" must not contain .. (paths are relative to arch/<arch>/boot/dts)`}},
		{name: "dtb absolute", file: rpiFile, src: strings.Replace(rpiBoard, "broadcom/bcm2712-rpi-5-b.dtb", "/boot/x.dtb", 1),
			want: []string{`kernel/boards/rpi5/board.yaml:6: dtbs: "/boot/x.dtb" must be relative`}},
		{name: "dtb twice", file: rpiFile, src: strings.Replace(rpiBoard, "bcm2712d0-rpi-5-b.dtb", "bcm2712-rpi-5-b.dtb", 1),
			want: []string{`kernel/boards/rpi5/board.yaml:7: dtbs: "broadcom/bcm2712-rpi-5-b.dtb" listed twice`}},
		{name: "decode problems come before validation", src: "name: other\narch: x86\nbase: none\nfragments: [../a, missing.config]\ndtbs: [a.dtb]\nextra: 1\n",
			want: []string{"kernel/boards/qemu-amd64/board.yaml:6: unknown key `extra`"}},
		{name: "many validation problems at once", src: "name: other\narch: x86\nbase: none\nfragments: [../a, missing.config]\n",
			want: []string{
				`board.yaml:1: name "other" does not match the folder name qemu-amd64`,
				`board.yaml:2: unsupported arch "x86"`,
				`board.yaml:3: unknown base "none"`,
				`board.yaml:4: fragments: "../a" must not contain ..`,
				"board.yaml:4: fragments: kernel/missing.config does not exist",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = amd64File
			}
			extra := map[string]string{}
			for k, v := range tt.extra {
				extra[k] = v
			}
			if tt.src != "" || tt.name == "empty file" {
				extra[file] = tt.src
			}
			b, err := Load(tree(extra), file)
			require.Error(t, err)
			require.NotNil(t, b)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, lines[i], w)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	b, err := Load(tree(nil), "kernel/boards/nope/board.yaml")
	require.Error(t, err)
	assert.Nil(t, b)
	assert.Contains(t, err.Error(), "kernel/boards/nope/board.yaml: read board definition:")
}

func TestLoadFragments(t *testing.T) {
	fsys := tree(nil)
	b, err := Load(fsys, amd64File)
	require.NoError(t, err)
	frags, err := b.LoadFragments(fsys)
	require.NoError(t, err)
	require.Len(t, frags, 2)
	assert.Equal(t, "kernel/common/systemd.config", frags[0].File)
	assert.Equal(t, kconfig.Setting{Symbol: "BPF_SYSCALL", Value: "y", File: "kernel/common/systemd.config", Line: 3}, frags[0].Settings[1])
	assert.Equal(t, "kernel/boards/qemu-amd64/qemu.config", frags[1].Settings[0].File)

	m, err := b.Merged(fsys)
	require.NoError(t, err)
	assert.Equal(t, "CONFIG_CGROUPS=y\nCONFIG_BPF_SYSCALL=y\n# CONFIG_SYSFS_DEPRECATED is not set\n"+
		"CONFIG_DEFAULT_HOSTNAME=\"hadron\"\nCONFIG_VIRTIO_PCI=y\n", string(m.Bytes()))
	require.Len(t, m.Overrides, 1)
	assert.Equal(t, "DEFAULT_HOSTNAME", m.Overrides[0].Symbol)
	assert.Equal(t, "kernel/boards/qemu-amd64/qemu.config", m.Overrides[0].New.File)
	assert.Equal(t, 2, m.Overrides[0].New.Line)
}

func TestLoadFragmentsProblems(t *testing.T) {
	fsys := tree(nil)
	b, err := Load(fsys, amd64File)
	require.NoError(t, err)

	// The tree changed after Load: one fragment is gone, one is broken.
	fsys = without(fsys, "kernel/common/systemd.config")
	fsys["kernel/boards/qemu-amd64/qemu.config"] = &fstest.MapFile{Data: []byte("CONFIG_A=y\nCONFIG_A=y\n")}
	frags, err := b.LoadFragments(fsys)
	require.Error(t, err)
	assert.Equal(t, "kernel/boards/qemu-amd64/board.yaml:6: fragments: kernel/common/systemd.config does not exist\n"+
		"kernel/boards/qemu-amd64/qemu.config:2: duplicate: CONFIG_A is already set to y on line 1; remove one", err.Error())
	require.Len(t, frags, 1, "fragments that could be read are returned")
	var list errlist.List
	assert.ErrorAs(t, err, &list)

	m, err := b.Merged(fsys)
	require.Error(t, err)
	assert.Nil(t, m)
}

func TestNoFragments(t *testing.T) {
	src := "name: bare\narch: arm64\nbase: defconfig\n"
	fsys := fstest.MapFS{"kernel/boards/bare/board.yaml": {Data: []byte(src)}}
	b, err := Load(fsys, "kernel/boards/bare/board.yaml")
	require.NoError(t, err)
	m, err := b.Merged(fsys)
	require.NoError(t, err)
	assert.Empty(t, m.Settings)
	assert.Empty(t, b.DTBPaths())
}
