package recipe

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/bump/versions"
	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goodXZ = `name: xz
version: 5.4.1
description: XZ Utils
license: 0BSD AND GPL-2.0-or-later
homepage: https://tukaani.org/xz/
sources:
  - url: https://github.com/tukaani-project/xz/releases/download/v${version}/${name}-${version}.tar.xz
  - git: https://git.tukaani.org/xz-extra.git
    commit: 0123456789abcdef0123456789abcdef01234567
    dest: extra
patches:
  - patches/0001-fix.patch
files:
  - files/xz.conf
  - files/conf.d
dependencies:
  build: [make]
  runtime: [musl]
build:
  style: autotools
  args: [--disable-static]
  env:
    CFLAGS: -O2
arches: [amd64, arm64]
upstream:
  kind: github-releases
  repo: tukaani-project/xz
  regex: '^v([0-9.]+)$'
  constraint: ">= 5.4, < 6"
`

func fsWith(recipe string) fstest.MapFS {
	return fstest.MapFS{
		"recipes/xz/recipe.yaml":              {Data: []byte(recipe)},
		"recipes/xz/patches/0001-fix.patch":   {Data: []byte("--- a\n+++ b\n")},
		"recipes/xz/files/xz.conf":            {Data: []byte("x=1\n")},
		"recipes/xz/files/conf.d/a.conf":      {Data: []byte("a\n")},
		"recipes/other/patches/evil.patch":    {Data: []byte("evil\n")},
		"recipes/xz/files/link-ok":            {Data: []byte("xz.conf"), Mode: 0o777 | 1<<27},
		"recipes/xz/patches/link-escape":      {Data: []byte("../../other/patches/evil.patch"), Mode: symlink},
		"recipes/xz/patches/link-abs":         {Data: []byte("/etc/passwd"), Mode: symlink},
		"recipes/xz/patches/link-inside":      {Data: []byte("0001-fix.patch"), Mode: symlink},
		"recipes/xz/patches/dirlink":          {Data: []byte("../files"), Mode: symlink},
		"recipes/xz/patches/dirlink-out":      {Data: []byte("../.."), Mode: symlink},
		"recipes/xz/patches/not-a-patch-dir/": {Mode: 0o755 | 1<<31},
	}
}

func TestLoadFileGood(t *testing.T) {
	r, err := LoadFile(fsWith(goodXZ), "recipes/xz/recipe.yaml")
	require.NoError(t, err)
	assert.Equal(t, "xz", r.Name)
	assert.Equal(t, "recipes/xz", r.Dir)
	assert.Equal(t, "recipes/xz/recipe.yaml", r.File)
	assert.Equal(t, 1, r.Line)
	require.Len(t, r.Sources, 2)
	assert.Equal(t, 7, r.Sources[0].Line)
	assert.Equal(t, 8, r.Sources[1].Line)
	assert.Equal(t, 25, r.Upstream.Line)
	assert.Equal(t, StyleAutotools, r.Build.Style)
	assert.Equal(t, "https://github.com/tukaani-project/xz/releases/download/v5.4.1/xz-5.4.1.tar.xz", r.SourceURL(0))
	assert.Equal(t, "https://git.tukaani.org/xz-extra.git", r.SourceURL(1))
	assert.Equal(t, "", r.SourceURL(2))
	assert.Equal(t, 18, r.LineOf("dependencies.runtime[0]"))
	assert.Equal(t, 23, r.LineOf("build.env.CFLAGS"))
}

func TestExpand(t *testing.T) {
	r := &Recipe{Name: "linux", Version: "6.12.4"}
	tests := []struct{ in, want string }{
		{"${name}-${version}", "linux-6.12.4"},
		{"v${version_major}.x/${version_major_minor}/${version_minor}", "v6.x/6.12/12"},
		{"R_${version_underscore}", "R_6_12_4"},
		{"${unknown} $version ${version", "${unknown} $version ${version"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, r.Expand(tt.in))
	}
	assert.Equal(t, "v5.x/5", (&Recipe{Version: "5"}).Expand("v${version_major}.x/${version_major_minor}"))
}

// mutate applies a textual change to goodXZ.
func mutate(old, new string) string {
	if !strings.Contains(goodXZ, old) {
		panic("fixture does not contain " + old)
	}
	return strings.Replace(goodXZ, old, new, 1)
}

