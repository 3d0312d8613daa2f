// Package e2e builds Hadron images through a real local buildkitd from
// pinned upstream sources (served by a loopback mirror) on a stage-0 image
// made locally from Debian packages. Gated by HADRON_E2E=1.
package e2e

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/frontend"
	"github.com/hadron-linux/hadron/buildkit-frontends/solve"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/tests/harness"
	"github.com/hadron-linux/hadron/toolchain/elfcheck"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tonistiigi/fsutil"
)

// epoch is SOURCE_DATE_EPOCH of every e2e build: 1700000000, or
// $HADRON_E2E_EPOCH (e.g. 0, `hadron build`'s default, to reuse a cache
// that `make build` or `hadron build` filled; every step's cache key holds
// the epoch).
var epoch = e2eEpoch()

func e2eEpoch() int64 {
	s := os.Getenv("HADRON_E2E_EPOCH")
	if s == "" {
		return 1700000000
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		panic(fmt.Sprintf("HADRON_E2E_EPOCH=%q: want a non-negative Unix time", s))
	}
	return n
}

// env is what every e2e test needs: an engine, a stage-0 image, mirrors
// and the directory holding a static hadron binary, which the ELF gates of
// every image and package run (solve.Request.ToolsDir).
type env struct {
	addr     string
	registry string
	stage0   string
	mirrors  map[string]string
	tools    string
	client   *client.Client
}

var (
	envOnce sync.Once
	shared  env
)

func setup(t *testing.T) env {
	t.Helper()
	harness.Require(t)
	envOnce.Do(func() {
		reg := harness.StartRegistry(t)
		shared.registry = reg
		shared.addr = harness.StartEngine(t)
		shared.stage0 = harness.Stage0(t, reg)
		shared.mirrors = harness.SourceMirror(t)
		shared.tools = buildFrontendBinaries(t)
	})
	require.NotEmpty(t, shared.addr, "harness setup failed in an earlier test")
	c, err := client.New(context.Background(), shared.addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	e := shared
	e.client = c
	return e
}

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Shutdown()
	os.Exit(code)
}

// repoRoot is the project tree the tests build.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("../..")
	require.NoError(t, err)
	return abs
}

func (e env) request(dir, target string) solve.Request {
	opts := frontend.Options{Target: target}
	opts.Stage0 = e.stage0
	opts.SourceDateEpoch = epoch
	opts.Mirrors = e.mirrors
	opts.Substitutes = harness.Substitutes
	return solve.Request{
		Dir:         dir,
		Options:     opts,
		Progress:    "plain",
		ProgressOut: testWriter{},
		ToolsDir:    e.tools,
	}
}

// locals are the local sources a plan of a tree at dir, solved directly
// (not through solve.Build), reads: the tree and the hadron binary its ELF
// gates run.
func (e env) locals(t *testing.T, dir string) map[string]fsutil.FS {
	t.Helper()
	return map[string]fsutil.FS{convert.DefaultContext: mustFS(t, dir), convert.DefaultToolsContext: mustFS(t, e.tools)}
}

// platformsOf parses OCI platform specs ("linux/arm64").
func platformsOf(t *testing.T, specs ...string) []ocispecs.Platform {
	t.Helper()
	ps, err := frontend.ParsePlatforms(specs)
	require.NoError(t, err)
	return ps
}

// assertELFClean runs the ELF hygiene gate on an exported root
// filesystem: musl loader, right machine, every DT_NEEDED inside, no glibc
// symbol versions, no build paths in RPATH/RUNPATH.
func assertELFClean(t *testing.T, root string, arch recipe.Arch) {
	t.Helper()
	rep, err := elfcheck.Check(os.DirFS(root), elfcheck.Options{Arch: arch})
	require.NoError(t, err)
	require.Empty(t, rep.Violations, "ELF hygiene gate")
	require.Greater(t, rep.Checked, 2, "busybox, xz, liblzma and libc are ELF files")
	t.Logf("ELF gate: %d ELF files clean (%s)", rep.Checked, arch)
}

// testWriter discards progress unless HADRON_E2E_VERBOSE=1.
type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) {
	if os.Getenv("HADRON_E2E_VERBOSE") == "1" {
		return os.Stderr.Write(p)
	}
	return len(p), nil
}

