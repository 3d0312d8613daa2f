package recipe

import (
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultOutputsDisjoint: every default pattern is valid and no file
// can belong to two default outputs.
func TestDefaultOutputsDisjoint(t *testing.T) {
	for i, a := range DefaultOutputs {
		require.True(t, ValidOutputName(a.Name), a.Name)
		for _, p := range a.Paths {
			assert.Empty(t, CheckPattern(p), "%s: %s", a.Name, p)
		}
		for _, b := range DefaultOutputs[i+1:] {
			for _, p := range a.Paths {
				for _, q := range b.Paths {
					assert.False(t, PatternsOverlap(p, q), "%s's %s and %s's %s", a.Name, p, b.Name, q)
				}
			}
		}
	}
	assert.True(t, BuildOnly(OutputDev))
	assert.True(t, BuildOnly(OutputDoc))
	assert.False(t, BuildOnly(OutputLocale), "translations may go into an image")
	assert.False(t, BuildOnly(""))
}

// splitFiles is a package's install tree: every kind of file the default
// outputs sort, and some they leave in the main output.
var splitFiles = map[string]string{
	"usr/bin/xz":                              "",
	"usr/lib/liblzma.so.5.4.1":                "",
	"usr/lib/liblzma.so":                      "",
	"usr/lib/libc.so":                         "",
	"usr/lib/ld-musl-x86_64.so.1":             "",
	"usr/lib/modules/6.12/kernel/x.ko":        "",
	"usr/lib/os-release":                      "",
	"usr/share/xz/data":                       "",
	"etc/xz.conf":                             "",
	"usr/include/lzma.h":                      "dev",
	"usr/include/lzma/base.h":                 "dev",
	"usr/lib/liblzma.a":                       "dev",
	"usr/lib/gcc/x86_64/14/libgcc.a":          "dev",
	"usr/lib/crt1.o":                          "dev",
	"usr/lib/pkgconfig/liblzma.pc":            "dev",
	"usr/share/pkgconfig/xproto.pc":           "dev",
	"usr/lib/cmake/lzma/lzma-config.cmake":    "dev",
	"usr/share/aclocal/lzma.m4":               "dev",
	"usr/share/man/man1/xz.1":                 "doc",
	"usr/share/doc/xz/README":                 "doc",
	"usr/share/info/xz.info":                  "doc",
	"usr/share/gtk-doc/html/x/index.html":     "doc",
	"usr/share/locale/de/LC_MESSAGES/xz.mo":   "locale",
	"usr/share/localed/not-translations.conf": "",
	"usr/includes/not-headers.h":              "",
}

// TestOutputOfDefaults pins the split rules of DefaultOutputs: which
// output each file of a package lands in.
func TestOutputOfDefaults(t *testing.T) {
	r := &Recipe{Name: "xz"}
	for p, want := range splitFiles {
		assert.Equal(t, want, r.OutputOf(p), p)
	}
	assert.Equal(t, []string{"dev", "doc", "locale"}, r.OutputNames())
	assert.True(t, r.HasOutput(""), "every recipe has a main output")
	assert.True(t, r.HasOutput("dev"))
	assert.False(t, r.HasOutput("devel"))

	host := &Recipe{Name: "gcc", Host: true}
	assert.Empty(t, host.SplitOutputs(), "the toolchain is mounted whole")
	assert.Equal(t, "", host.OutputOf("toolchain/include/stdio.h"))
}

// TestOutputOfOverrides: an `outputs:` entry named like a default replaces
// its patterns, another adds an output; the rest keep the defaults.
func TestOutputOfOverrides(t *testing.T) {
	r := &Recipe{Name: "python", Outputs: []Output{
		// Python's headers are needed at run time to build extensions:
		// dev keeps only the static library.
		{Name: "dev", Paths: []string{"usr/lib/*.a"}},
		{Name: "tests", Paths: []string{"usr/lib/python3/test"}},
	}}
	assert.Equal(t, []string{"dev", "doc", "locale", "tests"}, r.OutputNames())
	for p, want := range map[string]string{
		"usr/include/python3/Python.h":         "",
		"usr/lib/libpython3.a":                 "dev",
		"usr/lib/sub/libx.a":                   "",
		"usr/lib/python3/test/test_os.py":      "tests",
		"usr/lib/python3/os.py":                "",
		"usr/share/man/man1/python3.1":         "doc",
		"usr/lib/pkgconfig/python3.pc":         "",
		"usr/share/locale/fr/LC_MESSAGES/x.mo": "locale",
	} {
		assert.Equal(t, want, r.OutputOf(p), p)
	}
}

// TestMatchPatternAgreesWithBuildKit: MatchPattern, which OutputOf and
// the docs rely on, answers like the matcher BuildKit's copy uses for
// include and exclude patterns (a folder's match covers what is inside).
func TestMatchPatternAgreesWithBuildKit(t *testing.T) {
	patterns := []string{"usr/include", "usr/lib/**/*.a", "usr/lib/*.o", "usr/lib/pkgconfig", "usr/share/man",
		"usr/lib/python3/test", "usr/lib/?ibfoo*", "usr/**/x", "usr/lib/**"}
	var files []string
	for p := range splitFiles {
		files = append(files, p)
	}
	files = append(files, "usr/lib/libfoo.so", "usr/x", "usr/a/b/x", "usr/a/b/x/y", "usr/lib", "usr/lib/a/b/c.a/d")
	for _, pat := range patterns {
		require.Empty(t, CheckPattern(pat), pat)
		pm, err := patternmatcher.New([]string{pat})
		require.NoError(t, err)
		for _, f := range files {
			want, err := pm.MatchesOrParentMatches(f)
			require.NoError(t, err)
			if pat == "usr/lib/**" && f == "usr/lib" {
				// BuildKit's trailing ** takes what is inside usr/lib,
				// not the folder: the same files either way.
				continue
			}
			assert.Equal(t, want, MatchPattern(pat, f), "pattern %s, file %s", pat, f)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	for _, p := range []string{"usr/include", "usr/lib/**/*.a", "usr/lib/*.o", "etc/foo.d", "usr/share/?an", "usr/lib/**"} {
		assert.Empty(t, CheckPattern(p), p)
	}
	for p, want := range map[string]string{
		"":                 "empty pattern",
		"/usr/include":     `must be relative to the package root (write "usr/include")`,
		"!usr/include":     "exceptions (!) are not supported",
		"usr/lib/[a-z]*":   "only * ? and ** are supported",
		`usr/lib/\*.a`:     "only * ? and ** are supported",
		"usr/include/":     `is not a clean path (want "usr/include")`,
		"usr//include":     "is not a clean path",
		"./usr/include":    "is not a clean path",
		"usr/../etc":       "is not a clean path",
		"../etc":           "leaves the package root",
		"usr/lib/**.a":     "** must be a whole path part",
		"*":                "the first part must be a name",
		"**":               "the first part must be a name",
		"**/*.a":           "the first part must be a name",
		"usr/lib/a b":      "contains white space",
		"usr/sbin/dmsetup": "images merge /usr/sbin into /usr/bin",
		"usr/s*/ip":        "images merge /usr/sbin into /usr/bin",
	} {
		assert.Contains(t, CheckPattern(p), want, p)
	}
}

func TestPatternsOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"usr/include", "usr/include", true},
		{"usr/include", "usr/include/lzma", true},      // a folder claims what is inside
		{"usr/include/lzma", "usr/include/*.h", false}, // lzma is no .h
		{"usr/include", "usr/include/*.h", true},
		{"usr/lib/**/*.a", "usr/lib/libz.a", true},
		{"usr/lib/**/*.a", "usr/lib/foo/libz.a", true},
		{"usr/lib/**/*.a", "usr/lib/foo", true},   // foo may be a folder holding .a files
		{"usr/lib/**/*.a", "usr/lib/*.so", false}, // a file pattern claims no folder
		{"usr/lib/**/*.a", "usr/lib/*.o", false},
		{"usr/lib/**/*.a", "usr/lib/foo/*.so", false},
		{"usr/lib/**", "usr/lib/*.so", true},
		{"usr/lib/lib?.a", "usr/lib/*z.a", true},   // libz.a
		{"usr/lib/lib?.a", "usr/lib/*zz.a", false}, // libzz.a has two characters
		{"usr/share/man", "usr/share/doc", false},
		{"usr/share/*", "usr/share/doc/x", false}, // * is a file pattern here
		{"usr/share/*/x", "usr/share/doc/*", true},
		{"usr/**/x", "usr/share/x", true},
		{"usr/**/x", "usr/share/y", true}, // usr/share/y/x
		{"usr/**/x", "usr/share/*.y", false},
		{"usr/lib/a*b", "usr/lib/*c*", true}, // acb
		{"usr/lib/a*b", "usr/lib/c*", false},
		{"etc", "usr", false},
	} {
		assert.Equal(t, c.want, PatternsOverlap(c.a, c.b), "%s vs %s", c.a, c.b)
		assert.Equal(t, c.want, PatternsOverlap(c.b, c.a), "%s vs %s", c.b, c.a)
	}
}