const symlink = 1 << 27 // fs.ModeSymlink

func TestLoadFileProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings, one per expected problem, in sorted order
	}{
		{"malformed yaml", "name: xz\nversion: [1\n", []string{"recipe.yaml:1: malformed YAML"}},
		{"unknown key", mutate("homepage:", "homepag:"), []string{"recipe.yaml:5: unknown key `homepag`; did you mean `homepage`?"}},
		{"unknown nested key", mutate("  style: autotools", "  stlye: autotools"), []string{"recipe.yaml:19: build.style is required", "recipe.yaml:20: unknown key `stlye` in build; did you mean `style`?"}},
		{"wrong type", mutate("patches:\n  - patches/0001-fix.patch", "patches: patches/0001-fix.patch"), []string{`recipe.yaml:11: patches: expected a list, got "patches/0001-fix.patch"`}},
		{"duplicate key", mutate("description: XZ Utils", "description: XZ Utils\nversion: 5.4.2"), []string{"recipe.yaml:4: duplicate key `version` (first set on line 2)"}},
		{"name missing", mutate("name: xz\n", ""), []string{`recipe.yaml:1: name is required (use "xz", the folder name)`}},
		{"name mismatch", mutate("name: xz", "name: lzma"), []string{`recipe.yaml:1: name "lzma" does not match its folder "recipes/xz"`}},
		{"name invalid", mutate("name: xz", "name: XZ"), []string{`invalid name "XZ"`}},
		{"version missing", mutate("version: 5.4.1\n", ""), []string{"version is required"}},
		{"version invalid", mutate("version: 5.4.1", "version: 5.4 1"), []string{`recipe.yaml:2: invalid version "5.4 1"`}},
		{"license missing", mutate("license: 0BSD AND GPL-2.0-or-later\n", ""), []string{"license is required"}},
		{"license lower-case operator", mutate("0BSD AND GPL", "0BSD and GPL"), []string{`recipe.yaml:4: license "0BSD and GPL-2.0-or-later": write the operator "AND" in upper case`}},
		{"license prose", mutate("0BSD AND GPL-2.0-or-later", "public domain"), []string{"join licenses with AND, OR or WITH"}},
		{"no sources", mutate("sources:\n  - url: https://github.com/tukaani-project/xz/releases/download/v${version}/${name}-${version}.tar.xz\n  - git: https://git.tukaani.org/xz-extra.git\n    commit: 0123456789abcdef0123456789abcdef01234567\n    dest: extra\n", ""), []string{"at least one source is required"}},
		{"url and git", mutate("  - git: https://git", "  - url: https://x.org/a.tar.gz\n    git: https://git"), []string{"recipe.yaml:8: source 2 has both url and git"}},
		{"neither url nor git", mutate("  - git: https://git.tukaani.org/xz-extra.git\n    commit: 0123456789abcdef0123456789abcdef01234567\n    dest: extra\n", "  - dest: x\n"), []string{"source 2 needs url (an archive) or git (a repository)"}},
		{"git without commit", mutate("    commit: 0123456789abcdef0123456789abcdef01234567\n", ""), []string{"recipe.yaml:8: git source 2 needs a commit"}},
		{"git short commit", mutate("commit: 0123456789abcdef0123456789abcdef01234567", "commit: 0123abc"), []string{`recipe.yaml:9: commit "0123abc" is not a full 40-digit`}},
		{"ftp url", mutate("url: https://github.com", "url: ftp://github.com"), []string{"recipe.yaml:7: URL \"ftp://github.com/tukaani-project/xz/releases/download/v5.4.1/xz-5.4.1.tar.xz\": only http:// and https:// are allowed"}},
		{"git over ssh", mutate("git: https://git.tukaani.org", "git: ssh://git.tukaani.org"), []string{"only http:// and https:// are allowed"}},
		{"unknown variable", mutate("${name}-${version}.tar.xz", "${pkg}-${version}.tar.xz"), []string{"recipe.yaml:7: unknown variable ${pkg}"}},
		{"commit on url", mutate("    dest: extra\n", "    dest: extra\n  - url: https://x.org/b.tar.gz\n    commit: 0123456789abcdef0123456789abcdef01234567\n"), []string{"recipe.yaml:12: commit only applies to git sources"}},
		{"dest escapes", mutate("dest: extra", "dest: ../up"), []string{`recipe.yaml:10: dest "../up" escapes the recipe folder`}},
		{"duplicate source", mutate("  - git: https://git.tukaani.org/xz-extra.git\n    commit: 0123456789abcdef0123456789abcdef01234567\n    dest: extra\n", "  - url: https://github.com/tukaani-project/xz/releases/download/v5.4.1/xz-5.4.1.tar.xz\n"), []string{"duplicate source"}},
		{"patch traversal", mutate("patches/0001-fix.patch", "../other/patches/evil.patch"), []string{`recipe.yaml:12: patches: "../other/patches/evil.patch" escapes the recipe folder`}},
		{"patch traversal hidden", mutate("patches/0001-fix.patch", "patches/../../other/patches/evil.patch"), []string{"escapes the recipe folder"}},
		{"patch absolute", mutate("patches/0001-fix.patch", "/etc/passwd"), []string{`patches: "/etc/passwd" must be relative, not absolute`}},
		{"patch symlink escapes", mutate("patches/0001-fix.patch", "patches/link-escape"), []string{"symlink recipes/xz/patches/link-escape points to ../../other/patches/evil.patch, outside the recipe folder recipes/xz"}},
		{"patch symlink absolute", mutate("patches/0001-fix.patch", "patches/link-abs"), []string{"points to absolute path /etc/passwd"}},
		{"patch through dir symlink out", mutate("patches/0001-fix.patch", "patches/dirlink-out/other/patches/evil.patch"), []string{"outside the recipe folder"}},
		{"patch missing", mutate("patches/0001-fix.patch", "patches/0002-missing.patch"), []string{`recipe.yaml:12: patches: "patches/0002-missing.patch" does not exist in recipes/xz`}},
		{"patch is a folder", mutate("patches/0001-fix.patch", "patches/not-a-patch-dir"), []string{"is a folder, expected a file"}},
		{"patch listed twice", mutate("  - patches/0001-fix.patch\n", "  - patches/0001-fix.patch\n  - ./patches/0001-fix.patch\n"), []string{"listed twice"}},
		{"file missing", mutate("files/xz.conf", "files/nope.conf"), []string{`recipe.yaml:14: files: "files/nope.conf" does not exist`}},
		{"file traversal", mutate("files/xz.conf", "files/../../other/patches/evil.patch"), []string{"escapes the recipe folder"}},
		{"self dependency", mutate("build: [make]", "build: [make, xz]"), []string{"recipe.yaml:17: dependencies.build: recipe depends on itself"}},
		{"duplicate dependency", mutate("runtime: [musl]", "runtime: [musl, musl]"), []string{`dependencies.runtime: "musl" listed twice`}},
		{"style missing", mutate("  style: autotools\n", ""), []string{"recipe.yaml:19: build.style is required: one of autotools, meson, cmake, make, kbuild, custom"}},
		{"style typo", mutate("style: autotools", "style: autotool"), []string{"recipe.yaml:20: unknown build style \"autotool\"; did you mean `autotools`?"}},
		{"style unknown", mutate("style: autotools", "style: scons"), []string{"one of autotools, meson"}},
		{"custom without install", mutate("style: autotools", "style: custom"), []string{"build.install is required"}},
		{"bad env name", mutate("CFLAGS: -O2", "MY-VAR: x"), []string{`build.env: "MY-VAR" is not a valid environment variable name`}},
		{"arch unsupported", mutate("arches: [amd64, arm64]", "arches: [amd64, arm46]"), []string{"recipe.yaml:24: unsupported arch \"arm46\"; did you mean `arm64`?"}},
		{"arch riscv", mutate("arches: [amd64, arm64]", "arches: [riscv64]"), []string{`unsupported arch "riscv64"; one of amd64, arm64`}},
		{"upstream kind", mutate("kind: github-releases", "kind: github-release"), []string{"recipe.yaml:26: unknown upstream kind \"github-release\"; did you mean `github-releases`?"}},
		{"upstream repo", mutate("repo: tukaani-project/xz", "repo: xz"), []string{`needs repo: "owner/name"`}},
		{"upstream url missing", mutate("kind: github-releases", "kind: git-tags"), []string{"upstream kind git-tags needs url"}},
		{"upstream regex", mutate(`'^v([0-9.]+)$'`, `'^v[0-9.]+$'`), []string{"needs a capture group"}},
		{"upstream regex broken", mutate(`'^v([0-9.]+)$'`, `'^v([0-9.]+$'`), []string{"upstream.regex does not compile"}},
		{"upstream constraint", mutate(`">= 5.4, < 6"`, `"bigger than 5"`), []string{`recipe.yaml:29: upstream.constraint "bigger than 5"`}},
		{"upstream scheme", mutate("  constraint:", "  scheme: calver\n  constraint:"), []string{`unknown upstream.scheme "calver"`}},
		{"several problems at once", strings.Replace(mutate("name: xz", "name: lzma"), "style: autotools", "style: gnu", 1), []string{`recipe.yaml:1: name "lzma" does not match`, `recipe.yaml:20: unknown build style "gnu"`}},
		{"validation goes on after unknown keys", mutate("name: xz", "name: lzma\nhomepag: x"), []string{`recipe.yaml:1: name "lzma" does not match`, "recipe.yaml:2: unknown key `homepag`"}},
		{"wrong type reported once", mutate("  style: autotools\n  args: [--disable-static]\n  env:\n    CFLAGS: -O2\n", "  style: [autotools]\n"), []string{"recipe.yaml:20: build.style: expected a string, got a list"}},
		{"wrong type for sources reported once", mutate("sources:\n  - url: https://github.com/tukaani-project/xz/releases/download/v${version}/${name}-${version}.tar.xz\n  - git: https://git.tukaani.org/xz-extra.git\n    commit: 0123456789abcdef0123456789abcdef01234567\n    dest: extra\n", "sources: https://example.org/xz.tar.gz\n"), []string{"recipe.yaml:6: sources: expected a list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFile(fsWith(tt.src), "recipes/xz/recipe.yaml")
			require.Error(t, err)
			var list errlist.List
			require.ErrorAs(t, err, &list)
			require.Len(t, list, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.Contains(t, list[i].Error(), w)
				assert.True(t, strings.HasPrefix(list[i].Error(), "recipes/xz/recipe.yaml:"), "problem lacks file:line: %s", list[i])
			}
		})
	}
}

