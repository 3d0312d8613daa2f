package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/internal/substitute"
	"github.com/santhosh-tekuri/jsonschema/v5"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const epoch = 1700000000

// pin renders a lock entry for url with digests derived from data.
func pin(url string, data []byte) string {
	s256 := sha256.Sum256(data)
	return fmt.Sprintf("  - url: %s\n    sha256: %s\n    sha512: %s\n    size: %d\n", url, hex.EncodeToString(s256[:]), strings.Repeat("ab", 64), len(data))
}

const (
	ccURL    = "https://example.org/cc/cc-1.0.tar.xz"
	libzURL  = "https://example.org/libz/libz-1.3.tar.gz"
	appURL   = "https://example.org/app/app-2.1.tar.gz"
	appGit   = "https://git.example.org/app-data.git"
	appSHA   = "0123456789abcdef0123456789abcdef01234567"
	debURL   = "http://deb.example.org/pool/c/cc/cc_1.0.orig.tar.xz"
	debPatch = "http://deb.example.org/pool/c/cc/cc_1.0-1.debian.tar.xz"
	subName  = "cc-1.0-debian"
	treePtch = "vendor-hashes/substitutes/patches/cc-fix.patch"
)

var (
	libzPatch = []byte("--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n")
	ccPatch   = []byte("--- a/y.c\n+++ b/y.c\n@@ -1 +1 @@\n-c\n+d\n")
)

// fixture is a tree with a host recipe (the toolchain, cc, whose source a
// declared substitute can stand in for), a library with a patch, and an
// application built against the library (a build and a runtime
// dependency) with an archive and a git source; image img holds app.
func fixture(t testing.TB) *project.Tree {
	t.Helper()
	patchDigest := sha256.Sum256(ccPatch)
	fsys := fstest.MapFS{
		"recipes/cc/recipe.yaml": {Data: []byte(`name: cc
version: "1.0"
description: the cross compiler
license: GPL-3.0-or-later
homepage: https://cc.example.org/
host: true
sources:
  - url: https://example.org/cc/cc-${version}.tar.xz
build:
  style: custom
  install: mkdir -p /out/toolchain
`)},
		"vendor-hashes/cc.lock": {Data: []byte("recipe: cc\nversion: \"1.0\"\nsources:\n" + pin(ccURL, []byte("cc")))},
		"recipes/libz/recipe.yaml": {Data: []byte(`name: libz
version: "1.3"
description: compression library
license: Zlib
homepage: https://libz.example.org/
sources:
  - url: https://example.org/libz/libz-${version}.tar.gz
patches: [patches/fix.patch]
build:
  style: custom
  install: mkdir -p /out/usr/lib
`)},
		"recipes/libz/patches/fix.patch": {Data: libzPatch},
		"vendor-hashes/libz.lock":        {Data: []byte("recipe: libz\nversion: \"1.3\"\nsources:\n" + pin(libzURL, []byte("libz")))},
		"recipes/app/recipe.yaml": {Data: []byte(`name: app
version: "2.1"
description: an application
license: MIT OR Apache-2.0
sources:
  - url: https://example.org/app/app-${version}.tar.gz
  - git: ` + appGit + `
    commit: ` + appSHA + `
    dest: data
dependencies:
  build: [libz]
  runtime: [libz]
build:
  style: custom
  install: mkdir -p /out/usr/bin
`)},
		"vendor-hashes/app.lock": {Data: []byte("recipe: app\nversion: \"2.1\"\nsources:\n" + pin(appURL, []byte("app")) +
			"  - git: " + appGit + "\n    commit: " + appSHA + "\n")},
		"images/img.yaml": {Data: []byte("name: img\npackages: [app]\n")},
		"vendor-hashes/substitutes/" + subName + ".yaml": {Data: []byte(`name: ` + subName + `
recipes: [cc]
upstream: ` + ccURL + `
origin: Debian source package cc 1.0-1 (sid)
differs: the orig lacks the manuals
files:
` + pin(debURL, []byte("orig")) + pin(debPatch, []byte("debian")) + `patches:
  - from: cc_1.0-1.debian.tar.xz
    path: debian/patches/a.patch
    sha256: ` + strings.Repeat("cd", 32) + `
    why: drops the manuals from the build
  - file: ` + treePtch + `
    sha256: ` + hex.EncodeToString(patchDigest[:]) + `
    why: fixes y.c
`)},
		treePtch: {Data: ccPatch},
	}
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	return tree
}

