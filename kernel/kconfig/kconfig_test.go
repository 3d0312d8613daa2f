package kconfig

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFragmentGood(t *testing.T) {
	src := "# leading comment\n" +
		"\n" +
		"CONFIG_A=y\n" +
		"CONFIG_B=m\r\n" +
		"CONFIG_C=n\n" +
		"# CONFIG_D is not set\n" +
		`CONFIG_E="hadron"` + "\n" +
		`CONFIG_F="a \"quoted\" # not a comment \\"` + "\n" +
		"CONFIG_G=123\n" +
		"CONFIG_H=-1\n" +
		"CONFIG_I=0x1f\n" +
		"CONFIG_J=y   \n" +
		"# CONFIG_K=y was here once\n" +
		"  # an indented comment\n" +
		`CONFIG_L=""` + "\n" +
		"CONFIG_lower_9=y" // no final newline
	f, err := ParseFragment("kernel/common/x.config", []byte(src))
	require.NoError(t, err)
	assert.Equal(t, "kernel/common/x.config", f.File)
	want := []Setting{
		{"A", "y", "kernel/common/x.config", 3},
		{"B", "m", "kernel/common/x.config", 4},
		{"C", "n", "kernel/common/x.config", 5},
		{"D", "n", "kernel/common/x.config", 6},
		{"E", `"hadron"`, "kernel/common/x.config", 7},
		{"F", `"a \"quoted\" # not a comment \\"`, "kernel/common/x.config", 8},
		{"G", "123", "kernel/common/x.config", 9},
		{"H", "-1", "kernel/common/x.config", 10},
		{"I", "0x1f", "kernel/common/x.config", 11},
		{"J", "y", "kernel/common/x.config", 12},
		{"L", `""`, "kernel/common/x.config", 15},
		{"lower_9", "y", "kernel/common/x.config", 16},
	}
	assert.Equal(t, want, f.Settings)
}

func TestParseFragmentEmpty(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# only a comment\n"} {
		f, err := ParseFragment("a.config", []byte(src))
		require.NoError(t, err)
		assert.Empty(t, f.Settings)
	}
}

func TestParseFragmentErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // one entry per reported problem, in order
	}{
		{"no prefix", "A=y\n", []string{`a.config:1: malformed line "A=y": expected CONFIG_<SYMBOL>=<value>`}},
		{"plain text", "hello\n", []string{`a.config:1: malformed line "hello"`}},
		{"no value", "CONFIG_A\n", []string{"a.config:1: CONFIG_A has no value"}},
		{"empty value", "CONFIG_A=\n", []string{"a.config:1: CONFIG_A: empty value"}},
		{"bad value", "CONFIG_A=yes\n", []string{`a.config:1: CONFIG_A: malformed value "yes": expected y, m, n, a quoted string`}},
		{"bare hex", "CONFIG_A=ff\n", []string{`CONFIG_A: malformed value "ff"`}},
		{"empty hex", "CONFIG_A=0x\n", []string{`CONFIG_A: malformed value "0x"`}},
		{"lone minus", "CONFIG_A=-\n", []string{`CONFIG_A: malformed value "-"`}},
		{"trailing comment", "CONFIG_A=y # why\n", []string{`a.config:1: CONFIG_A: malformed value "y # why": put comments on a line of their own`}},
		{"text after string", `CONFIG_A="x" # why` + "\n", []string{`a.config:1: CONFIG_A: text after the closing quote of "x" # why`}},
		{"unterminated string", `CONFIG_A="x` + "\n", []string{`a.config:1: CONFIG_A: unterminated string "x`}},
		{"escaped end quote", `CONFIG_A="x\"` + "\n", []string{`a.config:1: CONFIG_A: unterminated string`}},
		{"bad symbol", "CONFIG_A-B=y\n", []string{`a.config:1: malformed symbol name "CONFIG_A-B"`}},
		{"empty symbol", "CONFIG_=y\n", []string{`a.config:1: malformed symbol name "CONFIG_"`}},
		{"indented", "  CONFIG_A=y\n", []string{"a.config:1: indented line"}},
		{"not set two spaces", "#  CONFIG_A is not set\n", []string{`a.config:1: write "# CONFIG_A is not set" exactly`}},
		{"not set no space", "#CONFIG_A is not set\n", []string{`a.config:1: write "# CONFIG_A is not set" exactly`}},
		{"not set indented", " # CONFIG_A is not set\n", []string{`a.config:1: write "# CONFIG_A is not set" exactly`}},
		{"not set double space", "# CONFIG_A is  not set\n", []string{`a.config:1: write "# CONFIG_A is not set" exactly`}},
		{"duplicate same value", "CONFIG_A=y\n\nCONFIG_A=y\n", []string{"a.config:3: duplicate: CONFIG_A is already set to y on line 1; remove one"}},
		{"duplicate n both ways", "CONFIG_A=n\n# CONFIG_A is not set\n", []string{"a.config:2: duplicate: CONFIG_A is already set to n on line 1"}},
		{"duplicate same hex", "CONFIG_A=0x1F\nCONFIG_A=0x01f\n", []string{"a.config:2: duplicate: CONFIG_A is already set to 0x01f on line 1"}},
		{"conflict", "CONFIG_A=y\nCONFIG_B=y\nCONFIG_A=m\n", []string{"a.config:3: CONFIG_A is set to m here but to y on line 1 of the same fragment; keep one"}},
		{"conflict not set", "# CONFIG_A is not set\nCONFIG_A=y\n", []string{"a.config:2: CONFIG_A is set to y here but to n on line 1"}},
		{"many at once", "bad\nCONFIG_A=y\nCONFIG_B=maybe\nCONFIG_A=n\n", []string{
			`a.config:1: malformed line "bad"`,
			`a.config:3: CONFIG_B: malformed value "maybe"`,
			"a.config:4: CONFIG_A is set to n here but to y on line 2",
		}},
		{"long line clipped", "CONFIG_A=" + strings.Repeat("x", 100) + "\n", []string{`CONFIG_A: malformed value "` + strings.Repeat("x", 60) + `..."`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFragment("a.config", []byte(tt.src))
			require.Error(t, err)
			require.NotNil(t, f, "the fragment is returned as far as it parsed")
			var list errlist.List
			require.ErrorAs(t, err, &list)
			require.Len(t, list, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, list[i].Error(), w)
			}
		})
	}
}

