package convert_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/golden"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/project/projecttest"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const repoRoot = "../.."

// repoFS is the real project tree (recipes, locks, images) as an fs.FS.
func repoFS(t testing.TB) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for _, root := range []string{"recipes", "toolchain", "kernel", "vendor-hashes", "images"} {
		base := filepath.Join(repoRoot, root)
		if _, err := os.Stat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".lock") && !strings.HasSuffix(p, ".config") &&
				!strings.Contains(p, "/patches/") && !strings.Contains(p, "/files/") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, p)
			m[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
			return nil
		})
		require.NoError(t, err)
	}
	return m
}

func opts() convert.Options {
	return convert.Options{
		Arch: recipe.ArchAMD64,
		Settings: convert.Settings{
			Stage0:          "example.invalid/stage0@sha256:" + strings.Repeat("a", 64),
			SourceDateEpoch: 1700000000,
		},
	}
}

// roots are the recipes target needs resolved; none (the whole tree) for
// a name that does not parse, which the conversion then reports.
func roots(t testing.TB, tree *project.Tree, name string) []string {
	t.Helper()
	tg, err := target.Parse(name)
	if err != nil {
		return nil
	}
	return tg.Roots(tree.Images)
}

// testLocalID is the unique id of local sources in the tests' definitions:
// llb gives each Marshal a random one otherwise, and every step that runs
// the hadron tools (an image's and a package's ELF gates among them) would
// get a new digest on every marshal.
const testLocalID = "convert-test"

// vertex is one LLB op as the golden file shows it.
type vertex struct {
	name   string
	digest digest.Digest
	op     *pb.Op
	// ignoreCache is set for steps that always run.
	ignoreCache bool
}

func marshal(t testing.TB, fsys fstest.MapFS, target string, o convert.Options) []vertex {
	t.Helper()
	tree, err := project.Load(fsys)
	require.NoError(t, err)
	c, err := convert.New(tree, o, roots(t, tree, target)...)
	require.NoError(t, err)
	st, err := c.Target(target)
	require.NoError(t, err)
	return marshalState(t, st)
}

// marshalState marshals st for linux/amd64 and returns its vertices, the
// target's own (the last) included.
func marshalState(t testing.TB, st llb.State) []vertex {
	t.Helper()
	def, err := st.Marshal(context.Background(), llb.LinuxAmd64, llb.LocalUniqueID(testLocalID))
	require.NoError(t, err)
	var out []vertex
	for _, dt := range def.Def {
		var op pb.Op
		require.NoError(t, op.UnmarshalVT(dt))
		d := digest.FromBytes(dt)
		name := def.Metadata[d].Description["llb.customname"]
		out = append(out, vertex{name: name, digest: d, op: &op, ignoreCache: def.Metadata[d].IgnoreCache})
	}
	return out
}

func names(vs []vertex) map[string]digest.Digest {
	m := map[string]digest.Digest{}
	for _, v := range vs {
		if v.name != "" {
			m[v.name] = v.digest
		}
	}
	return m
}

// TestMiniGolden pins the whole LLB of the mini image: every vertex name,
// its op kind and the commands of each phase. Regenerate with -update and
// review the diff.
func TestMiniGolden(t *testing.T) {
	golden.Assert(t, "mini.golden", []byte(goldenText(marshal(t, repoFS(t), "mini", opts()))))
}