// imageInput describes image name of tree for amd64 with the substitutes
// named.
func imageInput(t testing.TB, tree *project.Tree, name string, subs ...string) Input {
	t.Helper()
	img := tree.Images[name]
	require.NotNil(t, img)
	g, err := graph.Resolve(tree, recipe.ArchAMD64, img.Packages)
	require.NoError(t, err)
	sel, err := substitute.Select(tree.Substitutes, subs)
	require.NoError(t, err)
	return Input{
		Tree:        tree,
		Graph:       g,
		Artifact:    Artifact{Name: name, Kind: KindImage, Contains: g.RuntimeClosure(img.Packages...)},
		Platform:    "linux/amd64",
		Substitutes: sel,
		Epoch:       epoch,
	}
}

func TestNewDescribesTheGraph(t *testing.T) {
	tree := fixture(t)
	d, err := New(imageInput(t, tree, "img", subName))
	require.NoError(t, err)

	var names []string
	for _, p := range d.Packages {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"app", "cc", "libz"}, names, "every recipe of the graph, sorted; the toolchain too")
	assert.Equal(t, []string{"app", "libz"}, d.Artifact.Contains)

	app, cc, libz := d.Package("app"), d.Package("cc"), d.Package("libz")
	require.NotNil(t, app)
	assert.True(t, app.Installed)
	assert.True(t, libz.Installed, "runtime dependency of app")
	assert.False(t, cc.Installed)
	assert.True(t, cc.Host)
	assert.Equal(t, "MIT OR Apache-2.0", app.License)
	assert.Equal(t, []string{"libz"}, app.Runtime)
	assert.Equal(t, []string{"libz"}, app.Build)
	assert.Equal(t, []string{"cc"}, app.Toolchain)
	assert.Empty(t, cc.Toolchain, "a host recipe is not built with itself")

	require.Len(t, app.Sources, 2)
	s256 := sha256.Sum256([]byte("app"))
	assert.Equal(t, Source{URL: appURL, SHA256: hex.EncodeToString(s256[:]), SHA512: strings.Repeat("ab", 64), Size: 3}, app.Sources[0])
	assert.Equal(t, Source{URL: appGit, Commit: appSHA}, app.Sources[1])

	require.Len(t, libz.Patches, 1)
	p256 := sha256.Sum256(libzPatch)
	assert.Equal(t, "recipes/libz/patches/fix.patch", libz.Patches[0].Name)
	assert.Equal(t, hex.EncodeToString(p256[:]), libz.Patches[0].SHA256)
	assert.Len(t, libz.Patches[0].SHA1, 40)

	require.Len(t, cc.Sources, 1)
	sub := cc.Sources[0].Substitute
	require.NotNil(t, sub, "cc's source came from the substitute")
	assert.Equal(t, subName, sub.Name)
	assert.Equal(t, "Debian source package cc 1.0-1 (sid)", sub.Origin)
	assert.Equal(t, "cc_1.0.orig.tar.xz", sub.TreeFile)
	assert.Equal(t, []string{"cc_1.0-1.debian.tar.xz/debian/patches/a.patch", treePtch}, []string{sub.Patches[0].Name, sub.Patches[1].Name})
	require.Len(t, d.Substitutes, 1)
}

