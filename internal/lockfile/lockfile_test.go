package lockfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	h256 = strings.Repeat("ab", 32)
	h512 = strings.Repeat("cd", 64)
)

const commit = "0123456789abcdef0123456789abcdef01234567"

func goodLock() string {
	return `# pinned
recipe: xz
version: 5.4.1
sources:
  - url: https://example.org/xz-5.4.1.tar.gz
    sha256: ` + h256 + `
    sha512: ` + h512 + `
    size: 123
  - git: https://example.org/extra.git
    commit: ` + commit + `
`
}

func TestLoadAndFind(t *testing.T) {
	fsys := fstest.MapFS{"vendor-hashes/xz.lock": {Data: []byte(goodLock())}}
	l, err := Load(fsys, "vendor-hashes/xz.lock")
	require.NoError(t, err)
	assert.Equal(t, "xz", l.Recipe)
	assert.Equal(t, 2, l.Line)
	require.Len(t, l.Sources, 2)
	assert.Equal(t, 5, l.Sources[0].Line)
	p, ok := l.Find("https://example.org/xz-5.4.1.tar.gz")
	require.True(t, ok)
	assert.EqualValues(t, 123, p.Size)
	p, ok = l.Find("https://example.org/extra.git")
	require.True(t, ok)
	assert.Equal(t, commit, p.Commit)
	_, ok = l.Find("https://example.org/other.tar.gz")
	assert.False(t, ok)
	var nilLock *Lock
	_, ok = nilLock.Find("x")
	assert.False(t, ok)

	all, err := LoadAll(fsys)
	require.NoError(t, err)
	assert.Contains(t, all, "xz")
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"malformed", "recipe: [\n", []string{"malformed YAML"}},
		{"unknown key", strings.Replace(goodLock(), "sha512:", "sha521:", 1), []string{"xz.lock:7: unknown key `sha521` in sources[0]; did you mean `sha512`?"}},
		{"malformed sha256", strings.Replace(goodLock(), h256, "abc", 1), []string{`xz.lock:6: pin for https://example.org/xz-5.4.1.tar.gz: malformed sha256 "abc"`}},
		{"upper-case digest", strings.Replace(goodLock(), h256, strings.ToUpper(h256), 1), []string{"malformed sha256"}},
		{"missing size", strings.Replace(goodLock(), "    size: 123\n", "", 1), []string{"size must be positive"}},
		{"wrong size type", strings.Replace(goodLock(), "size: 123", "size: big", 1), []string{`xz.lock:8: sources[0].size: expected an integer, got "big"`}},
		{"bad commit", strings.Replace(goodLock(), commit, "main", 1), []string{`xz.lock:10: pin for https://example.org/extra.git: malformed commit "main"`}},
		{"url and git", strings.Replace(goodLock(), "  - git:", "  - url: https://x.org/a\n    git:", 1), []string{"pin has both url and git"}},
		{"missing fields", "sources: []\n", []string{"recipe is required", "version is required"}},
		{"sha256 only, without a note", strings.Replace(goodLock(), "    sha512: "+h512+"\n    size: 123\n", "", 1), []string{
			`xz.lock:5: pin for https://example.org/xz-5.4.1.tar.gz: malformed sha512 "" (want 128 lower-case hex digits; leave it out only with a note saying where the sha256 comes from)`,
			"xz.lock:5: pin for https://example.org/xz-5.4.1.tar.gz: size must be positive"}},
		{"sha256 only, with a blank note", strings.Replace(goodLock(), "    sha512: "+h512+"\n    size: 123\n", "    note: \" \"\n", 1), []string{
			"xz.lock:5: pin for https://example.org/xz-5.4.1.tar.gz: malformed sha512", "xz.lock:5: pin for https://example.org/xz-5.4.1.tar.gz: size must be positive"}},
		{"a note does not excuse a malformed sha512", strings.Replace(goodLock(), "    sha512: "+h512+"\n", "    sha512: zz\n    note: from sha256sums.asc\n", 1), []string{
			`xz.lock:7: pin for https://example.org/xz-5.4.1.tar.gz: malformed sha512 "zz"`}},
		{"a note does not excuse a negative size", strings.Replace(goodLock(), "size: 123", "size: -1\n    note: from sha256sums.asc", 1), []string{
			"xz.lock:8: pin for https://example.org/xz-5.4.1.tar.gz: size must be positive"}},
		{"a note does not excuse a malformed sha256", strings.Replace(strings.Replace(goodLock(), "    sha512: "+h512+"\n    size: 123\n", "    note: from sha256sums.asc\n", 1), h256, "abc", 1), []string{
			`xz.lock:6: pin for https://example.org/xz-5.4.1.tar.gz: malformed sha256 "abc"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"vendor-hashes/xz.lock": {Data: []byte(tt.src)}}
			_, err := Load(fsys, "vendor-hashes/xz.lock")
			require.Error(t, err)
			var list errlist.List
			require.ErrorAs(t, err, &list)
			require.Len(t, list, len(tt.want), "got:\n%v", err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestNotedPin: an archive pin may leave sha512 and size out when a note
// says where its sha256 comes from; it is then a valid pin of its source.
func TestNotedPin(t *testing.T) {
	const note = "sha256 from the signed sha256sums.asc published next to the tarball"
	tests := []struct {
		name string
		lock string
		want Pin
	}{
		{"sha256 only", strings.Replace(goodLock(), "    sha512: "+h512+"\n    size: 123\n", "    note: "+note+"\n", 1),
			Pin{URL: "https://example.org/xz-5.4.1.tar.gz", SHA256: h256, Note: note, Line: 5}},
		{"sha256 and sha512", strings.Replace(goodLock(), "    size: 123\n", "    note: "+note+"\n", 1),
			Pin{URL: "https://example.org/xz-5.4.1.tar.gz", SHA256: h256, SHA512: h512, Note: note, Line: 5}},
		{"sha256 and size", strings.Replace(goodLock(), "    sha512: "+h512+"\n", "    note: "+note+"\n", 1),
			Pin{URL: "https://example.org/xz-5.4.1.tar.gz", SHA256: h256, Size: 123, Note: note, Line: 5}},
		{"a full pin may keep its note", strings.Replace(goodLock(), "    size: 123\n", "    size: 123\n    note: "+note+"\n", 1),
			Pin{URL: "https://example.org/xz-5.4.1.tar.gz", SHA256: h256, SHA512: h512, Size: 123, Note: note, Line: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Load(fstest.MapFS{"vendor-hashes/xz.lock": {Data: []byte(tt.lock)}}, "vendor-hashes/xz.lock")
			require.NoError(t, err)
			p, ok := l.Find(tt.want.URL)
			require.True(t, ok)
			assert.Equal(t, tt.want, p)
			assert.Empty(t, Check(testRecipe(t), l), "a noted pin pins its source")
		})
	}
}

func TestLoadAllNameMismatch(t *testing.T) {
	fsys := fstest.MapFS{"vendor-hashes/lzma.lock": {Data: []byte(goodLock())}}
	_, err := LoadAll(fsys)
	require.EqualError(t, err, `vendor-hashes/lzma.lock:2: lock file for recipe "xz" must be named vendor-hashes/xz.lock`)
}

func testRecipe(t *testing.T) *recipe.Recipe {
	t.Helper()
	fsys := fstest.MapFS{"recipes/xz/recipe.yaml": {Data: []byte(`name: xz
version: 5.4.1
license: 0BSD
sources:
  - url: https://example.org/${name}-${version}.tar.gz
  - git: https://example.org/extra.git
    commit: ` + commit + `
build:
  style: autotools
`)}}
	r, err := recipe.LoadFile(fsys, "recipes/xz/recipe.yaml")
	require.NoError(t, err)
	return r
}

func TestCheck(t *testing.T) {
	r := testRecipe(t)
	tests := []struct {
		name string
		lock string // "" means no lock file
		want []string
	}{
		{"ok", goodLock(), nil},
		{"no lock", "", []string{"recipes/xz/recipe.yaml:1: recipe xz has no lock file vendor-hashes/xz.lock; run `hadron hashes pin xz`"}},
		{"other recipe", strings.Replace(goodLock(), "recipe: xz", "recipe: zlib", 1), []string{`vendor-hashes/xz.lock:2: lock is for recipe "zlib", not "xz"`}},
		{"version mismatch", strings.Replace(goodLock(), "version: 5.4.1", "version: 5.4.0", 1), []string{"vendor-hashes/xz.lock:2: lock is for xz 5.4.0 but recipes/xz/recipe.yaml has version 5.4.1; run `hadron hashes pin xz`"}},
		{"unpinned source", strings.Replace(goodLock(), "  - git: https://example.org/extra.git\n    commit: "+commit+"\n", "", 1), []string{"recipes/xz/recipe.yaml:6: source https://example.org/extra.git is not pinned in vendor-hashes/xz.lock"}},
		{"stale pin", strings.Replace(goodLock(), "xz-5.4.1.tar.gz", "xz-old.tar.gz", 1), []string{
			"recipes/xz/recipe.yaml:5: source https://example.org/xz-5.4.1.tar.gz is not pinned",
			"vendor-hashes/xz.lock:5: pin for https://example.org/xz-old.tar.gz matches no source of xz 5.4.1"}},
		{"git commit differs", strings.Replace(goodLock(), commit, strings.Repeat("f", 40), 1), []string{"pin for https://example.org/extra.git is at commit ffff"}},
		{"malformed digest", strings.Replace(goodLock(), h512, "zz", 1), []string{"malformed sha512"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l *Lock
			if tt.lock != "" {
				var err error
				l, err = Load(fstest.MapFS{"vendor-hashes/xz.lock": {Data: []byte(tt.lock)}}, "vendor-hashes/xz.lock")
				if err != nil && !strings.Contains(tt.name, "digest") {
					require.NoError(t, err)
				}
			}
			errs := Check(r, l)
			require.Len(t, errs, len(tt.want), "got:\n%v", errs)
			for i, w := range tt.want {
				assert.Contains(t, errs[i].Error(), w)
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vendor-hashes", "xz.lock")
	l := &Lock{Recipe: "xz", Version: "5.4.1", Sources: []Pin{
		{URL: "https://example.org/xz-5.4.1.tar.gz", SHA256: h256, SHA512: h512, Size: 123},
		{Git: "https://example.org/extra.git", Commit: commit},
	}}
	require.NoError(t, Write(file, l))
	first, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, Write(file, l))
	second, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, first, second, "output must be deterministic")
	assert.Equal(t, "# Generated by `hadron hashes pin`. Do not edit by hand.\nrecipe: xz\nversion: 5.4.1\nsources:\n"+
		"  - url: https://example.org/xz-5.4.1.tar.gz\n    sha256: "+h256+"\n    sha512: "+h512+"\n    size: 123\n"+
		"  - git: https://example.org/extra.git\n    commit: "+commit+"\n", string(first))
	entries, err := os.ReadDir(filepath.Dir(file))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")

	back, err := Load(os.DirFS(dir), "vendor-hashes/xz.lock")
	require.NoError(t, err)
	assert.Equal(t, l.Sources[0].SHA512, back.Sources[0].SHA512)
	assert.Empty(t, Check(testRecipe(t), back))
}

func TestWriteFailsWhenParentIsAFile(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "vendor-hashes")
	require.NoError(t, os.WriteFile(blocker, []byte("x"), 0o644))
	err := Write(filepath.Join(blocker, "x.lock"), &Lock{Recipe: "x"})
	require.ErrorContains(t, err, "write lock")
}