func TestParseFragmentKeepsGoodLines(t *testing.T) {
	f, err := ParseFragment("a.config", []byte("CONFIG_A=y\nbad\nCONFIG_B=m\nCONFIG_A=m\n"))
	require.Error(t, err)
	assert.Equal(t, []Setting{{"A", "y", "a.config", 1}, {"B", "m", "a.config", 3}}, f.Settings)
}

func TestParseConfig(t *testing.T) {
	src := "#\n# Automatically generated file; DO NOT EDIT.\n#\n" +
		"CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=0x10\nCONFIG_E=m\n" +
		"CONFIG_A=m\n" // a later line wins, as when Kconfig reads the file
	cfg, err := ParseConfig([]byte(src))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "m", "B": "n", "C": `"x y"`, "D": "0x10", "E": "m"}, cfg)

	_, err = ParseConfig([]byte("CONFIG_A=y\nCONFIG_B=what\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `.config:2: CONFIG_B: malformed value "what"`)
	var list errlist.List
	assert.ErrorAs(t, err, &list)
}

func TestParseSymbols(t *testing.T) {
	got := ParseSymbols([]byte("# comment\nEXT4_FS\n  CONFIG_BLOCK  \n\nMD\r\n"))
	assert.Equal(t, map[string]bool{"EXT4_FS": true, "BLOCK": true, "MD": true}, got)
	assert.Empty(t, ParseSymbols(nil))
}

func frag(t testing.TB, file, src string) *Fragment {
	t.Helper()
	f, err := ParseFragment(file, []byte(src))
	require.NoError(t, err)
	return f
}

func TestMerge(t *testing.T) {
	a := frag(t, "a.config", "CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=0x10\n")
	b := frag(t, "b.config", "CONFIG_E=y\nCONFIG_B=y\nCONFIG_C=n\nCONFIG_D=0X010\n")
	c := frag(t, "c.config", "CONFIG_B=m\n")
	m := Merge(a, nil, b, c)

	want := []Setting{
		{"A", "y", "a.config", 1},
		{"B", "m", "c.config", 1},
		{"C", "n", "b.config", 3},
		{"D", "0X010", "b.config", 4},
		{"E", "y", "b.config", 1},
	}
	assert.Equal(t, want, m.Settings, "winners in order of first appearance, the last setting wins")
	assert.Equal(t, []Override{
		{Symbol: "B", Old: Setting{"B", "m", "a.config", 2}, New: Setting{"B", "y", "b.config", 2}},
		{Symbol: "B", Old: Setting{"B", "y", "b.config", 2}, New: Setting{"B", "m", "c.config", 1}},
	}, m.Overrides, "equal values (n and not set, 0x10 and 0X010) are no overrides")

	assert.Equal(t, "CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=0X010\nCONFIG_E=y\n", string(m.Bytes()))
	assert.Empty(t, Merge().Settings)
	assert.Empty(t, Merge().Bytes())
}

func TestMergeBytesRoundTrip(t *testing.T) {
	m := Merge(frag(t, "a.config", "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"s\"\nCONFIG_D=-5\n"))
	again := Merge(frag(t, "merged", string(m.Bytes())))
	for i := range m.Settings {
		assert.Equal(t, m.Settings[i].Symbol, again.Settings[i].Symbol)
		assert.Equal(t, m.Settings[i].Value, again.Settings[i].Value)
	}
}

func TestApplyToBase(t *testing.T) {
	m := Merge(frag(t, "f.config", "CONFIG_FOO=y\n# CONFIG_BAR is not set\nCONFIG_NEW=m\n"))
	tests := []struct {
		name, base, want string
	}{
		{
			name: "replaces both forms, keeps the rest",
			base: "#\n# Header\n#\n# CONFIG_FOO is not set\nCONFIG_FOO_BAR=y\nCONFIG_BAR=y\n# CONFIG_BARX is not set\n# CONFIG_FOO mentioned in a comment\n\nCONFIG_OTHER=\"x\"\n",
			want: "#\n# Header\n#\nCONFIG_FOO_BAR=y\n# CONFIG_BARX is not set\n# CONFIG_FOO mentioned in a comment\n\nCONFIG_OTHER=\"x\"\n" +
				"CONFIG_FOO=y\n# CONFIG_BAR is not set\nCONFIG_NEW=m\n",
		},
		{
			name: "base without final newline",
			base: "CONFIG_OTHER=y",
			want: "CONFIG_OTHER=y\nCONFIG_FOO=y\n# CONFIG_BAR is not set\nCONFIG_NEW=m\n",
		},
		{
			name: "empty base",
			base: "",
			want: "CONFIG_FOO=y\n# CONFIG_BAR is not set\nCONFIG_NEW=m\n",
		},
		{
			name: "CRLF and repeated lines",
			base: "CONFIG_FOO=m\r\nCONFIG_FOO=y\r\n# CONFIG_BAR is not set\r\nCONFIG_KEEP=y\r\n",
			want: "CONFIG_KEEP=y\nCONFIG_FOO=y\n# CONFIG_BAR is not set\nCONFIG_NEW=m\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(ApplyToBase([]byte(tt.base), m)))
		})
	}
	assert.Equal(t, "CONFIG_A=y\n", string(ApplyToBase([]byte("CONFIG_A=y\n"), Merge())))
}

