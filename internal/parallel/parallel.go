// Package parallel runs independent pieces of work (parsing the files of
// a tree) on a bounded number of goroutines. Results go into slots the
// caller indexes, so the outcome does not depend on scheduling.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers is the number of goroutines For uses: GOMAXPROCS, at most 8
// (file parsing stops scaling before that).
func Workers() int {
	return min(runtime.GOMAXPROCS(0), 8)
}

// For calls fn(i) for every i in [0, n), on up to Workers() goroutines,
// and returns when all calls have returned. fn must only write to what
// belongs to index i. Small n runs on the calling goroutine.
func For(n int, fn func(i int)) {
	w := min(Workers(), n)
	if w <= 1 || n < 8 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