func TestLoadFileSymlinksInside(t *testing.T) {
	src := mutate("patches/0001-fix.patch", "patches/link-inside")
	src = strings.Replace(src, "files/xz.conf", "patches/dirlink/xz.conf", 1)
	_, err := LoadFile(fsWith(src), "recipes/xz/recipe.yaml")
	require.NoError(t, err)
}

func TestLoadFileMissing(t *testing.T) {
	r, err := LoadFile(fstest.MapFS{}, "recipes/xz/recipe.yaml")
	assert.Nil(t, r)
	require.ErrorContains(t, err, "recipes/xz/recipe.yaml: read recipe: file does not exist")
}

func minimal(name string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("name: " + name + "\nversion: 1.0\nlicense: MIT\nsources:\n  - url: https://example.org/" + name + ".tar.gz\nbuild:\n  style: make\n")}
}

func TestLoadAll(t *testing.T) {
	fsys := fstest.MapFS{
		"recipes/zlib/recipe.yaml":     minimal("zlib"),
		"recipes/musl/recipe.yaml":     minimal("musl"),
		"toolchain/gcc/recipe.yaml":    minimal("gcc"),
		"toolchain/triplet.go":         {Data: []byte("package toolchain\n")},
		"toolchain/internal/x.go":      {Data: []byte("package internal\n")},
		"kernel/recipe.yaml":           minimal("kernel"),
		"kernel/boards/rpi4/a.config":  {Data: []byte("CONFIG_X=y\n")},
		"recipes/README.md":            {Data: []byte("hi\n")},
		"recipes/.hidden/notes.txt":    {Data: []byte("x\n")},
		"recipes/zlib/patches/a.patch": {Data: []byte("x\n")},
	}
	all, err := LoadAll(fsys)
	require.NoError(t, err)
	var names []string
	for _, r := range all {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"gcc", "kernel", "musl", "zlib"}, names)
}

