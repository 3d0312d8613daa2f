package kconfig

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/yamlstrict"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The files under testdata/ come from a real Kconfig run; see
// testdata/README.md and TestRealKconfig, which redoes that run.
const (
	baseFile    = "testdata/allnoconfig-x86_64.config"
	finalFile   = "testdata/olddefconfig-x86_64.config"
	symbolsFile = "testdata/symbols.txt"
)

var fragmentFiles = []string{"testdata/common.config", "testdata/board.config"}

// kernelSrcEnv names an unpacked kernel tree for TestRealKconfig.
const kernelSrcEnv = "HADRON_KERNEL_SRC"

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	return data
}

func testMerged(t testing.TB) *Merged {
	t.Helper()
	var frags []*Fragment
	for _, f := range fragmentFiles {
		frag, err := ParseFragment(f, readFile(t, f))
		require.NoError(t, err)
		frags = append(frags, frag)
	}
	return Merge(frags...)
}

func parseConfigFile(t testing.TB, name string) map[string]string {
	t.Helper()
	cfg, err := ParseConfig(readFile(t, name))
	require.NoError(t, err)
	return cfg
}

// wantRealProblems is what Kconfig 7.2.8 made of testdata/board.config on
// an x86_64 allnoconfig base.
var wantRealProblems = []string{
	"testdata/board.config:7: CONFIG_DM_VERITY: wanted y, got not set (a dependency is probably off; see `make menuconfig` search)",
	"testdata/board.config:12: CONFIG_EXTT4_FS: no such Kconfig symbol (did you mean CONFIG_EXT4_FS?)",
	"testdata/board.config:15: CONFIG_64BIT: wanted n, got y (something selects it, or it has no prompt to turn it off; see `make menuconfig` search)",
	"testdata/board.config:18: CONFIG_PHYSICAL_START: wanted 0x2000000, got 0x1000000 (its prompt is hidden or the value is out of range, so Kconfig kept its own; see `make menuconfig` search)",
	"testdata/board.config:22: CONFIG_CUSE: wanted y, got m (it depends on a symbol that is only m; set that one to y)",
	"testdata/board.config:25: CONFIG_JBD2: wanted m, got y (modules are off, or a built-in symbol selects it)",
}