func TestCheck(t *testing.T) {
	m := Merge(
		frag(t, "b.config", "CONFIG_LATE=y\n"),
		frag(t, "a.config", strings.Join([]string{
			"CONFIG_OK=y",                       // 1 satisfied
			"CONFIG_ABSENT=y",                   // 2 absent
			"# CONFIG_GONE is not set",          // 3 n satisfied by absence
			"# CONFIG_OFF is not set",           // 4 n satisfied by n
			"CONFIG_MOD=m",                      // 5 m wanted, got y
			"CONFIG_BUILTIN=y",                  // 6 y wanted, got m
			"CONFIG_STUCK=n",                    // 7 n wanted, got y
			`CONFIG_STR="hadron"`,               // 8 string mismatch
			`CONFIG_STR_OK="x"`,                 // 9 string satisfied
			"CONFIG_HEX=0x1F",                   // 10 hex satisfied regardless of case
			"CONFIG_INT=16",                     // 11 int mismatch
			"CONFIG_DISABLED=y",                 // 12 got n
			"CONFIG_EXTT4_FS=y",                 // 13 typo
			"# CONFIG_NO_SUCH_THING is not set", // 14 unknown even though n is "satisfied"
			"CONFIG_ZZZZZZZZ=y",                 // 15 unknown, nothing close
			"CONFIG_UNLISTED=y",                 // 16 not in known but in final: trusted
		}, "\n")),
	)
	final := map[string]string{
		"LATE": "m", "OK": "y", "OFF": "n", "MOD": "y", "BUILTIN": "m", "STUCK": "y",
		"STR": `"(none)"`, "STR_OK": `"x"`, "HEX": "0x1f", "INT": "17", "DISABLED": "n", "UNLISTED": "y",
	}
	known := map[string]bool{}
	for _, s := range m.Settings {
		known[s.Symbol] = true
	}
	for _, s := range []string{"EXTT4_FS", "NO_SUCH_THING", "ZZZZZZZZ", "UNLISTED"} {
		delete(known, s)
	}
	known["EXT4_FS"] = true
	known["EXT2_FS"] = true

	want := []string{
		"a.config:2: CONFIG_ABSENT: wanted y, got not set (a dependency is probably off; see `make menuconfig` search)",
		"a.config:5: CONFIG_MOD: wanted m, got y (modules are off, or a built-in symbol selects it)",
		"a.config:6: CONFIG_BUILTIN: wanted y, got m (it depends on a symbol that is only m; set that one to y)",
		"a.config:7: CONFIG_STUCK: wanted n, got y (something selects it, or it has no prompt to turn it off; see `make menuconfig` search)",
		`a.config:8: CONFIG_STR: wanted "hadron", got "(none)" (its prompt is hidden or the value is out of range, so Kconfig kept its own; see ` + "`make menuconfig` search)",
		"a.config:11: CONFIG_INT: wanted 16, got 17 (its prompt is hidden or the value is out of range, so Kconfig kept its own; see `make menuconfig` search)",
		"a.config:12: CONFIG_DISABLED: wanted y, got n (a dependency is off or its prompt is hidden; see `make menuconfig` search)",
		"a.config:13: CONFIG_EXTT4_FS: no such Kconfig symbol (did you mean CONFIG_EXT4_FS?)",
		"a.config:14: CONFIG_NO_SUCH_THING: no such Kconfig symbol in this kernel version (renamed or removed?)",
		"a.config:15: CONFIG_ZZZZZZZZ: no such Kconfig symbol in this kernel version (renamed or removed?)",
		"b.config:1: CONFIG_LATE: wanted y, got m (it depends on a symbol that is only m; set that one to y)",
	}
	problems := Check(final, m, known)
	assert.Equal(t, want, problemStrings(problems), "sorted by file, then line")
	assert.Equal(t, Problem{Setting: Setting{"EXTT4_FS", "y", "a.config", 13}, NoSuchSymbol: true, Suggestion: "EXT4_FS"}, problems[7])
	assert.Equal(t, Problem{Setting: Setting{"ABSENT", "y", "a.config", 2}}, problems[0])

	// Without a symbol list, unknown symbols are judged by value alone.
	noKnown := problemStrings(Check(final, m, nil))
	assert.Contains(t, noKnown, "a.config:13: CONFIG_EXTT4_FS: wanted y, got not set (a dependency is probably off; see `make menuconfig` search)")
	assert.NotContains(t, strings.Join(noKnown, "\n"), "CONFIG_NO_SUCH_THING")
	assert.Len(t, noKnown, 10)

	assert.Empty(t, Check(map[string]string{}, Merge(), nil))
}