// goldenText renders vertices one per line (execs with their mounts and
// script), sorted.
func goldenText(vs []vertex) string {
	var lines []string
	for _, v := range vs {
		switch op := v.op.Op.(type) {
		case *pb.Op_Exec:
			var mounts []string
			for _, m := range op.Exec.Mounts {
				ro := ""
				if m.Readonly {
					ro = ",ro"
				}
				if m.MountType == pb.MountType_SECRET {
					ro += ",secret=" + m.SecretOpt.ID
				}
				mounts = append(mounts, fmt.Sprintf("%s%s", m.Dest, ro))
			}
			lines = append(lines, fmt.Sprintf("exec %q net=%s mounts=[%s]\n%s", v.name, op.Exec.Network, strings.Join(mounts, " "), indent(op.Exec.Meta.Args[len(op.Exec.Meta.Args)-1])))
		case *pb.Op_Source:
			lines = append(lines, fmt.Sprintf("source %q %s %v", v.name, op.Source.Identifier, sortedAttrs(op.Source.Attrs)))
		case *pb.Op_Merge:
			lines = append(lines, fmt.Sprintf("merge %q inputs=%d", v.name, len(op.Merge.Inputs)))
		case *pb.Op_File:
			line := fmt.Sprintf("file %q actions=%d", v.name, len(op.File.Actions))
			for _, a := range op.File.Actions {
				// Copies with patterns are the package outputs: show
				// what each takes.
				if cp := a.GetCopy(); cp != nil && len(cp.IncludePatterns)+len(cp.ExcludePatterns) > 0 {
					line += fmt.Sprintf("\n    copy %s -> %s include=%v exclude=%v", cp.Src, cp.Dest, cp.IncludePatterns, cp.ExcludePatterns)
				}
			}
			lines = append(lines, line)
		default:
			lines = append(lines, fmt.Sprintf("other %q", v.name))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

func sortedAttrs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		if k == pb.AttrLocalUniqueID {
			continue // random per marshal unless set
		}
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// TestInvariants checks the properties every build step must have.
func TestInvariants(t *testing.T) {
	vs := marshal(t, repoFS(t), "mini", opts())
	var execs, https int
	for _, v := range vs {
		switch op := v.op.Op.(type) {
		case *pb.Op_Exec:
			execs++
			assert.Equal(t, pb.NetMode_NONE, op.Exec.Network, "%s must run without network", v.name)
			assert.Contains(t, op.Exec.Meta.Env, "SOURCE_DATE_EPOCH=1700000000", v.name)
			assert.NotEmpty(t, v.name, "every exec is named")
		case *pb.Op_Source:
			if strings.HasPrefix(op.Source.Identifier, "https://") {
				https++
				assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, op.Source.Attrs[pb.AttrHTTPChecksum], "%s is pinned", v.name)
			}
		}
	}
	// binutils; gcc, gmp, mpfr, mpc, musl (one fetch for the gcc build's
	// scratch libc and the musl recipe: the same pinned URL is the same
	// vertex); linux-headers; xz and busybox.
	assert.Equal(t, 9, https, "the toolchain's and mini's sources")
	assert.Greater(t, execs, 9)
	n := names(vs)
	for _, want := range []string{"binutils: compile", "gcc: compile", "gcc: install", "linux-headers: install",
		"musl: configure", "musl: compile", "musl: install", "xz: configure", "busybox: install", "mini: assemble image", "mini: finalize"} {
		assert.Contains(t, n, want)
	}
}

// TestDeterministic: the same inputs give the same definition.
func TestDeterministic(t *testing.T) {
	fsys := repoFS(t)
	a := marshal(t, fsys, "mini", opts())
	for i := 0; i < 5; i++ {
		b := marshal(t, fsys, "mini", opts())
		require.Equal(t, names(a), names(b))
	}
}

// beforeAfter marshals mini from the real tree, then again with one edit in
// file, and returns the vertex digests by name of both.
func beforeAfter(t *testing.T, file, old, new string) (before, after map[string]digest.Digest) {
	t.Helper()
	fsys := repoFS(t)
	before = names(marshal(t, fsys, "mini", opts()))
	edited := fstest.MapFS{}
	for k, v := range fsys {
		edited[k] = v
	}
	text := string(fsys[file].Data)
	require.Contains(t, text, old)
	edited[file] = &fstest.MapFile{Data: []byte(strings.Replace(text, old, new, 1))}
	return before, names(marshal(t, edited, "mini", opts()))
}

// TestLeafChangeIsLocal: editing xz changes only xz's vertices and the image
// assembly; musl and busybox keep their digests (so BuildKit reuses them).
func TestLeafChangeIsLocal(t *testing.T) {
	before, after := beforeAfter(t, "recipes/xz/recipe.yaml", "- --disable-doc", "- --disable-doc\n    - --disable-xzdec")
	changed := map[string]bool{}
	for n, d := range before {
		if after[n] != d {
			changed[n] = true
		}
	}
	for n := range changed {
		assert.True(t, strings.HasPrefix(n, "xz: ") || strings.HasPrefix(n, "mini: "), "unexpected change in %q", n)
	}
	assert.True(t, changed["xz: configure"])
	assert.True(t, changed["mini: assemble image"])
	assert.False(t, changed["musl: install"])
	assert.False(t, changed["busybox: install"])
}

// TestLibcChangeRebuildsDependents: editing musl changes every package
// built against it.
func TestLibcChangeRebuildsDependents(t *testing.T) {
	before, after := beforeAfter(t, "toolchain/musl/recipe.yaml", "make -j\"$JOBS\"", "make -j\"$JOBS\" V=1")
	for _, n := range []string{"musl: compile", "xz: configure", "busybox: compile", "mini: assemble image"} {
		assert.NotEqual(t, before[n], after[n], n)
	}
	assert.Equal(t, before["musl: configure"], after["musl: configure"])
	assert.Equal(t, before["gcc: install"], after["gcc: install"], "the toolchain does not depend on the musl package")
}

// TestToolchainChangeRebuildsEverything: editing the compiler changes every
// package, musl included; the toolchain's own binutils stays.
func TestToolchainChangeRebuildsEverything(t *testing.T) {
	before, after := beforeAfter(t, "toolchain/gcc/recipe.yaml", "--with-pkgversion=Hadron", "--with-pkgversion=Hadron-test")
	for _, n := range []string{"gcc: configure", "musl: configure", "linux-headers: install", "xz: configure", "busybox: compile", "mini: assemble image"} {
		assert.NotEqual(t, before[n], after[n], n)
	}
	assert.Equal(t, before["binutils: install"], after["binutils: install"])
}

// TestToolchainEnvironment: host recipes build with stage 0's gcc and see
// the host recipes they need at /toolchain; packages build with the cross
// toolchain mounted at /toolchain, their build dependencies at /sysroot.
func TestToolchainEnvironment(t *testing.T) {
	vs := marshal(t, repoFS(t), "mini", opts())
	execs := map[string]*pb.ExecOp{}
	for _, v := range vs {
		if op, ok := v.op.Op.(*pb.Op_Exec); ok {
			execs[v.name] = op.Exec
		}
	}
	mounts := func(e *pb.ExecOp) map[string]bool {
		m := map[string]bool{}
		for _, mt := range e.Mounts {
			m[mt.Dest] = true
		}
		return m
	}
	bin, gcc, xz := execs["binutils: compile"], execs["gcc: compile"], execs["xz: compile"]
	require.NotNil(t, bin)
	require.NotNil(t, gcc)
	require.NotNil(t, xz)
	assert.Contains(t, bin.Meta.Env, "CC=gcc")
	assert.False(t, mounts(bin)["/toolchain"], "binutils needs no toolchain")
	assert.Contains(t, gcc.Meta.Env, "CC=gcc")
	assert.Contains(t, gcc.Meta.Env, "PATH=/toolchain/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	assert.True(t, mounts(gcc)["/toolchain"], "gcc finds binutils at /toolchain")
	assert.False(t, mounts(gcc)["/sysroot"])
	assert.Contains(t, xz.Meta.Env, "CC=x86_64-hadron-linux-musl-gcc")
	assert.Contains(t, xz.Meta.Env, "CROSS_COMPILE=x86_64-hadron-linux-musl-")
	assert.True(t, mounts(xz)["/toolchain"])
	assert.True(t, mounts(xz)["/sysroot"], "musl is in xz's sysroot")
}

func BenchmarkConvertMini(b *testing.B) {
	fsys := repoFS(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		marshal(b, fsys, "mini", opts())
	}
}

// BenchmarkLoadResolveMarshal500 is the whole planning path for a generated
// 500-recipe tree: load and validate every file, resolve the graph, convert
// every recipe to LLB and marshal one definition holding all of them.
func BenchmarkLoadResolveMarshal500(b *testing.B) {
	fsys := projecttest.Random(500, 1)
	b.ReportAllocs()
	for b.Loop() {
		tree, err := project.Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		c, err := convert.New(tree, opts())
		if err != nil {
			b.Fatal(err)
		}
		var layers []llb.State
		for _, n := range tree.Names() {
			st, err := c.Package(n)
			if err != nil {
				b.Fatal(err)
			}
			layers = append(layers, st)
		}
		if _, err := llb.Merge(layers).Marshal(context.Background(), llb.LinuxAmd64); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInstallStripsPackagesNotTheToolchain: every package's install step
// strips its ELF executables and shared libraries with the cross
// toolchain's strip; the toolchain's own (host recipes) are left alone.
func TestInstallStripsPackagesNotTheToolchain(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range marshal(t, repoFS(t), "mini", opts()) {
		name, ok := strings.CutSuffix(v.name, ": install")
		if !ok || v.op.GetExec() == nil {
			continue
		}
		script := strings.Join(v.op.GetExec().GetMeta().GetArgs(), " ")
		strips := strings.Contains(script, `"$STRIP" --strip-unneeded`)
		seen[name] = strips
	}
	for name, want := range map[string]bool{"musl": true, "busybox": true, "xz": true, "gcc": false, "binutils": false} {
		got, ok := seen[name]
		require.True(t, ok, "no install step for %s", name)
		assert.Equal(t, want, got, "%s strips its install", name)
	}
}

// TestBaseGolden pins the LLB of images/base (systemd, util-linux,
// busybox on musl): the systemd recipe's meson options, the cross files
// mount and every package's outputs. Regenerate with -update and review.
func TestBaseGolden(t *testing.T) {
	golden.Assert(t, "base.golden", []byte(goldenText(marshal(t, repoFS(t), "base", opts()))))
}