func problemStrings(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// TestGoldenKconfigRun checks Check, Diff and ApplyToBase against the
// checked-in outcome of a real Kconfig run.
func TestGoldenKconfigRun(t *testing.T) {
	m := testMerged(t)
	base := parseConfigFile(t, baseFile)
	final := parseConfigFile(t, finalFile)
	known := ParseSymbols(readFile(t, symbolsFile))

	problems := Check(final, m, known)
	assert.Equal(t, wantRealProblems, problemStrings(problems))
	err := CheckError("qemu-amd64", problems)
	require.Error(t, err)
	golden.Assert(t, "problems.txt", []byte(err.Error()+"\n"))
	golden.Assert(t, "diff.txt", []byte(FormatDiff(Diff(base, final))))

	// Satisfied settings of every kind are not reported.
	for sym, want := range map[string]string{
		"MODULES": "y", "PRINTK": "y", "LOG_BUF_SHIFT": "16", "DEFAULT_HOSTNAME": `"hadron"`,
		"LOCALVERSION": `"-hadron"`, "PHYSICAL_ALIGN": "0x200000", "BINFMT_MISC": "m",
		"SWAP": "n", "EXT4_FS": "y", "FUSE_FS": "m",
	} {
		assert.Equal(t, want, final[sym], sym)
	}
	_, present := final["DM_CRYPT"]
	assert.False(t, present, "DM_CRYPT must be absent: wanting n is satisfied by absence")

	// The override of common.config by board.config is recorded.
	require.Len(t, m.Overrides, 1)
	assert.Equal(t, "DEFAULT_HOSTNAME", m.Overrides[0].Symbol)
	assert.Equal(t, `"(none)"`, m.Overrides[0].Old.Value)
	assert.Equal(t, `"hadron"`, m.Overrides[0].New.Value)
}

func TestGoldenApplyToBase(t *testing.T) {
	m := testMerged(t)
	base := readFile(t, baseFile)
	out := ApplyToBase(base, m)
	merged := m.Bytes()
	require.True(t, bytes.HasSuffix(out, merged))
	head := string(out[:len(out)-len(merged)])
	for _, line := range []string{`CONFIG_DEFAULT_HOSTNAME="(none)"`, "# CONFIG_MODULES is not set", "CONFIG_PHYSICAL_START=0x1000000", "CONFIG_64BIT=y"} {
		assert.Contains(t, string(base), line+"\n")
		assert.NotContains(t, head, line+"\n")
	}
	// Lines of symbols the fragments do not mention survive unchanged, in
	// order.
	var kept []string
	for _, line := range strings.SplitAfter(string(base), "\n") {
		if sym := lineSymbol(strings.TrimSuffix(line, "\n")); sym == "" || !slices.ContainsFunc(m.Settings, func(s Setting) bool { return s.Symbol == sym }) {
			kept = append(kept, line)
		}
	}
	assert.Equal(t, strings.Join(kept, ""), head)
}

// TestRealKconfig redoes the Kconfig run behind testdata/ with a real
// kernel tree: allnoconfig, ApplyToBase, olddefconfig, in a scratch O=
// folder (the source tree is only read). It needs HADRON_KERNEL_SRC, make,
// a C compiler, flex and bison. With -update it rewrites the checked-in
// configs and the trimmed symbol list.
func TestRealKconfig(t *testing.T) {
	src := os.Getenv(kernelSrcEnv)
	if src == "" {
		t.Skipf("set %s to an unpacked Linux 7.2.8 tree to run Kconfig for real", kernelSrcEnv)
	}
	out := t.TempDir()
	kmake := func(target string) {
		t.Helper()
		cmd := exec.Command("make", "-s", "-C", src, "O="+out, "ARCH=x86_64", target)
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "make %s:\n%s", target, msg)
	}
	config := filepath.Join(out, ".config")
	kmake("allnoconfig")
	baseData := readFile(t, config)
	m := testMerged(t)
	require.NoError(t, os.WriteFile(config, ApplyToBase(baseData, m), 0o644))
	kmake("olddefconfig")
	finalData := readFile(t, config)

	list, err := exec.Command("sh", "-c", `find "$1" -name 'Kconfig*' | xargs grep -hoE '^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+' | awk '{print $2}' | sort -u`, "sh", src).Output()
	require.NoError(t, err)
	known := ParseSymbols(list)
	require.Greater(t, len(known), 10000, "the symbol list looks truncated")

	final, err := ParseConfig(finalData)
	require.NoError(t, err)
	assert.Equal(t, wantRealProblems, problemStrings(Check(final, m, known)))

	if golden.Updating() {
		require.NoError(t, os.WriteFile(baseFile, baseData, 0o644))
		require.NoError(t, os.WriteFile(finalFile, finalData, 0o644))
		require.NoError(t, os.WriteFile(symbolsFile, trimSymbols(list, m), 0o644))
	}
	// The trimmed list must give the same answers as the full one.
	assert.Equal(t, problemStrings(Check(final, m, known)),
		problemStrings(Check(final, m, ParseSymbols(readFile(t, symbolsFile)))))
}

// trimSymbols keeps from the full symbol list the symbols the fragments
// set and every symbol close enough to one of them to be suggested, so
// that Check gives the same result with the trimmed list.
func trimSymbols(list []byte, m *Merged) []byte {
	var b bytes.Buffer
	b.WriteString("# Kconfig symbols of Linux 7.2.8, trimmed for the tests: those the fragments\n" +
		"# set and their near neighbours. See README.md.\n")
	for _, sym := range strings.Fields(string(list)) {
		for _, s := range m.Settings {
			if sym == s.Symbol || yamlstrict.Suggest(s.Symbol, []string{sym}) != "" {
				b.WriteString(sym + "\n")
				break
			}
		}
	}
	return b.Bytes()
}