func TestCheckError(t *testing.T) {
	require.NoError(t, CheckError("x", nil))

	one := []Problem{{Setting: Setting{"A", "y", "kernel/common/a.config", 3}}}
	err := CheckError("qemu-amd64", one)
	assert.Equal(t, "kernel config for board qemu-amd64: 1 symbol did not get the value a fragment asked for:\n"+
		"  kernel/common/a.config:3: CONFIG_A: wanted y, got not set (a dependency is probably off; see `make menuconfig` search)", err.Error())

	two := append(one, Problem{Setting: Setting{"EXTT4_FS", "y", "kernel/boards/x/a.config", 3}, NoSuchSymbol: true, Suggestion: "EXT4_FS"})
	err = fmt.Errorf("build: %w", CheckError("x", two))
	assert.True(t, strings.HasPrefix(err.Error(), "build: kernel config for board x: 2 symbols did not get the value a fragment asked for:\n  kernel/common/a.config:3: "))
	assert.True(t, strings.HasSuffix(err.Error(), "\n  kernel/boards/x/a.config:3: CONFIG_EXTT4_FS: no such Kconfig symbol (did you mean CONFIG_EXT4_FS?)"))
	var cf *CheckFailure
	require.True(t, errors.As(err, &cf))
	assert.Equal(t, "x", cf.Board)
	assert.Equal(t, two, cf.Problems)
}

