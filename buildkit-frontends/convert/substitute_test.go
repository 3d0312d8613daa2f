package convert_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"github.com/hadron-linux/hadron/tests/fixtures/tarball"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The substitute these tests declare: hello 1.0's upstream tarball stands
// in for by a Debian-style orig tarball and a patch carrier.
const (
	substName   = "hello-1.0-alt"
	substDecl   = "vendor-hashes/substitutes/" + substName + ".yaml"
	substOrigin = "Example source package hello 1.0-1"
	substOrig   = "http://deb.example.org/pool/h/hello/hello_1.0.orig.tar.gz"
	substDeb    = "http://deb.example.org/pool/h/hello/hello_1.0-1.debian.tar.gz"
	substPatch  = "debian/patches/greeting.patch"
)

var helloSpec = projecttest.Spec{Name: "hello", Style: recipe.StyleCustom}

// substFile is one file of a substitute: where it is declared to come from
// and its bytes.
type substFile struct {
	url  string
	data []byte
}

// substitution is what a test declares: files, tree, inner and patches
// ({from, path, content of the patch whose sha256 is pinned}).
type substitution struct {
	files   []substFile
	inner   string
	patches [][3]string
	// recipes are the recipes it stands for (default: hello).
	recipes []string
	// local are the patches kept in the tree, {file, content}, applied
	// after patches.
	local [][2]string
}

func sums(data []byte) (string, string) {
	a, b := sha256.Sum256(data), sha512.Sum512(data)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}

// yaml renders the declaration.
func (s substitution) yaml() string {
	var b strings.Builder
	recipes := s.recipes
	if len(recipes) == 0 {
		recipes = []string{"hello"}
	}
	fmt.Fprintf(&b, "name: %s\nrecipes: [%s]\nupstream: %s\norigin: %s\ndiffers: a friendlier greeting\nfiles:\n",
		substName, strings.Join(recipes, ", "), helloSpec.URL(), substOrigin)
	for _, f := range s.files {
		s256, s512 := sums(f.data)
		fmt.Fprintf(&b, "  - url: %s\n    sha256: %s\n    sha512: %s\n    size: %d\n", f.url, s256, s512, len(f.data))
	}
	if s.inner != "" {
		fmt.Fprintf(&b, "inner: %s\n", s.inner)
	}
	if len(s.patches)+len(s.local) > 0 {
		b.WriteString("patches:\n")
	}
	for _, p := range s.patches {
		s256, _ := sums([]byte(p[2]))
		fmt.Fprintf(&b, "  - from: %s\n    path: %s\n    sha256: %s\n    why: test\n", p[0], p[1], s256)
	}
	for _, p := range s.local {
		s256, _ := sums([]byte(p[1]))
		fmt.Fprintf(&b, "  - file: %s\n    sha256: %s\n    why: test\n", p[0], s256)
	}
	return b.String()
}

func tgz(t *testing.T, files map[string]string) []byte {
	return tarball.Gzip(t, files, time.Unix(1600000000, 0))
}

const greetingPatch = `Make the greeting friendlier.
--- a/greeting.txt
+++ b/greeting.txt
@@ -1 +1 @@
-hello
+hello from the substitute
`

// localPatch is where the tests keep a patch in the tree.
const localPatch = "vendor-hashes/substitutes/patches/hello-readme.patch"

const readmePatch = `Say where the tree comes from.
--- a/README
+++ b/README
@@ -1 +1 @@
-read me
+read me: made by a substitute
`

// withLocal is standard plus the patch kept in the tree, localPatch.
func withLocal(t *testing.T) substitution {
	s := standard(t)
	s.local = [][2]string{{localPatch, readmePatch}}
	return s
}

// standard is a substitute with a tree and one patch.
func standard(t *testing.T) substitution {
	return substitution{
		files: []substFile{
			{substOrig, tgz(t, map[string]string{"hello-1.0/greeting.txt": "hello\n", "hello-1.0/README": "read me\n"})},
			{substDeb, tgz(t, map[string]string{substPatch: greetingPatch, "debian/changelog": "hello (1.0-1) unstable\n"})},
		},
		patches: [][3]string{{path.Base(substDeb), substPatch, greetingPatch}},
	}
}

