package daemon

import (
	"math"
	"testing"
	"time"
)

func TestQuantile_AsHistogramQuantile(t *testing.T) {
	t.Parallel()
	inf := math.Inf(1)
	bounds := []float64{0.001, 0.002, 0.004, inf}
	f := func(q float64, counts []uint64, want float64) {
		t.Helper()
		got := quantile(q, bounds, counts)
		if math.IsNaN(want) {
			if got != nil {
				t.Errorf("quantile(%v, %v) = %v, want nil", q, counts, *got)
			}
			return
		}
		if got == nil || math.Abs(*got-want) > 1e-12 {
			t.Errorf("quantile(%v, %v) = %v, want %v", q, counts, got, want)
		}
	}
	f(0.99, []uint64{0, 0, 0, 0}, math.NaN())      // no requests: no value, not 0
	f(0.99, []uint64{100, 100, 100, 100}, 0.00099) // all in the first bucket: 99% of its width
	f(0.5, []uint64{0, 100, 100, 100}, 0.0015)     // in the second, halfway
	f(0.99, []uint64{50, 50, 100, 100}, 0.00396)   // 99th of 100: 49/50 of the way through the third
	f(0.99, []uint64{0, 0, 0, 10}, 0.004)          // beyond the last bound: that bound
}

// The ring keeps the last historyLen points, oldest first, and a reason of
// dead letters first seen late reads 0 before.
func TestHistory_RingKeepsTheLastPoints(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_700_000_000, 0)
	n := 0
	h := &history{read: func() counters {
		c := counters{at: start.Add(time.Duration(n) * historyEvery), inserted: int64(n) * 30, lag: int64(n),
			dead: map[string]int64{}, hits: uint64(n) * 3, misses: uint64(n), cacheOK: true}
		if n > historyLen {
			c.dead["invalid"] = int64(n - historyLen)
		}
		n++
		return c
	}}
	if got := h.History(); len(got.At) != 0 {
		t.Fatalf("before any sample: %d points", len(got.At))
	}
	h.sample()
	if got := h.History(); len(got.At) != 0 {
		t.Fatalf("after one sample: %d points; a rate needs two", len(got.At))
	}
	for range historyLen + 10 {
		h.sample()
	}
	got := h.History()
	if len(got.At) != historyLen || len(got.ConsumerLag) != historyLen {
		t.Fatalf("%d points, want the last %d", len(got.At), historyLen)
	}
	if got.ConsumerLag[0] != 11 || got.ConsumerLag[historyLen-1] != int64(historyLen+10) {
		t.Errorf("lag from %d to %d, want 11 to %d: not the last points, oldest first", got.ConsumerLag[0], got.ConsumerLag[historyLen-1], historyLen+10)
	}
	if want := 30 / historyEvery.Seconds(); got.OrdersStoredPerSecond[5] != want {
		t.Errorf("stored %v/s, want %v", got.OrdersStoredPerSecond[5], want)
	}
	if r := got.CacheHitRatio[0]; r == nil || *r != 0.75 {
		t.Errorf("hit ratio %v, want 0.75", r)
	}
	dead := got.DeadLettersPerSecond["invalid"]
	if len(dead) != historyLen || dead[0] != 0 || dead[historyLen-1] != 1/historyEvery.Seconds() {
		t.Errorf("dead letters %v...; want 0 before the reason was seen, one per interval after", dead[:3])
	}
	if got.OrderP99Seconds[0] != nil {
		t.Errorf("p99 %v with no requests, want null", *got.OrderP99Seconds[0])
	}
}
