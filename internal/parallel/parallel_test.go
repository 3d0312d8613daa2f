package parallel_test

import (
	"sync/atomic"
	"testing"

	"github.com/hadron-linux/hadron/internal/parallel"
	"github.com/stretchr/testify/assert"
)

func TestForCallsEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 1000} {
		calls := make([]int32, n)
		var total atomic.Int32
		parallel.For(n, func(i int) {
			atomic.AddInt32(&calls[i], 1)
			total.Add(1)
		})
		assert.Equal(t, int32(n), total.Load(), "n=%d", n)
		for i, c := range calls {
			assert.Equal(t, int32(1), c, "n=%d index %d", n, i)
		}
	}
}

func TestWorkersBounded(t *testing.T) {
	w := parallel.Workers()
	assert.GreaterOrEqual(t, w, 1)
	assert.LessOrEqual(t, w, 8)
}