func TestParseRef(t *testing.T) {
	assert.Equal(t, Ref{Recipe: "zlib"}, ParseRef("zlib"))
	assert.Equal(t, Ref{Recipe: "zlib", Output: "dev"}, ParseRef("zlib:dev"))
	assert.Equal(t, "zlib:dev", ParseRef("zlib:dev").String())
	assert.Equal(t, "zlib", ParseRef("zlib").String())
	assert.True(t, ParseRef("zlib").Main())
	assert.Equal(t, "zlib", RefName("zlib:dev"))
	assert.Empty(t, CheckRef("zlib:dev"))
	assert.Empty(t, CheckRef("gcc-libs"))
	assert.Contains(t, CheckRef("zlib:Dev"), `invalid output name "Dev"`)
	assert.Contains(t, CheckRef("zlib:"), `invalid output name ""`)
	assert.Contains(t, CheckRef("zlib:dev:x"), `invalid output name "dev:x"`)
	assert.Contains(t, CheckRef("Zlib:dev"), `invalid recipe name "Zlib"`)
}

// outputsRecipe is a valid recipe with outputs and dependencies to edit.
const outputsRecipe = `name: xz
version: 5.4.1
license: 0BSD
sources:
  - url: https://example.org/xz-${version}.tar.xz
dependencies:
  build: [zlib:dev, musl]
  runtime: [musl, zlib:tools]
build:
  style: autotools
outputs:
  - name: dev
    paths: [usr/include, usr/lib/*.a]
  - name: tools
    paths:
      - usr/bin/xzdiff
      - usr/bin/xzgrep
`