func TestDiff(t *testing.T) {
	base := map[string]string{"A": "n", "B": "y", "C": "m", "D": `"x"`, "SAME": "y", "GONE": "n"}
	final := map[string]string{"A": "y", "B": "y", "C": "y", "D": `"y"`, "SAME": "y", "NEW": "m"}
	changes := Diff(base, final)
	assert.Equal(t, []Change{
		{"A", "n", "y"},
		{"C", "m", "y"},
		{"D", `"x"`, `"y"`},
		{"GONE", "n", ""},
		{"NEW", "", "m"},
	}, changes)
	assert.Equal(t, "CONFIG_A: n -> y\nCONFIG_C: m -> y\nCONFIG_D: \"x\" -> \"y\"\nCONFIG_GONE: n -> (absent)\nCONFIG_NEW: (absent) -> m\n", FormatDiff(changes))
	assert.Empty(t, Diff(base, base))
	assert.Empty(t, FormatDiff(nil))
}

func TestValuesEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"y", "y", true},
		{"y", "m", false},
		{"0x1f", "0x1F", true},
		{"0x1f", "0X001f", true},
		{"0x0", "0x000", true},
		{"0x10", "16", false},
		{"016", "16", true},
		{"-0", "0", true},
		{"-5", "5", false},
		{"-05", "-5", true},
		{`"a"`, `"a"`, true},
		{`"a"`, `"A"`, false},
		{`"0x1"`, "0x1", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, valuesEqual(tt.a, tt.b), "%s vs %s", tt.a, tt.b)
		assert.Equal(t, tt.want, valuesEqual(tt.b, tt.a), "%s vs %s", tt.b, tt.a)
	}
}

func TestConfigLine(t *testing.T) {
	assert.Equal(t, "CONFIG_A=y", Setting{Symbol: "A", Value: "y"}.ConfigLine())
	assert.Equal(t, "# CONFIG_A is not set", Setting{Symbol: "A", Value: "n"}.ConfigLine())
	assert.Equal(t, `CONFIG_A="s"`, Setting{Symbol: "A", Value: `"s"`}.ConfigLine())
}

// benchInput builds four fragments with 2000 settings in all (some
// overriding each other), a final config honouring most of them and a
// symbol list of 20000 names.
func benchInput(b *testing.B) ([]*Fragment, map[string]string, map[string]bool) {
	b.Helper()
	values := []string{"y", "m", "n", `"text"`, "42", "0x1000"}
	var frags []*Fragment
	final := map[string]string{}
	known := map[string]bool{}
	for i := range 20000 {
		known[fmt.Sprintf("SYM_%05d_FEATURE", i)] = true
	}
	for f := range 4 {
		var src strings.Builder
		for i := range 500 {
			sym := fmt.Sprintf("SYM_%05d_FEATURE", f*450+i) // 50 overlap with the next fragment
			v := values[(i+f)%len(values)]
			fmt.Fprintf(&src, "%s\n", Setting{Symbol: sym, Value: v}.ConfigLine())
			if i%100 != 0 {
				final[sym] = v
			}
		}
		fr, err := ParseFragment(fmt.Sprintf("kernel/common/f%d.config", f), []byte(src.String()))
		require.NoError(b, err)
		frags = append(frags, fr)
	}
	return frags, final, known
}

func BenchmarkMergeCheck(b *testing.B) {
	frags, final, known := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		m := Merge(frags...)
		if len(m.Settings) < 1800 {
			b.Fatalf("merged %d settings", len(m.Settings))
		}
		_ = Check(final, m, known)
	}
}

// BenchmarkCheckTypo measures the did-you-mean search over 20000 symbols
// that one misspelt symbol costs.
func BenchmarkCheckTypo(b *testing.B) {
	frags, final, known := benchInput(b)
	typo := &Fragment{File: "typo.config", Settings: []Setting{{Symbol: "SYM_00001_FEATUER", Value: "y", File: "typo.config", Line: 1}}}
	m := Merge(append(frags, typo)...)
	b.ReportAllocs()
	for b.Loop() {
		ps := Check(final, m, known)
		if len(ps) == 0 || !ps[len(ps)-1].NoSuchSymbol {
			b.Fatal("typo not reported")
		}
	}
}

func BenchmarkParseFragment(b *testing.B) {
	frags, _, _ := benchInput(b)
	data := Merge(frags...).Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseFragment("f.config", data); err != nil {
			b.Fatal(err)
		}
	}
}
