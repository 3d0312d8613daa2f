package substitute_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/lockfile"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	file     = "vendor-hashes/substitutes/xz-5.4.1-debian.yaml"
	upstream = "https://example.org/src/xz-5.4.1.tar.gz"
	origURL  = "http://deb.debian.org/debian/pool/main/x/xz-utils/xz-utils_5.4.1.orig.tar.xz"
	debURL   = "http://deb.debian.org/debian/pool/main/x/xz-utils/xz-utils_5.4.1-1.debian.tar.xz"
	orig     = "xz-utils_5.4.1.orig.tar.xz"
	deb      = "xz-utils_5.4.1-1.debian.tar.xz"
	patch    = "debian/patches/fix-tests.patch"
)

var (
	h256  = strings.Repeat("ab", 32)
	h512  = strings.Repeat("cd", 64)
	p256  = strings.Repeat("ef", 32)
	d256  = strings.Repeat("12", 32)
	d512  = strings.Repeat("34", 64)
	xzURL = projecttest.Spec{Name: "xz", Version: "5.4.1"}.URL()
)

// decl is a valid declaration; the line numbers in the comments are the
// ones the error cases below expect.
func decl() string {
	return `# A stand-in for xz's upstream tarball.
name: xz-5.4.1-debian
recipes: [xz]
upstream: ` + upstream + `
origin: Debian source package xz-utils 5.4.1-1
differs: nothing but Debian's packaging
files:
  - url: ` + origURL + `
    sha256: ` + h256 + `
    sha512: ` + h512 + `
    size: 123
  - url: ` + debURL + `
    sha256: ` + d256 + `
    sha512: ` + d512 + `
    size: 45
tree: ` + orig + `
patches:
  - from: ` + deb + `
    path: ` + patch + `
    sha256: ` + p256 + `
    why: the tests need a writable HOME
`
}

// line numbers in decl.
const (
	lineName     = 2
	lineRecipe   = 3
	lineUpstream = 4
	lineFile0    = 8
	lineSHA256   = 9
	lineFile1    = 12
	lineTree     = 16
	linePatch    = 18
	linePatchTo  = 19
	linePatchSum = 20
)

func TestLoadValid(t *testing.T) {
	require.Equal(t, upstream, xzURL, "decl stands for the source of projecttest's xz 5.4.1")
	s, err := substitute.Load(fstest.MapFS{file: {Data: []byte(decl())}}, file)
	require.NoError(t, err)
	assert.Equal(t, "xz-5.4.1-debian", s.Name)
	assert.Equal(t, []string{"xz"}, s.Recipes)
	assert.True(t, s.StandsFor("xz"))
	assert.False(t, s.StandsFor("xz-utils"), "only a listed recipe")
	assert.Equal(t, upstream, s.Upstream)
	assert.Equal(t, "Debian source package xz-utils 5.4.1-1", s.Origin)
	assert.Equal(t, file, s.File)
	assert.Equal(t, lineName, s.Line)
	require.Len(t, s.Files, 2)
	assert.Equal(t, lockfile.Pin{URL: origURL, SHA256: h256, SHA512: h512, Size: 123, Line: lineFile0}, s.Files[0])
	assert.Equal(t, debURL, s.Files[1].URL)
	assert.Equal(t, orig, s.TreeFile())
	assert.Equal(t, []substitute.Patch{{From: deb, Path: patch, SHA256: p256, Why: "the tests need a writable HOME"}}, s.Patches)
	assert.Equal(t, linePatchSum, s.LineOf("patches[0].sha256"))
	assert.Equal(t, lineFile1, s.LineOf("files[1].note"), "a missing key falls back to its parent")
	assert.Equal(t, lineName, s.LineOf("nosuchkey"), "and finally to the declaration")
	assert.Equal(t, "xz: "+upstream+" is substituted by xz-5.4.1-debian (Debian source package xz-utils 5.4.1-1; "+file+")", s.Describe("xz"))
	assert.Equal(t, "liblzma: "+upstream+" is substituted by xz-5.4.1-debian (Debian source package xz-utils 5.4.1-1; "+file+")", s.Describe("liblzma"),
		"it names the recipe being built")
}