func TestLoadOutputs(t *testing.T) {
	r, err := LoadFile(fsWith(outputsRecipe), "recipes/xz/recipe.yaml")
	require.NoError(t, err)
	require.Len(t, r.Outputs, 2)
	assert.Equal(t, 12, r.Outputs[0].Line)
	assert.Equal(t, 14, r.Outputs[1].Line)
	assert.Equal(t, []string{"dev", "doc", "locale", "tools"}, r.OutputNames())
	assert.Equal(t, "tools", r.OutputOf("usr/bin/xzgrep"))
	assert.Equal(t, "", r.OutputOf("usr/lib/pkgconfig/liblzma.pc"), "dev's own patterns replace the default ones")
}

// TestOutputErrors: every problem with outputs and output references is
// reported at its file:line.
func TestOutputErrors(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		want           []string
	}{
		{"duplicate output", "  - name: tools\n", "  - name: dev\n",
			[]string{`recipes/xz/recipe.yaml:14: output "dev" declared twice (also at line 12)`}},
		{"output named like its recipe", "  - name: tools\n", "  - name: xz\n",
			[]string{`recipes/xz/recipe.yaml:14: output "xz" is named like its recipe: the main output has no name of its own`}},
		{"invalid output name", "  - name: tools\n", "  - name: Tools\n",
			[]string{`recipes/xz/recipe.yaml:14: invalid output name "Tools"`}},
		{"unnamed output", "  - name: tools\n", "  - nam: tools\n",
			[]string{"recipes/xz/recipe.yaml:14: unknown key `nam` in outputs[1]; did you mean `name`?"}},
		{"no name", "  - name: tools\n    paths:\n      - usr/bin/xzdiff\n      - usr/bin/xzgrep\n", "  - paths: [usr/bin/xzdiff]\n",
			[]string{"recipes/xz/recipe.yaml:14: output 2 needs a name (default outputs: dev, doc, locale)"}},
		{"empty paths", "    paths: [usr/include, usr/lib/*.a]\n", "    paths: []\n",
			[]string{"recipes/xz/recipe.yaml:13: output dev: paths: at least one pattern is required"}},
		{"absolute pattern", "      - usr/bin/xzdiff\n", "      - /usr/bin/xzdiff\n",
			[]string{`recipes/xz/recipe.yaml:16: output tools: pattern "/usr/bin/xzdiff" must be relative`}},
		{"pattern in usr/sbin", "      - usr/bin/xzgrep\n", "      - usr/sbin/xzgrep\n",
			[]string{`recipes/xz/recipe.yaml:17: output tools: pattern "usr/sbin/xzgrep": images merge /usr/sbin into /usr/bin`}},
		{"pattern twice", "      - usr/bin/xzgrep\n", "      - usr/bin/xzdiff\n",
			[]string{`recipes/xz/recipe.yaml:17: output tools: pattern "usr/bin/xzdiff" listed twice`}},
		{"overlap with a declared output", "      - usr/bin/xzgrep\n", "      - usr/lib/liblzma.a\n",
			[]string{`recipes/xz/recipe.yaml:17: output tools: pattern "usr/lib/liblzma.a" overlaps output dev's "usr/lib/*.a": a file belongs to one output only`}},
		{"overlap with a default output", "      - usr/bin/xzgrep\n", "      - usr/share/man/man1\n",
			[]string{`recipes/xz/recipe.yaml:17: output tools: pattern "usr/share/man/man1" overlaps the default output doc's "usr/share/man" (declare doc to change its patterns)`}},
		{"runtime dependency on dev", "runtime: [musl, zlib:tools]", "runtime: [musl, zlib:dev]",
			[]string{`recipes/xz/recipe.yaml:8: dependencies.runtime: "zlib:dev": the dev output is for build environments only and never goes into an image; list it under dependencies.build`}},
		{"runtime dependency on doc", "runtime: [musl, zlib:tools]", "runtime: [musl, zlib:doc]",
			[]string{`recipes/xz/recipe.yaml:8: dependencies.runtime: "zlib:doc": the doc output is for build environments only`}},
		{"bad output reference", "build: [zlib:dev, musl]", "build: [zlib:Dev, musl]",
			[]string{`recipes/xz/recipe.yaml:7: dependencies.build: "zlib:Dev": invalid output name "Dev"`}},
		{"dependency on its own output", "build: [zlib:dev, musl]", "build: [xz:dev, musl]",
			[]string{`recipes/xz/recipe.yaml:7: dependencies.build: recipe depends on itself`}},
		{"recipe and its dev", "build: [zlib:dev, musl]", "build: [zlib:dev, musl, zlib]",
			[]string{`recipes/xz/recipe.yaml:7: dependencies.build: zlib and zlib:dev both listed: a build dependency on zlib brings zlib:dev already`}},
		{"host recipe", "build:\n  style: autotools\n", "host: true\nbuild:\n  style: autotools\n",
			[]string{`recipes/xz/recipe.yaml:12: host recipe xz: outputs do not apply`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Contains(t, outputsRecipe, c.old)
			_, err := LoadFile(fsWith(strings.Replace(outputsRecipe, c.old, c.new, 1)), "recipes/xz/recipe.yaml")
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