// substTree is projecttest's hello recipe (with its lock) plus the
// declaration of s.
func substTree(s substitution) fstest.MapFS {
	fsys := projecttest.Tree(helloSpec)
	fsys[substDecl] = &fstest.MapFile{Data: []byte(s.yaml())}
	for _, p := range s.local {
		fsys[p[0]] = &fstest.MapFile{Data: []byte(p[1])}
	}
	return fsys
}

// convertHello converts the package hello of fsys and returns its vertices
// and the converter.
func convertHello(t *testing.T, fsys fstest.MapFS, o convert.Options) ([]vertex, *convert.Converter) {
	t.Helper()
	return convertPackage(t, fsys, o, "hello")
}

// convertPackage converts the package name of fsys and returns its
// vertices and the converter.
func convertPackage(t *testing.T, fsys fstest.MapFS, o convert.Options, name string) ([]vertex, *convert.Converter) {
	t.Helper()
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	c, err := convert.New(tree, o, name)
	require.NoError(t, err)
	st, err := c.Target(name)
	require.NoError(t, err)
	def, err := st.Marshal(context.Background(), llb.LinuxAmd64, llb.LocalUniqueID(testLocalID))
	require.NoError(t, err)
	var out []vertex
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		d := digest.FromBytes(dt)
		out = append(out, vertex{name: def.Metadata[d].Description["llb.customname"], digest: d, op: &op})
	}
	return out, c
}

// httpSources returns the http(s) source ops by identifier.
func httpSources(vs []vertex) map[string]vertex {
	out := map[string]vertex{}
	for _, v := range vs {
		if src, ok := v.op.Op.(*pb.Op_Source); ok && (strings.HasPrefix(src.Source.Identifier, "http://") || strings.HasPrefix(src.Source.Identifier, "https://")) {
			out[src.Source.Identifier] = v
		}
	}
	return out
}

func vertexNamed(t *testing.T, vs []vertex, name string) vertex {
	t.Helper()
	var all []string
	for _, v := range vs {
		if v.name == name {
			return v
		}
		all = append(all, v.name)
	}
	require.Failf(t, "no vertex", "no vertex named %q among %q", name, all)
	return vertex{}
}

const substVertex = "substitute " + substName + " for https://example.org/src/hello-1.0.tar.gz (" + substOrigin + ")"

