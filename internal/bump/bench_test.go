package bump

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/tests/fakeupstream"
	"github.com/stretchr/testify/require"
)

// latencyWorld builds n recipes spread over the four upstream kinds, each
// one version behind, on a fake upstream that delays every request.
func latencyWorld(t testing.TB, n int, latency time.Duration) *world {
	w := newWorld(t)
	for i := range n {
		name := fmt.Sprintf("pkg%02d", i)
		var up string
		switch i % 4 {
		case 0:
			w.srv.SetReleases("example/"+name, fakeupstream.Release{Tag: "v1.1.0"}, fakeupstream.Release{Tag: "v1.0.0"})
			up = "{kind: github-releases, repo: example/" + name + "}"
		case 1:
			w.srv.SetTags("example/"+name, "v1.1.0", "v1.0.0")
			up = "{kind: github-tags, repo: example/" + name + "}"
		case 2:
			w.srv.AddIndex(name, name+"-1.0.0.tar.gz", name+"-1.1.0.tar.gz")
			up = "{kind: http-index, url: '" + srvToken + "/dl/" + name + "/', regex: '" + name + `-(\d+\.\d+\.\d+)\.tar\.gz"'}`
		case 3:
			url, _ := w.srv.AddGitRepo(t, name, "v1.0.0", "v1.1.0")
			up = "{kind: git-tags, url: " + w.masked(url) + "}"
		}
		w.tarball(name, "1.1.0", ".tar.gz")
		w.recipe(name, `name: `+name+`
version: 1.0.0
license: MIT
sources:
  - url: `+srvToken+`/dl/`+name+`-${version}.tar.gz
build: {style: make}
upstream: `+up+`
`, w.tarball(name, "1.0.0", ".tar.gz"))
	}
	w.srv.Latency = latency
	return w
}

// dryRun runs a dry run with jobs workers and checks that every recipe
// found its update.
func dryRun(tb testing.TB, w *world, jobs, n int) time.Duration {
	o := w.options()
	o.DryRun = true
	o.Fetch = nil
	o.Jobs = jobs
	start := time.Now()
	rep, err := Run(context.Background(), o)
	elapsed := time.Since(start)
	require.NoError(tb, err)
	require.Len(tb, rep.with(StatusAvailable), n, "every recipe has an update: %v", rep.Failed())
	return elapsed
}

// TestConcurrentDryRun runs a dry run over 40 recipes with 50 ms of
// latency on every request, serially (1 worker) and with 8 workers, and
// checks the pool's behaviour rather than wall-clock ratios (which a loaded
// CI machine can spoil): one worker never has two requests in flight,
// eight keep several in flight and never more than eight. The timings are
// logged; BenchmarkDryRun40 measures them (docs/performance.md).
func TestConcurrentDryRun(t *testing.T) {
	const n = 40
	w := latencyWorld(t, n, 50*time.Millisecond)
	reqBefore := w.srv.Requests()
	w.srv.ResetMaxInFlight()
	serial := dryRun(t, w, 1, n)
	requests := w.srv.Requests() - reqBefore
	require.EqualValues(t, 1, w.srv.MaxInFlight(), "one worker sends one request at a time")
	w.srv.ResetMaxInFlight()
	parallel := dryRun(t, w, 8, n)
	inFlight := w.srv.MaxInFlight()
	t.Logf("dry run, %d recipes, %d requests at 50ms each: 1 worker %v, 8 workers %v (%.1fx), at most %d requests in flight",
		n, requests, serial.Round(time.Millisecond), parallel.Round(time.Millisecond), float64(serial)/float64(parallel), inFlight)
	require.GreaterOrEqual(t, serial, time.Duration(requests)*50*time.Millisecond, "serial run pays every request's latency")
	require.GreaterOrEqual(t, inFlight, int64(3), "8 workers keep several requests in flight")
	require.LessOrEqual(t, inFlight, int64(8), "the pool is bounded by its 8 workers")
}

// BenchmarkDryRun40 is the same measurement as a benchmark:
// go test -bench DryRun40 ./internal/bump
func BenchmarkDryRun40(b *testing.B) {
	const n = 40
	for _, jobs := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			w := latencyWorld(b, n, 50*time.Millisecond)
			b.ResetTimer()
			for b.Loop() {
				dryRun(b, w, jobs, n)
			}
		})
	}
}