// spdxDoc is the parts of an SPDX JSON document the tests look at.
type spdxDoc struct {
	Namespace    string `json:"documentNamespace"`
	CreationInfo struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
		Comment  string   `json:"comment"`
	} `json:"creationInfo"`
	Packages []struct {
		ID        string `json:"SPDXID"`
		Name      string `json:"name"`
		Version   string `json:"versionInfo"`
		Download  string `json:"downloadLocation"`
		License   string `json:"licenseDeclared"`
		Homepage  string `json:"homepage"`
		Comment   string `json:"comment"`
		Source    string `json:"sourceInfo"`
		Checksums []struct {
			Algorithm string `json:"algorithm"`
			Value     string `json:"checksumValue"`
		} `json:"checksums"`
	} `json:"packages"`
	Files []struct {
		ID        string `json:"SPDXID"`
		Name      string `json:"fileName"`
		Checksums []struct {
			Algorithm string `json:"algorithm"`
			Value     string `json:"checksumValue"`
		} `json:"checksums"`
	} `json:"files"`
	Relationships []struct {
		A    string `json:"spdxElementId"`
		Type string `json:"relationshipType"`
		B    string `json:"relatedSpdxElement"`
	} `json:"relationships"`
}

func decodeSPDX(t *testing.T, data []byte) spdxDoc {
	t.Helper()
	var d spdxDoc
	require.NoError(t, json.Unmarshal(data, &d))
	return d
}

func (d spdxDoc) rels() []string {
	var out []string
	for _, r := range d.Relationships {
		out = append(out, r.A+" "+r.Type+" "+r.B)
	}
	return out
}

func (d spdxDoc) pkg(id string) (int, bool) {
	for i, p := range d.Packages {
		if p.ID == id {
			return i, true
		}
	}
	return 0, false
}

// validateSPDX checks data against the SPDX 2.3 JSON schema and, read
// back with the SPDX project's Go library, its element references.
func validateSPDX(t *testing.T, data []byte) {
	t.Helper()
	validateSchema(t, spdxSchema(t), data)
	doc, err := spdxjson.Read(bytes.NewReader(data))
	require.NoError(t, err, "tools-golang reads the document")
	require.NoError(t, spdxlib.ValidateDocument(doc), "every relationship names an element of the document")
	described, err := spdxlib.GetDescribedPackageIDs(doc)
	require.NoError(t, err)
	assert.Len(t, described, 1, "one element described")
}