func TestSubstituteLLB(t *testing.T) {
	s := standard(t)
	origSum, _ := sums(s.files[0].data)
	debSum, _ := sums(s.files[1].data)
	mirrored := map[string]string{"http://deb.example.org/pool/": "http://127.0.0.1:9/debian/"}
	tests := []struct {
		name    string
		mirrors map[string]string
		fetched []string // the URLs fetched, in file order
	}{
		{"from the declared URLs", nil, []string{substOrig, substDeb}},
		{"through a mirror", mirrored, []string{"http://127.0.0.1:9/debian/h/hello/hello_1.0.orig.tar.gz", "http://127.0.0.1:9/debian/h/hello/hello_1.0-1.debian.tar.gz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			o.Mirrors = tt.mirrors
			o.Substitutes = []string{substName}
			vs, c := convertHello(t, substTree(s), o)

			// (a) one vertex makes the tree, named for what it stands for.
			sv := vertexNamed(t, vs, substVertex)
			ex, ok := sv.op.Op.(*pb.Op_Exec)
			require.True(t, ok, "%s is an exec", substVertex)
			assert.Equal(t, pb.NetMode_NONE, ex.Exec.Network)
			assert.Contains(t, ex.Exec.Meta.Env, "SOURCE_DATE_EPOCH=1700000000")
			mounts := map[string]*pb.Mount{}
			for _, m := range ex.Exec.Mounts {
				mounts[m.Dest] = m
			}
			for _, d := range []string{"/subst/0", "/subst/1"} {
				require.Contains(t, mounts, d)
				assert.True(t, mounts[d].Readonly, "%s is read-only", d)
			}
			require.Contains(t, mounts, "/out")
			script := ex.Exec.Meta.Args[len(ex.Exec.Meta.Args)-1]
			assert.Contains(t, script, "substitute "+substName+" for recipe hello (https://example.org/src/hello-1.0.tar.gz): $*")
			assert.Contains(t, script, "/subst/0/hello_1.0.orig.tar.gz")
			assert.Contains(t, script, "/subst/1/hello_1.0-1.debian.tar.gz")

			// (b) the substitute's files are fetched, pinned; upstream is not.
			got := httpSources(vs)
			assert.ElementsMatch(t, tt.fetched, keys(got))
			assert.NotContains(t, got, helloSpec.URL())
			for i, sum := range []string{origSum, debSum} {
				src := got[tt.fetched[i]].op.Op.(*pb.Op_Source).Source
				assert.Equal(t, "sha256:"+sum, src.Attrs[pb.AttrHTTPChecksum])
				assert.Equal(t, path.Base(s.files[i].url), src.Attrs[pb.AttrHTTPFilename])
				assert.Equal(t, "fetch "+s.files[i].url+" (substitute "+substName+")", got[tt.fetched[i]].name)
				// each file is mounted into the substitute step
				idx := mounts[fmt.Sprintf("/subst/%d", i)].Input
				assert.Equal(t, got[tt.fetched[i]].digest, digest.Digest(sv.op.Inputs[idx].Digest))
			}

			// The substitute's tree is the unpack step's /build: not
			// copied, only what the step changes is stored.
			uv := vertexNamed(t, vs, "hello: unpack")
			ue := uv.op.Op.(*pb.Op_Exec).Exec
			assert.NotContains(t, ue.Meta.Args[len(ue.Meta.Args)-1], "cp -a")
			var build *pb.Mount
			for _, m := range ue.Mounts {
				assert.NotEqual(t, "/src/0", m.Dest, "the tree is not mounted to be copied")
				if m.Dest == "/build" {
					build = m
				}
			}
			require.NotNil(t, build, "unpack mounts /build")
			require.GreaterOrEqual(t, build.Input, int64(0), "/build has a lower layer")
			assert.Equal(t, sv.digest, digest.Digest(uv.op.Inputs[build.Input].Digest), "/build starts as the substitute's tree")

			// (c) the converter's sources say which substitute they are for.
			srcs := c.Sources()
			require.Len(t, srcs, 2)
			for i, sr := range srcs {
				require.NotNil(t, sr.Substitute, "source %d", i)
				assert.Equal(t, substName, sr.Substitute.Name)
				assert.Equal(t, substDecl, sr.Substitute.File)
				assert.Equal(t, "hello", sr.Recipe)
				assert.Equal(t, helloSpec.URL(), sr.URL, "the URL is the upstream one the file stands for")
				assert.Equal(t, tt.fetched[i], sr.Fetched)
			}
			assert.Equal(t, origSum, srcs[0].SHA256)
			assert.Equal(t, debSum, srcs[1].SHA256)
		})
	}
}

// TestSubstituteLocalPatchLLB: a patch kept in the tree reaches the
// substitute step from the build context, only that file, read-only, and
// the script checks its digest before it applies it; without one, the
// step mounts nothing from the context.
func TestSubstituteLocalPatchLLB(t *testing.T) {
	readmeSum, _ := sums([]byte(readmePatch))
	for name, session := range map[string]string{"no session": "", "a session": "sess-1"} {
		t.Run(name, func(t *testing.T) {
			o := opts()
			o.Substitutes = []string{substName}
			o.SessionID = session
			vs, _ := convertHello(t, substTree(withLocal(t)), o)
			sv := vertexNamed(t, vs, substVertex)
			ex := sv.op.Op.(*pb.Op_Exec).Exec
			var mount *pb.Mount
			for _, m := range ex.Mounts {
				if m.Dest == "/subst/tree" {
					mount = m
				}
			}
			require.NotNil(t, mount, "the tree's patches are mounted")
			assert.True(t, mount.Readonly)
			assert.Empty(t, mount.Selector, "at their paths from the tree root")

			lv := vertexNamed(t, vs, "substitute "+substName+" patches")
			assert.Equal(t, lv.digest, digest.Digest(sv.op.Inputs[mount.Input].Digest), "/subst/tree is the context local")
			src := lv.op.Op.(*pb.Op_Source).Source
			assert.Equal(t, "local://context", src.Identifier)
			assert.Equal(t, `["`+localPatch+`"]`, src.Attrs[pb.AttrIncludePatterns], "only the patch")
			assert.Equal(t, "context:"+substDecl, src.Attrs[pb.AttrSharedKeyHint])
			if session == "" {
				assert.NotContains(t, src.Attrs, pb.AttrLocalSessionID)
			} else {
				assert.Equal(t, session, src.Attrs[pb.AttrLocalSessionID])
			}

			script := ex.Meta.Args[2]
			cp := "cp /subst/tree/" + localPatch + " /work/1.patch 2>/work/err || fail 'patch " + localPatch + " not found in the build context'\n"
			check := "got=$(sha256sum /work/1.patch | cut -d' ' -f1)\n" +
				"[ \"$got\" = " + readmeSum + " ] || fail 'patch " + localPatch + ": expected sha256 " + readmeSum + ", got '\"$got\"\n"
			apply := "patch -p1 -N -s -d /out </work/1.patch"
			require.Contains(t, script, cp)
			require.Contains(t, script, check)
			assert.Less(t, strings.Index(script, cp), strings.Index(script, check), "copied, then checked")
			assert.Less(t, strings.Index(script, check), strings.Index(script, apply), "checked, then applied")
			assert.Less(t, strings.Index(script, "/work/0.patch"), strings.Index(script, cp), "in declaration order")
		})
	}

	o := opts()
	o.Substitutes = []string{substName}
	vs, _ := convertHello(t, substTree(standard(t)), o)
	for _, v := range vs {
		if src, ok := v.op.Op.(*pb.Op_Source); ok {
			assert.NotEqual(t, "local://"+convert.DefaultContext, src.Source.Identifier, "no patch kept in the tree, nothing from the context: %s", v.name)
		}
	}
	for _, m := range vertexNamed(t, vs, substVertex).op.Op.(*pb.Op_Exec).Exec.Mounts {
		assert.NotEqual(t, "/subst/tree", m.Dest)
	}
}

