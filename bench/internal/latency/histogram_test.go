package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogram_BucketsCoverEveryValueOnce(t *testing.T) {
	prevTop := uint64(0)
	for b := 1; b < 40<<subBits; b++ {
		top := bucketTop(b)
		if top <= prevTop {
			t.Fatalf("bucket %d top %d not above bucket %d's %d", b, top, b-1, prevTop)
		}
		// The values of bucket b are (prevTop, top].
		for _, v := range []uint64{prevTop + 1, top} {
			if got := bucketOf(v); got != b {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, b)
			}
		}
		prevTop = top
	}
}

func TestHistogram_QuantilesWithinOnePercent(t *testing.T) {
	var h Histogram
	values := make([]time.Duration, 100000)
	for i := range values {
		values[i] = time.Duration(rand.ExpFloat64() * float64(300*time.Microsecond))
		h.Record(values[i])
	}
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := values[int(q*float64(len(values)))-1]
		got := h.Quantile(q)
		if d := float64(got-exact) / float64(exact); d < -0.01 || d > 0.01 {
			t.Errorf("p%v = %v, exact %v (%.2f%% off)", q*100, got, exact, d*100)
		}
	}
	if h.Quantile(1) != values[len(values)-1] {
		t.Errorf("max = %v, want %v", h.Quantile(1), values[len(values)-1])
	}

	var merged Histogram
	merged.Merge(&h)
	merged.Merge(&h)
	if merged.n != 2*h.n || merged.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merged: n %d, p50 %v", merged.n, merged.Quantile(0.5))
	}
}