// TestMiniImage builds images/mini, exports the root filesystem and checks
// that busybox is a static binary and xz is a dynamic musl binary, that
// the image is usr-merged and holds no development files.
func TestMiniImage(t *testing.T) {
	e := setup(t)
	out := t.TempDir()
	req := e.request(repoRoot(t), "mini")
	req.Outputs = []string{"type=local,dest=" + out}
	start := time.Now()
	_, err := solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)
	t.Logf("mini built in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	// The CLI plans the tree once, locally: the in-process frontend solves
	// that plan and does not read the tree from the context again.
	var vertices []string
	req.OnStatus = func(s *client.SolveStatus) {
		for _, v := range s.Vertexes {
			vertices = append(vertices, v.Name)
		}
	}
	_, err = solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)
	t.Logf("warm no-op rebuild (with local export): %s", time.Since(start).Round(time.Millisecond))
	assert.Contains(t, vertices, "mini: assemble image")
	assert.NotContains(t, vertices, "load project tree", "the tree is not loaded a second time inside BuildKit")
	assertELFClean(t, out, recipe.ArchAMD64)

	bb := filepath.Join(out, "bin/busybox")
	f, err := elf.Open(bb)
	require.NoError(t, err, "busybox in the rootfs")
	assert.Nil(t, progInterp(t, f), "busybox is static")
	f.Close()

	xz, err := elf.Open(filepath.Join(out, "usr/bin/xz"))
	require.NoError(t, err)
	assert.Equal(t, "/lib/ld-musl-x86_64.so.1", string(progInterp(t, xz)), "xz is linked against musl")
	xz.Close()

	target, err := os.Readlink(filepath.Join(out, "lib/ld-musl-x86_64.so.1"))
	require.NoError(t, err)
	assert.Equal(t, "/usr/lib/libc.so", target)

	osr, err := os.ReadFile(filepath.Join(out, "usr/lib/os-release"))
	require.NoError(t, err)
	assert.Contains(t, string(osr), "ID=hadron")
	// usr-merged: /bin/busybox and the loader above resolve through links;
	// musl's headers, static libraries and crt objects (its dev output)
	// stay out of the image.
	for link, want := range map[string]string{"bin": "usr/bin", "sbin": "usr/bin", "lib": "usr/lib", "usr/sbin": "bin"} {
		got, err := os.Readlink(filepath.Join(out, link))
		require.NoError(t, err, "/%s is a link", link)
		assert.Equal(t, want, got)
	}
	for _, p := range []string{"usr/include", "usr/lib/libc.a", "usr/lib/crt1.o"} {
		_, err := os.Lstat(filepath.Join(out, p))
		assert.True(t, os.IsNotExist(err), "%s is not in the image", p)
	}
	st, err := os.Stat(filepath.Join(out, "usr/bin/xz"))
	require.NoError(t, err)
	assert.Equal(t, int64(epoch), st.ModTime().Unix(), "timestamps clamped to SOURCE_DATE_EPOCH")
}

func progInterp(t *testing.T, f *elf.File) []byte {
	t.Helper()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			_, err := p.ReadAt(b, 0)
			require.NoError(t, err)
			return []byte(strings.TrimRight(string(b), "\x00"))
		}
	}
	return nil
}

// runInImage plans image target name of the tree in dir, runs script with
// /bin/sh in a BuildKit step whose root file system is that image (no
// stage 0), network off, and returns what the script wrote to stdout and
// stderr.
func runInImage(t *testing.T, e env, dir, name, script string) string {
	t.Helper()
	tree, err := project.Load(os.DirFS(dir))
	require.NoError(t, err)
	plan, err := frontend.NewPlan(tree, e.request(dir, name).Options, target.Target{Kind: target.Image, Name: name})
	require.NoError(t, err)
	run := plan.Platforms[0].States[0].Run(
		llb.Args([]string{"/bin/sh", "-c", "{ " + script + "; } > /out/result 2>&1"}),
		llb.Network(pb.NetMode_NONE),
		llb.WithCustomNamef("%s: run in the image", name),
	)
	def, err := run.AddMount("/out", llb.Scratch()).Marshal(context.Background(), llb.LinuxAmd64)
	require.NoError(t, err)
	var got []byte
	_, err = e.client.Build(context.Background(), client.SolveOpt{
		LocalMounts: e.locals(t, dir),
	}, "hadron-e2e", func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		res, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), Evaluate: true})
		if err != nil {
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		got, err = ref.ReadFile(ctx, gwclient.ReadRequest{Filename: "result"})
		return res, err
	}, nil)
	require.NoError(t, err)
	return string(got)
}

// TestBusyboxRunsInBuildKit runs the built busybox and xz inside a BuildKit
// step whose root filesystem is the mini image: no stage 0 at all.
func TestBusyboxRunsInBuildKit(t *testing.T) {
	e := setup(t)
	got := runInImage(t, e, repoRoot(t), "mini",
		"set -e; /bin/busybox echo hadron-ok; /lib/ld-musl-x86_64.so.1 --list /usr/bin/xz; echo data | xz | xz -d; /bin/busybox uname -s")
	out := got
	t.Logf("smoke output:\n%s", out)
	assert.Contains(t, out, "hadron-ok")
	assert.Contains(t, out, "libc.so", "ld-musl --list shows xz needs musl's libc")
	assert.Contains(t, out, "liblzma.so.5")
	assert.Contains(t, out, "data")
	assert.Contains(t, out, "Linux")
}