// addHelloDoc adds the recipe hello-doc to fsys: built from hello's own
// upstream tarball (like linux-headers from the kernel's), after hello.
func addHelloDoc(fsys fstest.MapFS) {
	spec := projecttest.Spec{Name: "hello-doc", Build: []string{"hello"}, Style: recipe.StyleCustom}
	fsys["recipes/hello-doc/recipe.yaml"] = &fstest.MapFile{Data: []byte(
		strings.Replace(string(spec.RecipeYAML()), "${name}-", "hello-", 1))}
	fsys["vendor-hashes/hello-doc.lock"] = &fstest.MapFile{Data: []byte(
		strings.Replace(string(helloSpec.LockYAML()), "recipe: hello\n", "recipe: hello-doc\n", 1))}
}

// TestSubstituteRecipes: a substitute stands in for its URL in exactly the
// recipes it lists, each with its own step named for that recipe; a
// recipe it does not list fetches the URL upstream, pinned by its lock.
func TestSubstituteRecipes(t *testing.T) {
	tests := []struct {
		name       string
		recipes    []string
		substitute []string // the recipes built from the substitute
	}{
		{"listed for one of two", []string{"hello"}, []string{"hello"}},
		{"listed for both", []string{"hello", "hello-doc"}, []string{"hello", "hello-doc"}},
		{"listed for the other only", []string{"hello-doc"}, []string{"hello-doc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := standard(t)
			s.recipes = tt.recipes
			fsys := substTree(s)
			addHelloDoc(fsys)
			o := opts()
			o.Substitutes = []string{substName}
			vs, c := convertPackage(t, fsys, o, "hello-doc")

			names := map[string]bool{}
			for _, v := range vs {
				names[v.name] = true
			}
			byRecipe := map[string]bool{}
			for _, sr := range c.Sources() {
				if sr.Substitute != nil {
					byRecipe[sr.Recipe] = true
					assert.Equal(t, helloSpec.URL(), sr.URL)
					continue
				}
				assert.Equal(t, helloSpec.URL(), sr.Fetched, "%s fetches upstream", sr.Recipe)
				assert.NotContains(t, tt.substitute, sr.Recipe)
			}
			assert.ElementsMatch(t, tt.substitute, keys(byRecipe))
			for _, r := range []string{"hello", "hello-doc"} {
				vertexName := "substitute " + substName + " for " + helloSpec.URL() + " (" + substOrigin + ")"
				if !slices.Contains(tt.substitute, r) {
					assert.True(t, names[r+": fetch "+helloSpec.URL()], "%s is not listed: it fetches upstream", r)
					continue
				}
				assert.False(t, names[r+": fetch "+helloSpec.URL()], "%s does not fetch upstream", r)
				script := vertexNamed(t, vs, vertexName).op.Op.(*pb.Op_Exec).Exec.Meta.Args[2]
				assert.Contains(t, script, "substitute "+substName+" for "+phrase(tt.substitute)+" ("+helloSpec.URL()+"): $*", "failures name the recipes it stands for")
				assert.Contains(t, script, "using "+strings.Join(tt.substitute, ", ")+": "+helloSpec.URL()+" is substituted by "+substName)
			}
			assert.NotContains(t, httpSources(vs), "https://example.org/src/hello-doc-1.0.tar.gz", "hello-doc's source is hello's")
			fetches := 0
			for _, v := range vs {
				if src, ok := v.op.Op.(*pb.Op_Source); ok && src.Source.Identifier == substOrig {
					fetches++
				}
			}
			assert.Equal(t, 1, fetches, "a substitute's file is one vertex, whichever recipes use it")
		})
	}
}