func TestSPDXValidAndComplete(t *testing.T) {
	tree := fixture(t)
	d, err := New(imageInput(t, tree, "img", subName))
	require.NoError(t, err)
	data, err := d.SPDX()
	require.NoError(t, err)
	validateSPDX(t, data)

	doc := decodeSPDX(t, data)
	assert.Equal(t, "2023-11-14T22:13:20Z", doc.CreationInfo.Created, "SOURCE_DATE_EPOCH")
	assert.Equal(t, []string{"Tool: hadron"}, doc.CreationInfo.Creators)
	sum := sha256.Sum256(nil)
	assert.True(t, strings.HasPrefix(doc.Namespace, NamespacePrefix+"img/linux-amd64-"), doc.Namespace)
	assert.Len(t, strings.TrimPrefix(doc.Namespace, NamespacePrefix+"img/linux-amd64-"), len(hex.EncodeToString(sum[:])))

	rels := doc.rels()
	for _, want := range []string{
		"SPDXRef-DOCUMENT DESCRIBES SPDXRef-Image-img",
		"SPDXRef-Image-img CONTAINS SPDXRef-Package-app",
		"SPDXRef-Image-img CONTAINS SPDXRef-Package-libz",
		"SPDXRef-Package-app DEPENDS_ON SPDXRef-Package-libz",
		"SPDXRef-Package-libz BUILD_DEPENDENCY_OF SPDXRef-Package-app",
		"SPDXRef-Package-cc BUILD_TOOL_OF SPDXRef-Package-app",
		"SPDXRef-Package-cc BUILD_TOOL_OF SPDXRef-Package-libz",
		"SPDXRef-Package-app GENERATED_FROM SPDXRef-Source-app-1",
		"SPDXRef-Package-app GENERATED_FROM SPDXRef-Source-app-2",
		"SPDXRef-Patch-libz-1 PATCH_APPLIED SPDXRef-Package-libz",
		// The substitute: cc is built from its files, whose tree stands
		// for the pinned upstream source, and its patches apply to that tree.
		"SPDXRef-Package-cc GENERATED_FROM SPDXRef-Substitute-cc-1.0-debian-1",
		"SPDXRef-Package-cc GENERATED_FROM SPDXRef-Substitute-cc-1.0-debian-2",
		"SPDXRef-Substitute-cc-1.0-debian-1 VARIANT_OF SPDXRef-Source-cc-1",
		"SPDXRef-SubstitutePatch-cc-1.0-debian-1 PATCH_APPLIED SPDXRef-Substitute-cc-1.0-debian-1",
		"SPDXRef-SubstitutePatch-cc-1.0-debian-2 PATCH_APPLIED SPDXRef-Substitute-cc-1.0-debian-1",
	} {
		assert.Contains(t, rels, want)
	}
	assert.NotContains(t, rels, "SPDXRef-Image-img CONTAINS SPDXRef-Package-cc", "the toolchain is not in the image")
	assert.NotContains(t, rels, "SPDXRef-Package-cc GENERATED_FROM SPDXRef-Source-cc-1", "the substituted upstream was not fetched")

	i, ok := doc.pkg("SPDXRef-Package-app")
	require.True(t, ok)
	app := doc.Packages[i]
	assert.Equal(t, "2.1", app.Version)
	assert.Equal(t, "MIT OR Apache-2.0", app.License)
	assert.Equal(t, appURL, app.Download)
	i, ok = doc.pkg("SPDXRef-Source-app-2")
	require.True(t, ok)
	assert.Equal(t, "git+"+appGit+"@"+appSHA, doc.Packages[i].Download)
	i, ok = doc.pkg("SPDXRef-Source-libz-1")
	require.True(t, ok)
	l256 := sha256.Sum256([]byte("libz"))
	assert.Equal(t, libzURL, doc.Packages[i].Download)
	assert.Equal(t, "SHA256", doc.Packages[i].Checksums[0].Algorithm)
	assert.Equal(t, hex.EncodeToString(l256[:]), doc.Packages[i].Checksums[0].Value)
	i, ok = doc.pkg("SPDXRef-Package-libz")
	require.True(t, ok)
	assert.Equal(t, "https://libz.example.org/", doc.Packages[i].Homepage)

	require.NotEmpty(t, doc.Files)
	p256 := sha256.Sum256(libzPatch)
	assert.Equal(t, "./recipes/libz/patches/fix.patch", doc.Files[0].Name)
	assert.Contains(t, doc.Files[0].Checksums, struct {
		Algorithm string `json:"algorithm"`
		Value     string `json:"checksumValue"`
	}{"SHA256", hex.EncodeToString(p256[:])})
}