func TestLoadAllProblems(t *testing.T) {
	fsys := fstest.MapFS{
		"recipes/gcc/recipe.yaml":   minimal("gcc"),
		"toolchain/gcc/recipe.yaml": minimal("gcc"),
		"recipes/zlib/recipe.yml":   minimal("zlib"),
		"recipes/bad/recipe.yaml":   {Data: []byte("name: bad\nversion: 1\nlicense: MIT\nsources: []\nbuild: {style: make}\nhomepge: x\n")},
	}
	all, err := LoadAll(fsys)
	require.Error(t, err)
	assert.Len(t, all, 3, "recipes with problems are still returned")
	assert.Equal(t, "recipes/bad/recipe.yaml:4: at least one source is required under `sources` (only a `style: custom` recipe with its own install script may have none)\n"+
		`recipes/bad/recipe.yaml:6: unknown key `+"`homepge`; did you mean `homepage`?\n"+
		`recipes/gcc/recipe.yaml:1: duplicate recipe name "gcc": also defined at toolchain/gcc/recipe.yaml:1`+"\n"+
		"recipes/zlib: folder has no recipe.yaml\n"+
		`toolchain/gcc/recipe.yaml:1: duplicate recipe name "gcc": also defined at recipes/gcc/recipe.yaml:1`, err.Error())
}