// TestSubstituteNotSelected: a declared substitute is used only when the
// build names it.
func TestSubstituteNotSelected(t *testing.T) {
	vs, c := convertHello(t, substTree(standard(t)), opts())
	got := httpSources(vs)
	assert.Equal(t, []string{helloSpec.URL()}, keys(got))
	h1 := sha256.Sum256([]byte(helloSpec.URL())) // projecttest's lock
	assert.Equal(t, "sha256:"+hex.EncodeToString(h1[:]), got[helloSpec.URL()].op.Op.(*pb.Op_Source).Source.Attrs[pb.AttrHTTPChecksum])
	for _, v := range vs {
		assert.NotContains(t, v.name, "substitute")
	}
	require.Len(t, c.Sources(), 1)
	assert.Nil(t, c.Sources()[0].Substitute)
	assert.Equal(t, helloSpec.URL(), c.Sources()[0].Fetched)
}

func TestSubstituteUnknown(t *testing.T) {
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		names   []string
		wantErr string
	}{
		{"typo", substTree(standard(t)), []string{"hello-1.0-atl"},
			"unknown substitute \"hello-1.0-atl\"; did you mean `hello-1.0-alt`? (declared: hello-1.0-alt)"},
		{"none declared", projecttest.Tree(helloSpec), []string{substName},
			`unknown substitute "hello-1.0-alt" (none are declared in vendor-hashes/substitutes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := project.Load(tt.fsys)
			require.NoError(t, err)
			o := opts()
			o.Substitutes = tt.names
			_, err = convert.New(tree, o, "hello")
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

// TestSubstituteScript runs the substitute step's script on this machine,
// with its /subst, /work and /out folders moved below a temporary folder:
// the tree is unpacked (from an inner tarball when declared), patches are
// checked and applied, patched files get SOURCE_DATE_EPOCH, and every
// failure names the substitute, the recipe and the upstream URL.
func TestSubstituteScript(t *testing.T) {
	for _, tool := range []string{"sh", "tar", "gzip", "patch", "sha256sum", "find", "touch", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s on PATH: %v", tool, err)
		}
	}
	const prefix = "substitute " + substName + " for recipe hello (https://example.org/src/hello-1.0.tar.gz): "
	withInner := func(t *testing.T, inner string) substitution {
		s := standard(t)
		wrapped := tgz(t, map[string]string{"hello-1.0/greeting.txt": "hello\n", "hello-1.0/README": "read me\n"})
		s.files[0].data = tgz(t, map[string]string{"hello_1.0/hello-1.0.tar.gz": string(wrapped), "hello_1.0/debian/control": "x\n"})
		s.inner = inner
		return s
	}
	tests := []struct {
		name  string
		subst func(t *testing.T) substitution
		// context, when set, replaces the content of the build context's
		// patches (file to content; "" leaves a file out).
		context map[string]string
		wantErr string // "" for success
	}{
		{"tree and patch", standard, nil, ""},
		{"a patch kept in the tree", withLocal, nil, ""},
		{"a patch kept in the tree differs from its pin", withLocal, map[string]string{localPatch: readmePatch + " "},
			"patch " + localPatch + ": expected sha256 "},
		{"a patch kept in the tree is not in the build context", withLocal, map[string]string{localPatch: ""},
			prefix + "patch " + localPatch + " not found in the build context"},
		{"inner tarball", func(t *testing.T) substitution { return withInner(t, "hello_1.0/hello-1.0.tar.gz") }, nil, ""},
		{"no patches", func(t *testing.T) substitution {
			s := standard(t)
			s.patches = nil
			return s
		}, nil, ""},
		{"inner tarball missing", func(t *testing.T) substitution { return withInner(t, "hello_1.0/nope.tar.gz") }, nil,
			prefix + "inner tarball hello_1.0/nope.tar.gz not found in hello_1.0.orig.tar.gz"},
		{"patch not in its file", func(t *testing.T) substitution {
			s := standard(t)
			s.patches[0][1] = "debian/patches/missing.patch"
			return s
		}, nil, prefix + "patch debian/patches/missing.patch not found in hello_1.0-1.debian.tar.gz"},
		{"patch differs from its pin", func(t *testing.T) substitution {
			s := standard(t)
			s.patches[0][2] = greetingPatch + " "
			return s
		}, nil, "patch " + substPatch + " from hello_1.0-1.debian.tar.gz: expected sha256 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.subst(t)
			o := opts()
			o.Substitutes = []string{substName}
			vs, _ := convertHello(t, substTree(s), o)
			args := vertexNamed(t, vs, substVertex).op.Op.(*pb.Op_Exec).Exec.Meta.Args
			require.Equal(t, []string{"/bin/sh", "-c"}, args[:2])

			root := t.TempDir()
			for i, f := range s.files {
				p := filepath.Join(root, "subst", fmt.Sprint(i), path.Base(f.url))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, f.data, 0o644))
			}
			for _, p := range s.local {
				content, ok := tt.context[p[0]]
				if !ok {
					content = p[1]
				}
				if content == "" {
					continue
				}
				f := filepath.Join(root, "subst", "tree", filepath.FromSlash(p[0]))
				require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
				require.NoError(t, os.WriteFile(f, []byte(content), 0o644))
			}
			for _, d := range []string{"work", "out"} {
				require.NoError(t, os.Mkdir(filepath.Join(root, d), 0o755))
			}
			script := strings.NewReplacer("/subst/", root+"/subst/", "/work/", root+"/work/", "/out", root+"/out").Replace(args[2])
			cmd := exec.Command("sh", "-c", script)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "SOURCE_DATE_EPOCH=1700000000"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tt.wantErr != "" {
				require.Error(t, err, "stdout:\n%s", stdout.String())
				assert.Contains(t, stderr.String(), tt.wantErr)
				if !strings.HasPrefix(tt.wantErr, prefix) {
					assert.Contains(t, stderr.String(), prefix+tt.wantErr)
				}
				return
			}
			require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stdout.String(), "using hello: https://example.org/src/hello-1.0.tar.gz is substituted by "+substName+" ("+substOrigin+"; "+substDecl+")")
			out := filepath.Join(root, "out")
			readme, err := os.ReadFile(filepath.Join(out, "README"))
			require.NoError(t, err, "the top folder is stripped")
			if len(s.local) > 0 {
				assert.Contains(t, stdout.String(), "applying "+localPatch)
				assert.Equal(t, "read me: made by a substitute\n", string(readme), "the patch kept in the tree is applied")
				return
			}
			assert.Equal(t, "read me\n", string(readme))
			greeting, err := os.ReadFile(filepath.Join(out, "greeting.txt"))
			require.NoError(t, err)
			st, err := os.Stat(filepath.Join(out, "greeting.txt"))
			require.NoError(t, err)
			if len(s.patches) == 0 {
				assert.Equal(t, "hello\n", string(greeting))
				assert.Equal(t, int64(1600000000), st.ModTime().Unix(), "unpatched files keep their time")
				return
			}
			assert.Contains(t, stdout.String(), "applying "+substPatch)
			assert.Equal(t, "hello from the substitute\n", string(greeting))
			assert.Equal(t, int64(1700000000), st.ModTime().Unix(), "a patched file gets SOURCE_DATE_EPOCH")
			st, err = os.Stat(filepath.Join(out, "README"))
			require.NoError(t, err)
			assert.Equal(t, int64(1600000000), st.ModTime().Unix(), "an untouched file keeps its time")
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			assert.Equal(t, []string{"README", "greeting.txt"}, names, "nothing but the tree in /out")
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// phrase is how a substitute step's failures list its recipes.
func phrase(recipes []string) string {
	if len(recipes) == 1 {
		return "recipe " + recipes[0]
	}
	return "recipes " + strings.Join(recipes, ", ")
}