// TestSubstituteRecorded: a substitute the build uses is named in the
// SBOM with its origin and its files' URLs and digests; without it, the
// upstream source is what the package is built from.
func TestSubstituteRecorded(t *testing.T) {
	tree := fixture(t)
	with, err := New(imageInput(t, tree, "img", subName))
	require.NoError(t, err)
	data, err := with.SPDX()
	require.NoError(t, err)
	doc := decodeSPDX(t, data)
	i, ok := doc.pkg("SPDXRef-Substitute-cc-1.0-debian-1")
	require.True(t, ok, "the substitute's tree file is a package")
	sub := doc.Packages[i]
	o256 := sha256.Sum256([]byte("orig"))
	assert.Equal(t, debURL, sub.Download)
	assert.Equal(t, hex.EncodeToString(o256[:]), sub.Checksums[0].Value)
	assert.Contains(t, sub.Source, "Declared substitute "+subName)
	assert.Contains(t, sub.Source, "Debian source package cc 1.0-1 (sid)")
	assert.Contains(t, sub.Comment, "the orig lacks the manuals")
	i, ok = doc.pkg("SPDXRef-Source-cc-1")
	require.True(t, ok)
	assert.Equal(t, ccURL, doc.Packages[i].Download, "the pinned upstream is still listed")
	assert.Contains(t, doc.Packages[i].Comment, "not fetched in this build: declared substitute "+subName)

	without, err := New(imageInput(t, tree, "img"))
	require.NoError(t, err)
	data, err = without.SPDX()
	require.NoError(t, err)
	validateSPDX(t, data)
	doc = decodeSPDX(t, data)
	_, ok = doc.pkg("SPDXRef-Substitute-cc-1.0-debian-1")
	assert.False(t, ok, "an unused substitute is not in the SBOM")
	assert.Contains(t, doc.rels(), "SPDXRef-Package-cc GENERATED_FROM SPDXRef-Source-cc-1")
	assert.NotContains(t, string(data), subName)
}

// TestDeterministic: the same input gives the same bytes; another epoch
// another creation time and namespace.
func TestDeterministic(t *testing.T) {
	tree := fixture(t)
	encode := func(in Input) (spdx, cdx []byte) {
		d, err := New(in)
		require.NoError(t, err)
		spdx, err = d.SPDX()
		require.NoError(t, err)
		cdx, err = d.CycloneDX()
		require.NoError(t, err)
		return spdx, cdx
	}
	in := imageInput(t, tree, "img", subName)
	s1, c1 := encode(in)
	// A fresh tree and graph: nothing may depend on map order.
	s2, c2 := encode(imageInput(t, fixture(t), "img", subName))
	assert.Equal(t, string(s1), string(s2))
	assert.Equal(t, string(c1), string(c2))

	in.Epoch++
	s3, c3 := encode(in)
	assert.NotEqual(t, decodeSPDX(t, s1).Namespace, decodeSPDX(t, s3).Namespace)
	assert.Contains(t, string(s3), "2023-11-14T22:13:21Z")
	assert.NotEqual(t, c1, c3)

	in.Epoch--
	in.VCS = VCS{Source: "https://git.example.org/tree.git", Revision: "feedface-dirty"}
	s4, c4 := encode(in)
	assert.Contains(t, decodeSPDX(t, s4).CreationInfo.Comment, "Recipe tree: https://git.example.org/tree.git at feedface-dirty.")
	assert.Contains(t, string(c4), "https://git.example.org/tree.git@feedface-dirty")
}

