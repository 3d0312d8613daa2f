package yamlstrict

import (
	"testing"
	"time"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type inner struct {
	Style string            `yaml:"style"`
	Args  []string          `yaml:"args"`
	Env   map[string]string `yaml:"env"`
	Line  int               `yaml:"-"`
}

type doc struct {
	Name     string  `yaml:"name"`
	Homepage string  `yaml:"homepage"`
	Size     int64   `yaml:"size"`
	Enabled  bool    `yaml:"enabled"`
	Items    []inner `yaml:"items"`
	Build    inner   `yaml:"build"`
	Opt      *inner  `yaml:"opt"`
	Line     int     `yaml:"-"`
	hidden   string
}

func TestDecodeOK(t *testing.T) {
	src := `name: xz
homepage: https://tukaani.org
size: 12
enabled: true
items:
  - style: make
    args: [a, b]
  - style: meson
build:
  style: autotools
  env: {CC: gcc}
opt:
  style: custom
`
	var d doc
	lines, err := Decode("x.yaml", []byte(src), &d)
	require.NoError(t, err)
	assert.Equal(t, "xz", d.Name)
	assert.EqualValues(t, 12, d.Size)
	assert.True(t, d.Enabled)
	require.Len(t, d.Items, 2)
	assert.Equal(t, []string{"a", "b"}, d.Items[0].Args)
	assert.Equal(t, 6, d.Items[0].Line)
	assert.Equal(t, 8, d.Items[1].Line)
	assert.Equal(t, "gcc", d.Build.Env["CC"])
	assert.Equal(t, 9, d.Build.Line)
	require.NotNil(t, d.Opt)
	assert.Equal(t, 12, d.Opt.Line)
	assert.Equal(t, 1, d.Line)
	assert.Equal(t, 8, lines["items[1].style"])
	assert.Equal(t, 11, lines.Of("build.env.CC"))
	assert.Equal(t, 9, lines.Of("build.nothing[3]"))
	assert.Equal(t, 1, lines.Of("nothing"), "unknown paths fall back to the document")
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"malformed", "name: [a\nhomepage: x\n", []string{"x.yaml:1: malformed YAML"}},
		{"bad indent", "name: a\n  homepage: b\n", []string{"x.yaml:2: malformed YAML"}},
		{"empty", "", []string{"x.yaml: empty document"}},
		{"comment only", "# syntax=foo\n", []string{"x.yaml: empty document"}},
		{"two documents", "name: a\n---\nname: b\n", []string{"x.yaml:2: more than one YAML document"}},
		{"one document after a marker", "---\nname: a\n", nil},
		{"document end, then another", "name: a\n...\n---\nname: b\n", []string{"x.yaml:3: more than one YAML document"}},
		{"malformed after a marker", "---\nname: [a\n", []string{"malformed YAML"}},
		{"marker text inside a value", "name: a---b\nhomepage: \"...\"\n", nil},
		{"unknown key with suggestion", "name: a\nhomepag: x\n", []string{"x.yaml:2: unknown key `homepag`; did you mean `homepage`?"}},
		{"unknown key transposed", "name: a\nbuild:\n  sytle: make\n", []string{"x.yaml:3: unknown key `sytle` in build; did you mean `style`?"}},
		{"unknown key no suggestion", "zzzzzzzz: 1\n", []string{"x.yaml:1: unknown key `zzzzzzzz`; known keys: build, enabled, homepage, items, name, opt, size"}},
		{"hidden field not a key", "hidden: x\n", []string{"unknown key `hidden`"}},
		{"line field not a key", "line: 3\n", []string{"unknown key `line`"}},
		{"duplicate key", "name: a\nsize: 1\nname: b\n", []string{"x.yaml:3: duplicate key `name` (first set on line 1)"}},
		{"duplicate map key", "build:\n  env:\n    A: x\n    A: y\n", []string{"x.yaml:4: build.env: duplicate key `A` (first set on line 3)"}},
		{"string for list", "items: foo\n", []string{`x.yaml:1: items: expected a list, got "foo"`}},
		{"list for string", "name: [a]\n", []string{"x.yaml:1: name: expected a string, got a list"}},
		{"mapping for string", "name: {a: b}\n", []string{"x.yaml:1: name: expected a string, got a mapping"}},
		{"bool for string", "name: yes\n", nil},
		{"true for string", "name: true\n", []string{"x.yaml:1: name: expected a string, got the boolean true (quote it if you mean the text)"}},
		{"string for int", "size: big\n", []string{`x.yaml:1: size: expected an integer, got "big"`}},
		{"float for int", "size: 1.5\n", []string{"x.yaml:1: size: expected an integer, got the number 1.5"}},
		{"string for bool", "enabled: maybe\n", []string{`x.yaml:1: enabled: expected true or false, got "maybe"`}},
		{"scalar for struct", "build: make\n", []string{`x.yaml:1: build: expected a mapping, got "make"`}},
		{"top level list", "- a\n", []string{"x.yaml:1: expected a mapping, got a list"}},
		{"nested list item type", "items:\n  - style: make\n  - [x]\n", []string{"x.yaml:3: items[1]: expected a mapping, got a list"}},
		{"merge key", "base: &b {style: make}\nbuild:\n  <<: *b\n", []string{"x.yaml:1: unknown key `base`", "x.yaml:3: build: merge keys (<<) are not supported"}},
		{"several at once", "nmae: a\nsize: x\nname: b\nname: c\n", []string{"x.yaml:1: unknown key `nmae`; did you mean `name`?", "x.yaml:2: size: expected an integer", "x.yaml:4: duplicate key `name` (first set on line 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d doc
			_, err := Decode("x.yaml", []byte(tt.src), &d)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var list errlist.List
			require.ErrorAs(t, err, &list)
			require.Len(t, list, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, list[i].Error(), w)
			}
		})
	}
}

func TestAliasesResolve(t *testing.T) {
	var d doc
	_, err := Decode("x.yaml", []byte("name: &n xz\nhomepage: *n\n"), &d)
	require.NoError(t, err)
	assert.Equal(t, "xz", d.Homepage)
}

func TestDecodeNeedsPointer(t *testing.T) {
	_, err := Decode("x.yaml", []byte("name: a\n"), doc{})
	require.Error(t, err)
}

func TestSuggest(t *testing.T) {
	cands := []string{"name", "homepage", "version", "sources", "style"}
	tests := []struct{ word, want string }{
		{"homepag", "homepage"},
		{"hompage", "homepage"},
		{"verison", "version"},
		{"Name", "name"},
		{"source", "sources"},
		{"sytle", "style"},
		{"nam", "name"},
		{"xyz", ""},
		{"completely-different", ""},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Suggest(tt.word, cands), tt.word)
	}
}

func TestDidYouMean(t *testing.T) {
	cands := []string{"erofs", "squashfs"}
	tests := []struct{ word, otherwise, want string }{
		{"erfos", "; one of erofs, squashfs", "; did you mean `erofs`?"},
		{"ext4", "; one of erofs, squashfs", "; one of erofs, squashfs"},
		{"ext4", "", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, DidYouMean(tt.word, cands, tt.otherwise), tt.word)
	}
}

func TestAliasBomb(t *testing.T) {
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n" +
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	var out struct {
		A, B, C, D, E, F, G [][][][][][][]string
	}
	start := time.Now()
	_, err := Decode("x.yaml", []byte(src), &out)
	require.ErrorContains(t, err, "document too large")
	assert.Less(t, time.Since(start), 5*time.Second)
}