// TestLoadAllDeterministic: recipes are decoded in parallel, yet the
// recipes and the problems come back in the same order every time.
func TestLoadAllDeterministic(t *testing.T) {
	fsys := fstest.MapFS{}
	for i := range 64 {
		name := fmt.Sprintf("r%02d", i)
		body := fmt.Sprintf("name: %s\nversion: \"1.0\"\nlicense: MIT\nsources:\n  - url: https://example.org/%s.tar.gz\nbuild:\n  style: make\n", name, name)
		if i%5 == 0 {
			body += "colour: blue\n" // an unknown key: one problem per such recipe
		}
		fsys["recipes/"+name+"/recipe.yaml"] = &fstest.MapFile{Data: []byte(body)}
	}
	fsys["recipes/empty/.keep"] = &fstest.MapFile{}
	first, firstErr := LoadAll(fsys)
	require.Error(t, firstErr)
	require.Len(t, first, 64)
	assert.Contains(t, firstErr.Error(), "recipes/empty: folder has no recipe.yaml")
	for range 20 {
		again, err := LoadAll(fsys)
		require.Error(t, err)
		assert.Equal(t, firstErr.Error(), err.Error())
		require.Len(t, again, len(first))
		for i := range again {
			assert.Equal(t, first[i].File, again[i].File)
		}
	}
}

// TestSchemesInDocs: docs/recipes.md lists exactly the upstream version
// schemes that internal/bump/versions implements (Schemes derives
// from them).
func TestSchemesInDocs(t *testing.T) {
	data, err := os.ReadFile("../../docs/recipes.md")
	require.NoError(t, err)
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "scheme: ") {
			line = l
		}
	}
	require.NotEmpty(t, line, "docs/recipes.md has no `scheme:` line in its upstream example")
	_, comment, _ := strings.Cut(line, "#")
	var documented []string
	for _, f := range strings.Split(comment, "|") {
		documented = append(documented, strings.Fields(f)[0])
	}
	assert.Equal(t, Schemes, documented, "docs/recipes.md: %s", strings.TrimSpace(line))
	var impl []string
	for _, s := range versions.Schemes {
		impl = append(impl, string(s))
	}
	assert.Equal(t, impl, Schemes)
}

// TestSourcelessRecipe: a custom recipe with its own install may have no
// sources (it repackages its build environment); any other may not.
func TestSourcelessRecipe(t *testing.T) {
	ok := "name: gcc-libs\nversion: 1\nlicense: MIT\nbuild:\n  style: custom\n  install: |\n    cp /toolchain/x /out/\n"
	r, err := LoadFile(fstest.MapFS{"toolchain/gcc-libs/recipe.yaml": {Data: []byte(ok)}}, "toolchain/gcc-libs/recipe.yaml")
	require.NoError(t, err)
	assert.Empty(t, r.Sources)
	bad := "name: x\nversion: 1\nlicense: MIT\nbuild:\n  style: make\n"
	_, err = LoadFile(fstest.MapFS{"recipes/x/recipe.yaml": {Data: []byte(bad)}}, "recipes/x/recipe.yaml")
	require.ErrorContains(t, err, "recipes/x/recipe.yaml:1: at least one source is required")
}