// TestPackageArtifact: a package target describes the package itself; its
// runtime closure is what it holds.
func TestPackageArtifact(t *testing.T) {
	tree := fixture(t)
	g, err := graph.Resolve(tree, recipe.ArchAMD64, []string{"app"})
	require.NoError(t, err)
	d, err := New(Input{Tree: tree, Graph: g, Artifact: Artifact{Name: "app", Kind: KindPackage, Package: "app"}, Platform: "linux/amd64", Epoch: epoch})
	require.NoError(t, err)
	assert.True(t, d.Package("libz").Installed)
	assert.False(t, d.Package("cc").Installed)
	data, err := d.SPDX()
	require.NoError(t, err)
	validateSPDX(t, data)
	assert.Contains(t, decodeSPDX(t, data).rels(), "SPDXRef-DOCUMENT DESCRIBES SPDXRef-Package-app")
	cdx, err := d.CycloneDX()
	require.NoError(t, err)
	validateSchema(t, cycloneDXSchema(t), cdx)

	_, err = New(Input{Tree: tree, Graph: g, Artifact: Artifact{Name: "x", Kind: KindPackage, Package: "nope"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "package nope is not in the graph")
}

func TestCycloneDXValid(t *testing.T) {
	tree := fixture(t)
	d, err := New(imageInput(t, tree, "img", subName))
	require.NoError(t, err)
	data, err := d.CycloneDX()
	require.NoError(t, err)
	validateSchema(t, cycloneDXSchema(t), data)

	var bom struct {
		Serial     string `json:"serialNumber"`
		Components []struct {
			Ref       string                        `json:"bom-ref"`
			Scope     string                        `json:"scope"`
			Licenses  []struct{ Expression string } `json:"licenses"`
			Externals []struct {
				Type    string `json:"type"`
				URL     string `json:"url"`
				Comment string `json:"comment"`
			} `json:"externalReferences"`
		} `json:"components"`
		Dependencies []struct {
			Ref string   `json:"ref"`
			On  []string `json:"dependsOn"`
		} `json:"dependencies"`
	}
	require.NoError(t, json.Unmarshal(data, &bom))
	assert.Regexp(t, `^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, bom.Serial)
	scopes := map[string]string{}
	var externals []string
	for _, c := range bom.Components {
		scopes[c.Ref] = c.Scope
		for _, e := range c.Externals {
			externals = append(externals, e.Type+" "+e.URL)
		}
	}
	assert.Equal(t, map[string]string{"pkg:generic/app@2.1": "required", "pkg:generic/libz@1.3": "required", "pkg:generic/cc@1.0": "excluded"}, scopes)
	assert.Contains(t, externals, "source-distribution "+debURL, "the substitute's file")
	assert.Contains(t, externals, "vcs "+appGit)
	assert.Contains(t, bom.Dependencies, struct {
		Ref string   `json:"ref"`
		On  []string `json:"dependsOn"`
	}{"hadron:image:img", []string{"pkg:generic/app@2.1", "pkg:generic/libz@1.3"}})
}

// TestIDPart: names that do not fit an SPDX identifier map one to one.
func TestIDPart(t *testing.T) {
	assert.Equal(t, "gtkX2B3", idPart("gtk+3"))
	assert.Equal(t, "libX5Ffoo.1-2", idPart("lib_foo.1-2"))
	assert.NotEqual(t, idPart("a+"), idPart("a_"))
	assert.Equal(t, "pkg:generic/gtk%2B3@1.0~rc1", (&Package{Name: "gtk+3", Version: "1.0~rc1"}).PURL())
}

// TestMiniGolden is the SBOM of images/mini as the offline build makes it
// (the declared substitutes selected), for amd64: review its diff like a
// recipe change. Both encodings are checked against their schemas.
func TestMiniGolden(t *testing.T) {
	tree, err := project.Load(dirfs.New("../.."))
	require.NoError(t, err)
	var subs []string
	for n := range tree.Substitutes {
		subs = append(subs, n)
	}
	d, err := New(imageInput(t, tree, "mini", subs...))
	require.NoError(t, err)
	spdx, err := d.SPDX()
	require.NoError(t, err)
	validateSPDX(t, spdx)
	golden.Assert(t, "mini.spdx.json", spdx)
	cdx, err := d.CycloneDX()
	require.NoError(t, err)
	validateSchema(t, cycloneDXSchema(t), cdx)
	golden.Assert(t, "mini.cdx.json", cdx)

	doc := decodeSPDX(t, spdx)
	for _, want := range []string{
		"SPDXRef-Image-mini CONTAINS SPDXRef-Package-busybox",
		"SPDXRef-Image-mini CONTAINS SPDXRef-Package-xz",
		"SPDXRef-Image-mini CONTAINS SPDXRef-Package-musl",
		"SPDXRef-Package-xz DEPENDS_ON SPDXRef-Package-musl",
		"SPDXRef-Package-gcc BUILD_TOOL_OF SPDXRef-Package-xz",
		"SPDXRef-Package-gcc GENERATED_FROM SPDXRef-Substitute-gcc-14.2.0-debian-1",
	} {
		assert.Contains(t, doc.rels(), want)
	}
}

// TestSPDXSchemaFile: the vendored schema is the file testdata/README.md
// says it is.
func TestSPDXSchemaFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "spdx-schema-2.3.json"))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, "c2e139546ef93597d3b1214d1d452369d0b536af6c6d6500dbd25c582034aa7c", hex.EncodeToString(sum[:]))
}

// TestSchemaCatchesMistakes: the validation used above fails documents
// that break the schema, so a pass means something.
func TestSchemaCatchesMistakes(t *testing.T) {
	tree := fixture(t)
	d, err := New(imageInput(t, tree, "img"))
	require.NoError(t, err)
	data, err := d.SPDX()
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(data, &v))
	delete(v, "documentNamespace")
	v["packages"].([]any)[0].(map[string]any)["primaryPackagePurpose"] = "SPACESHIP"
	assert.Error(t, spdxSchema(t).Validate(v))

	cdx, err := d.CycloneDX()
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(cdx, &v))
	v["components"].([]any)[0].(map[string]any)["scope"] = "sometimes"
	assert.Error(t, cycloneDXSchema(t).Validate(v))
}

func validateSchema(t *testing.T, s *jsonschema.Schema, data []byte) {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	require.NoError(t, s.Validate(v))
}

func spdxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat = true
	data, err := os.ReadFile(filepath.Join("testdata", "spdx-schema-2.3.json"))
	require.NoError(t, err)
	require.NoError(t, c.AddResource("http://spdx.org/rdf/terms/2.3", bytes.NewReader(data)))
	s, err := c.Compile("http://spdx.org/rdf/terms/2.3")
	require.NoError(t, err)
	return s
}

// cycloneDXSchema compiles the CycloneDX 1.6 JSON schema from the
// cyclonedx-go module the encoder comes from (its schema/ folder).
func cycloneDXSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	require.NoError(t, err, "locate the cyclonedx-go module")
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	c := jsonschema.NewCompiler()
	c.AssertFormat = true
	for url, file := range map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schemax.json",
	} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		require.NoError(t, c.AddResource(url, bytes.NewReader(data)))
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	require.NoError(t, err)
	return s
}

// BenchmarkSBOM500 is the SBOM of an image holding every recipe of a
// generated 500-recipe tree (projecttest.Random, seed 1): the graph walk,
// and the walk with each encoding. The tree is loaded and resolved once,
// outside the loop, as a build has it already; `hadron sbom` as a whole
// is BenchmarkSBOMCommand in cmd/hadron.
func BenchmarkSBOM500(b *testing.B) {
	fsys := projecttest.Random(500, 1)
	var names []string
	for n := range fsys {
		if r, ok := strings.CutPrefix(n, "recipes/"); ok {
			names = append(names, strings.TrimSuffix(r, "/recipe.yaml"))
		}
	}
	projecttest.Image(fsys, "all", names...)
	tree, err := project.Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	in := imageInput(b, tree, "all")
	if len(in.Artifact.Contains) != 500 {
		b.Fatalf("image all holds %d recipes, want 500", len(in.Artifact.Contains))
	}
	for _, bc := range []struct {
		name   string
		encode func(*Document) ([]byte, error)
	}{
		{"walk", nil},
		{"spdx", (*Document).SPDX},
		{"cyclonedx", (*Document).CycloneDX},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			var size int
			for b.Loop() {
				d, err := New(in)
				if err != nil {
					b.Fatal(err)
				}
				if bc.encode != nil {
					out, err := bc.encode(d)
					if err != nil {
						b.Fatal(err)
					}
					size = len(out)
				}
			}
			b.ReportMetric(float64(cpu())/float64(b.N), "cpu-ns/op")
			if size > 0 {
				b.ReportMetric(float64(size), "bytes")
			}
		})
	}
}

// cpuTime returns a function that reports the process's user and system
// CPU time since the call: on a machine shared with other builds the
// steadier figure than wall time.
func cpuTime(b *testing.B) func() time.Duration {
	b.Helper()
	now := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := now()
	return func() time.Duration { return now() - start }
}
