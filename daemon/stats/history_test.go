package stats

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

// The ring keeps the last Len points, oldest first, and a reason of
// dead letters first seen late reads 0 before.
func TestHistory_RingKeepsTheLastPoints(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_700_000_000, 0)
	n := 0
	h := &Ring{read: func() Counters {
		c := Counters{At: start.Add(time.Duration(n) * Every), Inserted: int64(n) * 30, Lag: int64(n),
			Dead: map[string]int64{}, Hits: uint64(n) * 3, Misses: uint64(n), CacheOK: true}
		if n > Len {
			c.Dead["invalid"] = int64(n - Len)
		}
		n++
		return c
	}}
	if got := h.History(); len(got.At) != 0 {
		t.Fatalf("before any sample: %d points", len(got.At))
	}
	h.Sample()
	if got := h.History(); len(got.At) != 0 {
		t.Fatalf("after one sample: %d points; a rate needs two", len(got.At))
	}
	for range Len + 10 {
		h.Sample()
	}
	got := h.History()
	if len(got.At) != Len || len(got.ConsumerLag) != Len {
		t.Fatalf("%d points, want the last %d", len(got.At), Len)
	}
	if got.ConsumerLag[0] != 11 || got.ConsumerLag[Len-1] != int64(Len+10) {
		t.Errorf("lag from %d to %d, want 11 to %d: not the last points, oldest first", got.ConsumerLag[0], got.ConsumerLag[Len-1], Len+10)
	}
	if want := 30 / Every.Seconds(); got.OrdersStoredPerSecond[5] != want {
		t.Errorf("stored %v/s, want %v", got.OrdersStoredPerSecond[5], want)
	}
	if r := got.CacheHitRatio[0]; r == nil || *r != 0.75 {
		t.Errorf("hit ratio %v, want 0.75", r)
	}
	dead := got.DeadLettersPerSecond["invalid"]
	if len(dead) != Len || dead[0] != 0 || dead[Len-1] != 1/Every.Seconds() {
		t.Errorf("dead letters %v...; want 0 before the reason was seen, one per interval after", dead[:3])
	}
	if got.OrderP99Seconds[0] != nil {
		t.Errorf("p99 %v with no requests, want null", *got.OrderP99Seconds[0])
	}
}

// The ingest rate of GET /api/stats is over the newest points that span the
// window, weighted by their intervals; nothing sampled yet reads 0.
func TestRing_IngestRateOverTheWindow(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	inserted := []int64{0, 30, 60, 60, 60, 90}
	n := 0
	h := NewRing(func() Counters {
		c := Counters{At: start.Add(time.Duration(n) * Every), Inserted: inserted[n]}
		n++
		return c
	})
	if r := h.IngestRate(10 * time.Second); r != 0 {
		t.Errorf("rate before any point = %v, want 0", r)
	}
	h.Sample()
	h.Sample()
	if want := 30 / Every.Seconds(); h.IngestRate(10*time.Second) != want {
		t.Errorf("rate over one point = %v, want %v", h.IngestRate(10*time.Second), want)
	}
	for range len(inserted) - 2 {
		h.Sample()
	}
	// 10 s of 3 s points is the newest four: 30+0+0+30 orders in 12 s.
	if r, want := h.IngestRate(10*time.Second), 60/(4*Every.Seconds()); r != want {
		t.Errorf("rate over 10s = %v, want %v", r, want)
	}
}
