package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// solve runs def on c and exports the result to a new local directory,
// which it returns. Build step output is returned too, for failure messages.
func solve(ctx context.Context, t *testing.T, c *client.Client, st llb.State) (string, string, error) {
	t.Helper()
	def, err := st.Marshal(ctx, llb.LinuxAmd64)
	require.NoError(t, err)
	dir := t.TempDir()
	ch := make(chan *client.SolveStatus)
	logs := make(chan string)
	go func() {
		var b strings.Builder
		for s := range ch {
			for _, l := range s.Logs {
				b.Write(l.Data)
			}
		}
		logs <- b.String()
	}()
	_, err = c.Solve(ctx, def, client.SolveOpt{
		Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: dir}},
	}, ch)
	return dir, <-logs, err
}

// TestHarnessEndToEnd proves the harness: buildkitd and the registry come
// up, stage0 is pushed and runs a network-less build step with its
// compiler, and a mirrored tarball is fetched by BuildKit with its pinned
// checksum (and refused with a wrong one).
func TestHarnessEndToEnd(t *testing.T) {
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	start := time.Now()
	addr := StartEngine(t)
	reg := StartRegistry(t)
	assert.True(t, strings.HasPrefix(reg, "127.0.0.1:"), reg)
	assert.Equal(t, addr, StartEngine(t), "one engine per test binary")
	assert.Equal(t, reg, StartRegistry(t), "one registry per test binary")

	stage0 := Stage0(t, reg)
	if os.Getenv(EnvStage0) == "" {
		assert.Regexp(t, `^127\.0\.0\.1:\d+/hadron/stage0@sha256:[0-9a-f]{64}$`, stage0)
	}
	mirrors := SourceMirror(t)
	musl := Sources[0]
	require.Equal(t, "musl-1.2.6.tar.gz", musl.File)
	mirror, ok := mirrors[musl.URLPrefixes[0]]
	require.True(t, ok, "mirror map %v lacks %s", mirrors, musl.URLPrefixes[0])
	t.Logf("harness ready after %s", time.Since(start).Round(time.Millisecond))

	c, err := client.New(ctx, addr)
	require.NoError(t, err)
	defer c.Close()

	src := llb.HTTP(mirror+musl.File,
		llb.Filename(musl.File),
		llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, musl.SHA256)),
		llb.WithCustomName("fetch "+musl.File+" from the mirror"))
	run := llb.Image(stage0).Run(
		llb.Args([]string{"/bin/sh", "-ec", `
gcc --version | head -n1 > /out/gcc.txt
sha256sum /src/` + musl.File + ` | cut -d' ' -f1 > /out/sha256.txt
tar -tzf /src/` + musl.File + ` | head -n1 > /out/first-entry.txt
# the network must be off in build steps
if getent hosts deb.debian.org >/dev/null 2>&1; then echo on; else echo off; fi > /out/network.txt
`}),
		llb.Network(llb.NetModeNone),
		llb.AddEnv("SOURCE_DATE_EPOCH", "0"),
		llb.WithCustomName("stage0: gcc --version, inspect "+musl.File))
	run.AddMount("/src", src, llb.Readonly)
	out := run.AddMount("/out", llb.Scratch())

	t0 := time.Now()
	dir, logs, err := solve(ctx, t, c, out)
	require.NoError(t, err, "build output:\n%s", logs)
	t.Logf("first solve took %s", time.Since(t0).Round(time.Millisecond))

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	assert.Regexp(t, `^gcc \(Debian 12\.`, read("gcc.txt"))
	assert.Equal(t, musl.SHA256, read("sha256.txt"))
	assert.Equal(t, "musl-1.2.6/", read("first-entry.txt"))
	assert.Equal(t, "off", read("network.txt"))

	// A wrong pinned checksum must fail the fetch.
	wrong := llb.HTTP(mirror+musl.File,
		llb.Filename(musl.File),
		llb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, strings.Repeat("0", 64))))
	_, logs, err = solve(ctx, t, c, wrong)
	require.Error(t, err, "a wrong checksum was accepted; output:\n%s", logs)
	assert.Contains(t, err.Error(), "digest mismatch")
}

// TestStage0Reproducible makes a small stage 0 twice, in two caches, and
// asserts the tarballs are identical: the image digest, and with it every
// cache key of a build on it, must not depend on when or where stage 0
// was made (two CI machines, or a developer and CI, share a cache only
// then).
//
// Full tier: two mmdebstrap runs take one to five minutes on 2 cores.
func TestStage0Reproducible(t *testing.T) {
	RequireFull(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	spec := Stage0Spec{Suite: "bookworm", Variant: "minbase", Arch: "amd64", Packages: []string{"ca-certificates"}, Mirror: DebianMirror()}
	var sums []string
	for i := 0; i < 2; i++ {
		if i == 1 {
			time.Sleep(time.Second) // a different wall clock for the second run
		}
		out, err := BuildStage0(ctx, spec, t.TempDir())
		require.NoError(t, err)
		sum, err := fileSHA256(out)
		require.NoError(t, err)
		sums = append(sums, sum)
	}
	assert.Equal(t, sums[0], sums[1], "two stage 0 tarballs of one spec differ")
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