func TestTreeFile(t *testing.T) {
	tests := []struct {
		name string
		s    substitute.Substitute
		want string
	}{
		{"declared", substitute.Substitute{Tree: "b.tar.gz", Files: []lockfile.Pin{{URL: "http://x/a.tar.gz"}, {URL: "http://x/b.tar.gz"}}}, "b.tar.gz"},
		{"first file by default", substitute.Substitute{Files: []lockfile.Pin{{URL: "http://x/a.tar.gz"}, {URL: "http://x/b.tar.gz"}}}, "a.tar.gz"},
		{"no files", substitute.Substitute{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.s.TreeFile())
		})
	}
}

// TestLoadProblems: every problem comes back as file:line: message, all of
// them at once, sorted.
func TestLoadProblems(t *testing.T) {
	at := func(line int, msg string) string { return file + ":" + itoa(line) + ": " + msg }
	pin := func(u, msg string) string { return "pin for " + u + ": " + msg }
	tests := []struct {
		name string
		file string // default: file
		edit func(string) string
		want []string
	}{
		{"name does not match the file", "", replace("name: xz-5.4.1-debian", "name: xz-debian"), []string{
			at(lineName, `name "xz-debian" does not match the file name xz-5.4.1-debian.yaml`),
		}},
		{"name missing", "", replace("name: xz-5.4.1-debian\n", ""), []string{
			file + ":" + itoa(lineName) + `: name is required (use "xz-5.4.1-debian", the file name)`,
		}},
		{"invalid name", "vendor-hashes/substitutes/Xz.yaml", replace("name: xz-5.4.1-debian", "name: Xz"), []string{
			"vendor-hashes/substitutes/Xz.yaml:2: invalid substitute name \"Xz\": use lower case letters, digits and + . _ -",
		}},
		{"recipes missing", "", replace("recipes: [xz]\n", ""), []string{
			at(lineName, "recipes: at least one recipe whose source this stands for is required"),
		}},
		{"recipes empty", "", replace("recipes: [xz]", "recipes: []"), []string{
			at(lineRecipe, "recipes: at least one recipe whose source this stands for is required"),
		}},
		{"a blank recipe name", "", replace("recipes: [xz]", `recipes: [xz, ""]`), []string{
			at(lineRecipe, `recipes: invalid recipe name "": use lower case letters, digits and + . _ -`),
		}},
		{"an invalid recipe name, block list", "", replace("recipes: [xz]", "recipes:\n  - xz\n  - Liblzma"), []string{
			at(lineRecipe+2, `recipes: invalid recipe name "Liblzma": use lower case letters, digits and + . _ -`),
		}},
		{"a recipe listed twice", "", replace("recipes: [xz]", "recipes: [xz, xz]"), []string{
			at(lineRecipe, "recipes: xz listed twice"),
		}},
		{"a single recipe is not a list", "", replace("recipes: [xz]", "recipes: xz"), []string{
			at(lineRecipe, `recipes: expected a list, got "xz"`),
		}},
		{"the old recipe key", "", replace("recipes: [xz]", "recipe: xz"), []string{
			at(lineRecipe, "unknown key `recipe`; did you mean `recipes`?"),
		}},
		{"upstream not http", "", replace("upstream: https://", "upstream: ftp://"), []string{
			at(lineUpstream, `upstream: the upstream URL this stands for: URL "ftp://example.org/src/xz-5.4.1.tar.gz": only http:// and https:// are allowed`),
		}},
		{"origin missing", "", replace("origin: Debian source package xz-utils 5.4.1-1\n", ""), []string{
			at(lineName, "origin is required: say where the files come from (e.g. the Debian source version)"),
		}},
		{"differs blank", "", replace("differs: nothing but Debian's packaging", `differs: "  "`), []string{
			at(lineName, "differs is required: say how the result differs from the upstream tree"),
		}},
		{"no files", "", func(s string) string {
			return s[:strings.Index(s, "files:\n")] + "files: []\n"
		}, []string{
			at(lineName, "files: at least one pinned file is required"),
		}},
		{"malformed sha256 in files", "", replace(h256, "abc"), []string{
			at(lineSHA256, pin(origURL, `malformed sha256 "abc" (want 64 lower-case hex digits)`)),
		}},
		{"missing sha512 and size", "", replace("    sha512: "+h512+"\n    size: 123\n", ""), []string{
			at(lineFile0, pin(origURL, `malformed sha512 "" (want 128 lower-case hex digits; leave it out only with a note saying where the sha256 comes from)`)),
			at(lineFile0, pin(origURL, "size must be positive")),
		}},
		{"a note in files", "", replace("    size: 123\n", "    size: 123\n    note: from the .dsc\n"), []string{
			at(lineFile0+4, "files of a substitute are pinned in full: sha256, sha512 and size, no note"),
		}},
		{"a note does not excuse sha512 and size", "", replace("    sha512: "+h512+"\n    size: 123\n", "    note: from the .dsc\n"), []string{
			at(lineFile0, pin(origURL, `malformed sha512 "" (want 128 lower-case hex digits; leave it out only with a note saying where the sha256 comes from)`)),
			at(lineFile0, pin(origURL, "size must be positive")),
			at(lineFile0+2, "files of a substitute are pinned in full: sha256, sha512 and size, no note"),
		}},
		{"git file", "", replace("  - url: "+debURL+"\n", "  - git: https://salsa.debian.org/debian/xz-utils.git\n"), []string{
			at(lineFile1, "files: each file needs url, sha256, sha512 and size (git is not supported)"),
			at(linePatch, `patch `+patch+`: from "`+deb+`" is not one of the files (`+orig+")"),
		}},
		{"file URL not http", "", replace("  - url: http://deb.", "  - url: file://deb."), []string{
			at(lineFile0, `URL "file://deb.debian.org/debian/pool/main/x/xz-utils/xz-utils_5.4.1.orig.tar.xz": only http:// and https:// are allowed`),
		}},
		{"two files with one name", "", replace(debURL, "http://mirror.example.org/"+orig), []string{
			at(lineFile1, "two files named "+orig),
			at(linePatch, `patch `+patch+`: from "`+deb+`" is not one of the files (`+orig+")"),
		}},
		{"tree not among files, close", "", replace("tree: "+orig, "tree: xz-utils_5.4.1.orig.tar.gz"), []string{
			at(lineTree, `tree "xz-utils_5.4.1.orig.tar.gz" is not one of the files; did you mean `+"`"+orig+"`?"),
		}},
		{"tree not among files, far", "", replace("tree: "+orig, "tree: linux.tar"), []string{
			at(lineTree, `tree "linux.tar" is not one of the files (`+deb+", "+orig+")"),
		}},
		{"a missing patch of a substitute", "", replace("  - from: "+deb, "  - from: xz-utils_5.4.1-2.debian.tar.xz"), []string{
			at(linePatch, `patch `+patch+`: from "xz-utils_5.4.1-2.debian.tar.xz" is not one of the files; did you mean `+"`"+deb+"`?"),
		}},
		{"patch from a file that is no file at all", "", replace("  - from: "+deb, "  - from: debian.tar"), []string{
			at(linePatch, `patch `+patch+`: from "debian.tar" is not one of the files (`+deb+", "+orig+")"),
		}},
		{"bad patch sha256", "", replace(p256, strings.ToUpper(p256)), []string{
			at(linePatchSum, `patch `+patch+`: malformed sha256 "`+strings.ToUpper(p256)+`" (want 64 lower-case hex digits)`),
		}},
		{"patch sha256 missing", "", replace("    sha256: "+p256+"\n", ""), []string{
			at(linePatch, `patch `+patch+`: malformed sha256 "" (want 64 lower-case hex digits)`),
		}},
		{"patch why missing", "", replace("    why: the tests need a writable HOME\n", ""), []string{
			at(linePatch, "patch "+patch+": why is required: say what the patch is for and when it can go"),
		}},
		{"patch why blank", "", replace("why: the tests need a writable HOME", `why: " "`), []string{
			at(linePatchSum+1, "patch "+patch+": why is required: say what the patch is for and when it can go"),
		}},
		{"patch path escapes", "", replace("path: "+patch, "path: debian/../../etc/passwd"), []string{
			at(linePatchTo, `patch path "debian/../../etc/passwd" escapes the recipe folder`),
		}},
		{"patch path absolute", "", replace("path: "+patch, "path: /etc/passwd"), []string{
			at(linePatchTo, `patch path "/etc/passwd" must be relative, not absolute`),
		}},
		{"inner escapes", "", replace("tree: "+orig+"\n", "tree: "+orig+"\ninner: ../gcc.tar.xz\n"), []string{
			at(lineTree+1, `inner "../gcc.tar.xz" escapes the recipe folder`),
		}},
		{"inner absolute", "", replace("tree: "+orig+"\n", "tree: "+orig+"\ninner: /gcc.tar.xz\n"), []string{
			at(lineTree+1, `inner "/gcc.tar.xz" must be relative, not absolute`),
		}},
		{"unknown key", "", replace("patches:", "patchs:"), []string{
			at(lineTree+1, "unknown key `patchs`; did you mean `patches`?"),
		}},
		{"every problem at once", "", func(s string) string {
			s = replace("name: xz-5.4.1-debian", "name: xz-debian")(s)
			s = replace(h256, "abc")(s)
			return replace("path: "+patch, "path: ../x.patch")(s)
		}, []string{
			at(lineName, `name "xz-debian" does not match the file name xz-5.4.1-debian.yaml`),
			at(lineSHA256, pin(origURL, `malformed sha256 "abc" (want 64 lower-case hex digits)`)),
			at(linePatchTo, `patch path "../x.patch" escapes the recipe folder`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.file
			if f == "" {
				f = file
			}
			src := tt.edit(decl())
			s, err := substitute.Load(fstest.MapFS{f: {Data: []byte(src)}}, f)
			require.Error(t, err, "declaration:\n%s", src)
			require.NotNil(t, s, "the substitute comes back as far as it was read")
			var list errlist.List
			require.ErrorAs(t, err, &list)
			got := strings.Split(err.Error(), "\n")
			assert.Equal(t, tt.want, got, "declaration:\n%s", src)
		})
	}
}

// A patch kept in the tree, and its declaration in place of decl's patch
// from the Debian tarball.
const (
	treePatch     = "vendor-hashes/substitutes/patches/xz-fix-tests.patch"
	treePatchData = "--- a/tests/x\n+++ b/tests/x\n@@ -1 +1 @@\n-a\n+b\n"
	// line numbers in treeDecl.
	lineTreePatch    = 18
	lineTreePatchSum = 19
)

func treePatchSum() string {
	h := sha256.Sum256([]byte(treePatchData))
	return hex.EncodeToString(h[:])
}

// treeDecl is decl with its patch kept in the tree.
func treeDecl() string {
	return replace("  - from: "+deb+"\n    path: "+patch+"\n    sha256: "+p256+"\n",
		"  - file: "+treePatch+"\n    sha256: "+treePatchSum()+"\n")(decl())
}

// treeFS holds the declaration src and the patch kept in the tree.
func treeFS(src string) fstest.MapFS {
	return fstest.MapFS{file: {Data: []byte(src)}, treePatch: {Data: []byte(treePatchData)}}
}

func TestLoadTreePatch(t *testing.T) {
	s, err := substitute.Load(treeFS(treeDecl()), file)
	require.NoError(t, err)
	want := substitute.Patch{File: treePatch, SHA256: treePatchSum(), Why: "the tests need a writable HOME"}
	assert.Equal(t, []substitute.Patch{want}, s.Patches)
	assert.Equal(t, treePatch, s.Patches[0].Name())
	assert.Equal(t, []string{treePatch}, s.TreeFiles())
	assert.Equal(t, lineTreePatchSum, s.LineOf("patches[0].sha256"))

	// Both kinds in one declaration, in order; a file listed twice is
	// mounted once.
	both := replace("    why: the tests need a writable HOME\n", "    why: the tests need a writable HOME\n"+
		"  - from: "+deb+"\n    path: "+patch+"\n    sha256: "+p256+"\n    why: carrier\n"+
		"  - file: "+treePatch+"\n    sha256: "+treePatchSum()+"\n    why: again\n")(treeDecl())
	s, err = substitute.Load(treeFS(both), file)
	require.NoError(t, err)
	require.Len(t, s.Patches, 3)
	assert.Equal(t, []string{treePatch, patch, treePatch}, []string{s.Patches[0].Name(), s.Patches[1].Name(), s.Patches[2].Name()})
	assert.Equal(t, []string{treePatch}, s.TreeFiles())
	assert.Empty(t, (&substitute.Substitute{Patches: []substitute.Patch{{From: deb, Path: patch}}}).TreeFiles())
}

func TestLoadTreePatchProblems(t *testing.T) {
	at := func(line int, msg string) string { return file + ":" + itoa(line) + ": " + msg }
	other := strings.Repeat("0", 64)
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Mode: fs.ModeSymlink | 0o777, Data: []byte(target)}
	}
	tests := []struct {
		name string
		edit func(string) string // of treeDecl; nil: none
		fsys func(fstest.MapFS)  // of treeFS; nil: none
		want []string
	}{
		{"missing file", nil, func(m fstest.MapFS) { delete(m, treePatch) }, []string{
			at(lineTreePatch, "patch "+treePatch+": no such file in the tree"),
		}},
		{"digest mismatch", replace("sha256: "+treePatchSum(), "sha256: "+other), nil, []string{
			at(lineTreePatchSum, "patch "+treePatch+": pinned sha256 "+other+", but the file's is "+treePatchSum()+"; review the patch and pin it again"),
		}},
		{"the file changed", nil, func(m fstest.MapFS) { m[treePatch] = &fstest.MapFile{Data: []byte(treePatchData + " ")} }, []string{
			at(lineTreePatchSum, "patch "+treePatch+": pinned sha256 "+treePatchSum()+", but the file's is "),
		}},
		{"why is required here too", replace("    why: the tests need a writable HOME\n", ""), nil, []string{
			at(lineTreePatch, "patch "+treePatch+": why is required: say what the patch is for and when it can go"),
		}},
		{"malformed sha256 is reported, not compared", replace("sha256: "+treePatchSum(), "sha256: abc"), nil, []string{
			at(lineTreePatchSum, "patch "+treePatch+`: malformed sha256 "abc" (want 64 lower-case hex digits)`),
		}},
		{"both file and from", replace("  - file: "+treePatch+"\n", "  - file: "+treePatch+"\n    from: "+deb+"\n"), nil, []string{
			at(lineTreePatch, "patch "+treePatch+": give either file (a patch kept in the tree) or from and path (a patch inside one of the files), not both"),
		}},
		{"both file and path", replace("  - file: "+treePatch+"\n", "  - file: "+treePatch+"\n    path: "+patch+"\n"), nil, []string{
			at(lineTreePatch, "patch "+treePatch+": give either file (a patch kept in the tree) or from and path (a patch inside one of the files), not both"),
		}},
		{"neither file nor from and path", replace("  - file: "+treePatch+"\n    sha256:", "  - sha256:"), nil, []string{
			at(lineTreePatch, "patch: give either file (a patch kept in the tree, below vendor-hashes/substitutes/) or from and path (a patch inside one of the files)"),
		}},
		{"outside vendor-hashes/substitutes", replace("file: "+treePatch, "file: recipes/xz/patches/fix-tests.patch"),
			func(m fstest.MapFS) { m["recipes/xz/patches/fix-tests.patch"] = m[treePatch] }, []string{
				at(lineTreePatch, "patch recipes/xz/patches/fix-tests.patch: file must be below vendor-hashes/substitutes/ (e.g. vendor-hashes/substitutes/patches/<name>.patch, relative to the tree root)"),
			}},
		{"relative to the declaration, not the tree root", replace("file: "+treePatch, "file: patches/xz-fix-tests.patch"), nil, []string{
			at(lineTreePatch, "patch patches/xz-fix-tests.patch: file must be below vendor-hashes/substitutes/ (e.g. vendor-hashes/substitutes/patches/<name>.patch, relative to the tree root)"),
		}},
		{"escapes through ..", replace("file: "+treePatch, "file: vendor-hashes/substitutes/../../etc/passwd"), nil, []string{
			at(lineTreePatch, "patch vendor-hashes/substitutes/../../etc/passwd: file must be below vendor-hashes/substitutes/ (e.g. vendor-hashes/substitutes/patches/<name>.patch, relative to the tree root)"),
		}},
		{"the folder itself", replace("file: "+treePatch, "file: vendor-hashes/substitutes/"), nil, []string{
			at(lineTreePatch, "patch vendor-hashes/substitutes/: file must be below vendor-hashes/substitutes/ (e.g. vendor-hashes/substitutes/patches/<name>.patch, relative to the tree root)"),
		}},
		{"not clean", replace("file: "+treePatch, "file: vendor-hashes/substitutes/patches/../patches/xz-fix-tests.patch"), nil, []string{
			at(lineTreePatch, "patch vendor-hashes/substitutes/patches/../patches/xz-fix-tests.patch: write the file as "+treePatch),
		}},
		{"absolute", replace("file: "+treePatch, "file: /"+treePatch), nil, []string{
			at(lineTreePatch, "patch /"+treePatch+": file must be relative to the tree root, not absolute"),
		}},
		{"backslashes", replace("file: "+treePatch, `file: vendor-hashes\substitutes\x.patch`), nil, []string{
			at(lineTreePatch, `patch vendor-hashes\substitutes\x.patch: use / as the separator`),
		}},
		{"a pattern", replace("file: "+treePatch, "file: vendor-hashes/substitutes/patches/*.patch"), nil, []string{
			at(lineTreePatch, "patch vendor-hashes/substitutes/patches/*.patch: * ? and [ are not allowed in the file name (BuildKit reads it as a pattern)"),
		}},
		{"a folder", replace("file: "+treePatch, "file: vendor-hashes/substitutes/patches"), nil, []string{
			at(lineTreePatch, "patch vendor-hashes/substitutes/patches: not a regular file"),
		}},
		{"a symbolic link", nil, func(m fstest.MapFS) {
			m["vendor-hashes/substitutes/patches/real.patch"] = m[treePatch]
			m[treePatch] = link("real.patch")
		}, []string{
			at(lineTreePatch, "patch "+treePatch+": the file is a symbolic link; keep the patch itself in the tree"),
		}},
		{"a folder that is a symbolic link", nil, func(m fstest.MapFS) {
			m["elsewhere/xz-fix-tests.patch"] = m[treePatch]
			delete(m, treePatch)
			m["vendor-hashes/substitutes/patches"] = link("../../elsewhere")
		}, []string{
			at(lineTreePatch, "patch "+treePatch+": vendor-hashes/substitutes/patches is a symbolic link; keep the patch itself in the tree"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := treeDecl()
			if tt.edit != nil {
				src = tt.edit(src)
			}
			fsys := treeFS(src)
			if tt.fsys != nil {
				tt.fsys(fsys)
			}
			s, err := substitute.Load(fsys, file)
			require.Error(t, err, "declaration:\n%s", src)
			require.NotNil(t, s)
			got := strings.Split(err.Error(), "\n")
			require.Len(t, got, len(tt.want), "got:\n%v", err)
			for i, w := range tt.want {
				assert.True(t, strings.HasPrefix(got[i], w), "line %d:\n got %q\nwant %q", i, got[i], w)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	s, err := substitute.Load(fstest.MapFS{}, file)
	assert.Nil(t, s)
	require.ErrorContains(t, err, file+": read substitute: ")
}

// TestLoadRealExample keeps the declaration shipped in the tree loadable.
func TestLoadRealExample(t *testing.T) {
	all, err := substitute.LoadAll(os.DirFS("../.."))
	require.NoError(t, err)
	s, ok := all["linux-7.2.8-debian"]
	require.True(t, ok, "declared: %v", all)
	assert.Equal(t, []string{"linux", "linux-headers"}, s.Recipes)
	assert.Equal(t, "https://cdn.kernel.org/pub/linux/kernel/v7.x/linux-7.2.8.tar.xz", s.Upstream)
	assert.Equal(t, "linux_7.2.8.orig.tar.xz", s.TreeFile())
	assert.Len(t, s.Patches, 4)
	for _, f := range s.Files {
		assert.Empty(t, f.Note)
		assert.Positive(t, f.Size)
	}
}

func TestLoadAll(t *testing.T) {
	other := strings.NewReplacer("xz-5.4.1-debian", "zlib-1.3-debian", "recipes: [xz]", "recipes: [zlib]").Replace(decl())
	tests := []struct {
		name      string
		fsys      fstest.MapFS
		wantNames []string
		wantErr   []string
	}{
		{"no folder", fstest.MapFS{"vendor-hashes/xz.lock": {Data: []byte("x")}}, []string{}, nil},
		{"two good", fstest.MapFS{
			file: {Data: []byte(decl())},
			"vendor-hashes/substitutes/zlib-1.3-debian.yaml": {Data: []byte(other)},
			"vendor-hashes/substitutes/README.md":            {Data: []byte("not a declaration")},
		}, []string{"xz-5.4.1-debian", "zlib-1.3-debian"}, nil},
		{"problems in several files, sorted, the rest still loaded", fstest.MapFS{
			file:                                 {Data: []byte(replace(p256, "zz")(decl()))},
			"vendor-hashes/substitutes/aaa.yaml": {Data: []byte("name: [\n")},
			"vendor-hashes/substitutes/zlib-1.3-debian.yaml": {Data: []byte(other)},
		}, []string{"xz-5.4.1-debian", "zlib-1.3-debian"}, []string{
			"vendor-hashes/substitutes/aaa.yaml:",
			file + ":" + itoa(linePatchSum) + `: patch ` + patch + `: malformed sha256 "zz"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := substitute.LoadAll(tt.fsys)
			require.NotNil(t, all)
			var names []string
			for n, s := range all {
				assert.Equal(t, n, s.Name)
				names = append(names, n)
			}
			assert.ElementsMatch(t, tt.wantNames, names)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.wantErr), "got:\n%v", err)
			for i, w := range tt.wantErr {
				assert.True(t, strings.HasPrefix(lines[i], w), "line %d: %q does not start with %q", i, lines[i], w)
			}
		})
	}
}

// recipes loads projecttest recipes by name and version.
func recipes(t *testing.T, specs ...projecttest.Spec) map[string]*recipe.Recipe {
	t.Helper()
	out := map[string]*recipe.Recipe{}
	for _, s := range specs {
		f := "recipes/" + s.Name + "/recipe.yaml"
		r, err := recipe.LoadFile(fstest.MapFS{f: {Data: s.RecipeYAML()}}, f)
		require.NoError(t, err)
		out[r.Name] = r
	}
	return out
}

// xzSource is a recipe called name that fetches xz 5.4.1's tarball, like
// a second package built from one upstream tree (linux and linux-headers).
func xzSource(t *testing.T, name string) *recipe.Recipe {
	t.Helper()
	f := "recipes/" + name + "/recipe.yaml"
	data := strings.NewReplacer("name: xz\n", "name: "+name+"\n", "${name}", "xz").
		Replace(string(projecttest.Spec{Name: "xz", Version: "5.4.1"}.RecipeYAML()))
	r, err := recipe.LoadFile(fstest.MapFS{f: {Data: []byte(data)}}, f)
	require.NoError(t, err)
	require.Equal(t, upstream, r.SourceURL(0))
	return r
}

func TestCheckAgainst(t *testing.T) {
	xz541 := []projecttest.Spec{{Name: "xz", Version: "5.4.1"}, {Name: "zlib"}}
	at := func(line int, msg string) string { return file + ":" + itoa(line) + ": " + msg }
	tests := []struct {
		name    string
		edit    func(string) string
		recipes []projecttest.Spec
		alsoXZ  []string // more recipes that fetch xz 5.4.1's tarball
		want    []string
	}{
		{"stands for a source of its recipe", nil, xz541, nil, nil},
		{"stands for a source of each of its recipes", replace("recipes: [xz]", "recipes: [xz, liblzma]"), xz541, []string{"liblzma"}, nil},
		{"a recipe with the same source need not be listed", nil, xz541, []string{"liblzma"}, nil},
		{"unknown recipe, close", replace("recipes: [xz]", "recipes: [xx]"), xz541, nil, []string{
			at(lineRecipe, `substitute xz-5.4.1-debian stands for a source of recipe "xx", but there is no such recipe; did you mean `+"`xz`?"),
		}},
		{"unknown recipe, far", replace("recipes: [xz]", "recipes: [linux]"), xz541[:1], nil, []string{
			at(lineRecipe, `substitute xz-5.4.1-debian stands for a source of recipe "linux", but there is no such recipe`),
		}},
		{"an unknown recipe among known ones, on its own line", replace("recipes: [xz]", "recipes:\n  - xz\n  - liblzmaa"), xz541, []string{"liblzma"}, []string{
			at(lineRecipe+2, `substitute xz-5.4.1-debian stands for a source of recipe "liblzmaa", but there is no such recipe; did you mean `+"`liblzma`?"),
		}},
		{"the recipe moved on to another version", nil, []projecttest.Spec{{Name: "xz", Version: "5.4.2"}}, nil, []string{
			at(lineUpstream, "substitute xz-5.4.1-debian stands for "+upstream+
				", which is not a source of recipe xz 5.4.2 (its sources: https://example.org/src/xz-5.4.2.tar.gz); "+
				"update the substitute with the recipe, or delete it"),
		}},
		{"one of two recipes does not fetch it", replace("recipes: [xz]", "recipes: [xz, zlib]"), xz541, nil, []string{
			at(lineUpstream, "substitute xz-5.4.1-debian stands for "+upstream+
				", which is not a source of recipe zlib 1.0 (its sources: https://example.org/src/zlib-1.0.tar.gz); "+
				"update the substitute with the recipe, or delete it"),
		}},
		{"every listed recipe is checked", replace("recipes: [xz]", "recipes: [zlib, xx, xz]"), xz541, nil, []string{
			at(lineRecipe, `substitute xz-5.4.1-debian stands for a source of recipe "xx", but there is no such recipe; did you mean `+"`xz`?"),
			at(lineUpstream, "substitute xz-5.4.1-debian stands for "+upstream+
				", which is not a source of recipe zlib 1.0 (its sources: https://example.org/src/zlib-1.0.tar.gz); "+
				"update the substitute with the recipe, or delete it"),
		}},
		{"a URL the recipe does not fetch", replace("upstream: "+upstream, "upstream: https://tukaani.org/xz/xz-5.4.1.tar.gz"), xz541[:1], nil, []string{
			at(lineUpstream, "substitute xz-5.4.1-debian stands for https://tukaani.org/xz/xz-5.4.1.tar.gz"+
				", which is not a source of recipe xz 5.4.1 (its sources: "+upstream+"); update the substitute with the recipe, or delete it"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := decl()
			if tt.edit != nil {
				src = tt.edit(src)
			}
			s, err := substitute.Load(fstest.MapFS{file: {Data: []byte(src)}}, file)
			require.NoError(t, err)
			rs := recipes(t, tt.recipes...)
			for _, n := range tt.alsoXZ {
				rs[n] = xzSource(t, n)
			}
			errs := s.CheckAgainst(rs)
			if tt.want == nil {
				assert.Empty(t, errs)
				return
			}
			assert.Equal(t, strings.Join(tt.want, "\n"), errs.Sorted().Error())
		})
	}
}

func TestSelect(t *testing.T) {
	a := &substitute.Substitute{Name: "xz-5.4.1-debian", Upstream: upstream}
	b := &substitute.Substitute{Name: "xz-5.4.1-fedora", Upstream: upstream}
	c := &substitute.Substitute{Name: "zlib-1.3-debian", Upstream: "https://example.org/src/zlib-1.3.tar.gz"}
	all := map[string]*substitute.Substitute{a.Name: a, b.Name: b, c.Name: c}
	tests := []struct {
		name    string
		all     map[string]*substitute.Substitute
		names   []string
		want    map[string]*substitute.Substitute
		wantErr string
	}{
		{"none asked", all, nil, map[string]*substitute.Substitute{}, ""},
		{"by upstream URL", all, []string{a.Name, c.Name}, map[string]*substitute.Substitute{upstream: a, c.Upstream: c}, ""},
		{"the same name twice", all, []string{a.Name, a.Name}, map[string]*substitute.Substitute{upstream: a}, ""},
		{"unknown, close", all, []string{"xz-5.4.1-debain"},
			nil, "unknown substitute \"xz-5.4.1-debain\"; did you mean `xz-5.4.1-debian`? (declared: xz-5.4.1-debian, xz-5.4.1-fedora, zlib-1.3-debian)"},
		{"unknown, far", all, []string{c.Name, "linux"},
			nil, `unknown substitute "linux" (declared: xz-5.4.1-debian, xz-5.4.1-fedora, zlib-1.3-debian)`},
		{"none declared", map[string]*substitute.Substitute{}, []string{"linux"},
			nil, `unknown substitute "linux" (none are declared in vendor-hashes/substitutes)`},
		{"two for one URL", all, []string{a.Name, c.Name, b.Name},
			nil, "substitutes xz-5.4.1-debian and xz-5.4.1-fedora both stand for " + upstream + ": use one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := substitute.Select(tt.all, tt.names)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// replace returns an edit that replaces old (which must occur) with new
// once.
func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("edit: " + old + " not in declaration")
		}
		return strings.Replace(s, old, new, 1)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
