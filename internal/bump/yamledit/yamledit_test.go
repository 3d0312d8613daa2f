package yamledit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const recipe = `# xz: general-purpose data compression.
# Keep this header.
name: xz
version: 5.6.3   # bumped by the nightly job
description: "XZ Utils: version: 5.6.3 in a string"

sources:
  # release tarball
  - url: https://github.com/tukaani-project/xz/releases/download/v${version}/xz-${version}.tar.xz
  - git: https://example.org/extra.git
    commit: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' # pinned

upstream:
  kind: github-releases
  repo: tukaani-project/xz
  constraint: ">= 5.4, < 6"   # 6.x changes the CLI
`

func TestSet(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		path  []string
		value string
		want  string // the changed line as it must read afterwards
	}{
		{"plain with comment", recipe, []string{"version"}, "5.8.1", "version: 5.8.1   # bumped by the nightly job"},
		{"single quoted in sequence", recipe, []string{"sources", "1", "commit"}, "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0", "    commit: 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0' # pinned"},
		{"double quoted", recipe, []string{"upstream", "constraint"}, ">= 5.8", `  constraint: ">= 5.8"   # 6.x changes the CLI`},
		{"number-looking plain", "name: a\nversion: 13.1\n", []string{"version"}, "13.10", "version: 13.10"},
		{"plain becomes quoted when needed", "version: 1.0\n", []string{"version"}, "1.0 #x", `version: "1.0 #x"`},
		{"double quoted escapes", "version: \"1\"\n", []string{"version"}, `a"b`, `version: "a\"b"`},
		{"single quoted escapes", "version: '1'\n", []string{"version"}, "it's", "version: 'it''s'"},
		{"crlf", "name: a\r\nversion: 1.0 # c\r\nx: y\r\n", []string{"version"}, "1.1", "version: 1.1 # c\r"},
		{"utf8 before value", "name: ä\nkey: {version: 1}\nversion: 2\n", []string{"version"}, "3", "version: 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Set([]byte(tt.src), tt.value, tt.path...)
			require.NoError(t, err)
			before := strings.Split(tt.src, "\n")
			after := strings.Split(string(out), "\n")
			require.Len(t, after, len(before), "line count unchanged")
			changed := 0
			for i := range before {
				if before[i] != after[i] {
					changed++
					assert.Equal(t, tt.want, after[i])
				}
			}
			assert.Equal(t, 1, changed, "exactly one line changes")
		})
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		path []string
		want string
	}{
		{"missing key", recipe, []string{"epoch"}, "no such key"},
		{"bad index", recipe, []string{"sources", "7", "url"}, "no such sequence index"},
		{"not a scalar", recipe, []string{"sources"}, "not a scalar"},
		{"block scalar", "version: |\n  1.0\n", []string{"version"}, "block scalar"},
		{"multi-line plain", "version: 1.0\n  continued\nname: x\n", []string{"version"}, "changed more than"},
		{"broken yaml", "version: [1\n", []string{"version"}, "parse"},
		{"empty path", recipe, nil, "empty path"},
		{"through scalar", recipe, []string{"name", "x"}, "cannot descend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Set([]byte(tt.src), "2.0", tt.path...)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func BenchmarkSet(b *testing.B) {
	src := []byte(recipe)
	for b.Loop() {
		if _, err := Set(src, "5.8.1", "version"); err != nil {
			b.Fatal(err)
		}
	}
}