func mustFS(t *testing.T, dir string) fsutil.FS {
	t.Helper()
	f, err := fsutil.NewFS(dir)
	require.NoError(t, err)
	return f
}

// copyTree copies the project tree (without out/ and .git) so a test can
// edit recipes without touching the checkout.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := repoRoot(t)
	for _, top := range []string{"recipes", "toolchain", "kernel", "vendor-hashes", "images"} {
		err := filepath.WalkDir(filepath.Join(src, top), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			rel, _ := filepath.Rel(src, p)
			target := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			if !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".lock") && !strings.HasSuffix(p, ".config") &&
				!strings.Contains(rel, "/patches/") && !strings.Contains(rel, "/files/") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		})
		require.NoError(t, err)
	}
	return dst
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644))
}

// TestOneRecipeChange edits xz and rebuilds mini: only xz's phases may
// execute; musl and busybox come from the cache, and since xz's bits do not
// change, so does everything after its install.
func TestOneRecipeChange(t *testing.T) {
	e := setup(t)
	dir := copyTree(t)
	req := e.request(dir, "mini")
	_, err := solve.Build(context.Background(), e.client, req) // warm (usually cached already)
	require.NoError(t, err)

	// A nonce keeps the edit new on every run, so the cache cannot already
	// hold the edited recipe from an earlier run.
	nonce := fmt.Sprintf("  style: autotools\n  env:\n    E2E_NONCE: \"%d\"", time.Now().UnixNano())
	editFile(t, filepath.Join(dir, "recipes/xz/recipe.yaml"), "  style: autotools", nonce)
	var mu sync.Mutex
	executed := map[string]bool{}
	req.OnStatus = func(s *client.SolveStatus) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range s.Vertexes {
			if v.Completed != nil && !v.Cached && v.Name != "" {
				executed[v.Name] = true
			}
		}
	}
	start := time.Now()
	_, err = solve.Build(context.Background(), e.client, req)
	require.NoError(t, err)
	t.Logf("rebuild after editing xz: %s; executed: %v", time.Since(start).Round(time.Millisecond), keys(executed))
	// The executed build steps (exec vertices) must be exactly xz's, plus
	// the image merge. Source and file vertices are re-validated on every
	// solve in milliseconds; they are not build steps.
	var steps []string
	for n := range executed {
		if strings.HasPrefix(n, "toolchain: ") && strings.HasSuffix(n, "(stage0)") {
			steps = append(steps, n)
		}
		if _, phase, ok := strings.Cut(n, ": "); ok {
			switch phase {
			case convert.PhaseUnpack, convert.PhaseConfigure, convert.PhaseCompile, convert.PhaseCheck, convert.PhaseInstall:
				steps = append(steps, n)
			}
		}
	}
	sort.Strings(steps)
	assert.Equal(t, []string{"xz: compile", "xz: configure", "xz: install", "xz: unpack"}, steps, "executed build steps")
	assert.True(t, executed["xz: configure"], "xz was rebuilt")
	// What follows xz's install re-runs only when the new xz differs: the
	// nonce changes xz's steps, not its bits (the build is reproducible),
	// and BuildKit keys the copy that cuts xz's output, and the gate, by
	// the content they read. So the image is not even re-assembled.
	assert.False(t, executed["mini: assemble image"], "xz's bits did not change: the image comes from the cache")
	assert.False(t, executed["musl: compile"])
	assert.False(t, executed["busybox: compile"])
	assert.False(t, executed["busybox: elf gate"], "busybox's gate has nothing new to check")
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestChecksumMismatch pins a wrong digest for busybox: the build fails
// naming the recipe, the URL and both digests.
func TestChecksumMismatch(t *testing.T) {
	e := setup(t)
	dir := copyTree(t)
	editFile(t, filepath.Join(dir, "vendor-hashes/busybox.lock"), "sha256: faeeb244", "sha256: 00000000")
	_, err := solve.Build(context.Background(), e.client, e.request(dir, "busybox"))
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, "checksum mismatch for recipe busybox")
	assert.Contains(t, msg, "https://busybox.net/downloads/busybox-1.35.0.tar.bz2")
	assert.Contains(t, msg, "expected sha256:00000000")
	assert.Contains(t, msg, "sha256:faeeb244c35a348a334f4a59e44626ee870fb07b6884d68c10ae8bc19f83a694")
}
