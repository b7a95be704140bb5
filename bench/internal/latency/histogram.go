// Package latency measures and reports how long things take: a fixed-memory
// log-linear Histogram, a run's Result with its Summary of percentiles, and
// the latency chart of several results.
//
// It is plain arithmetic and plotting: it never imports anything of orderd's
// and does no I/O but writing the chart it is asked for.
package latency

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets: each power of two is
// split into 2^subBits buckets, so a percentile is exact to within 1/2^subBits
// (under 1%) whatever the range, in fixed memory. One per goroutine; merge
// them at the end.
type Histogram struct {
	counts [64 << subBits]uint64
	n      uint64
	max    time.Duration
	sum    time.Duration
}

const subBits = 7

func bucketOf(ns uint64) int {
	if ns < 1<<subBits {
		return int(ns) // values below 2^subBits are exact
	}
	exp := bits.Len64(ns) - 1 - subBits
	return (exp+1)<<subBits + int(ns>>uint(exp)) - 1<<subBits
}

// bucketTop is the largest value that falls in bucket b.
func bucketTop(b int) uint64 {
	if b < 1<<subBits {
		return uint64(b)
	}
	exp := b>>subBits - 1
	mant := uint64(b&(1<<subBits-1)) | 1<<subBits
	return (mant+1)<<uint(exp) - 1
}

func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the duration at or below which a fraction q of the
// recorded values fall (the bucket's upper bound, capped at the maximum).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for b, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(bucketTop(b)), h.max)
		}
	}
	return h.max
}

// mean is the average recorded duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// cdf returns points (latency, fraction of values at or below it) for a
// plot: one per non-empty bucket.
func (h *Histogram) CDF() (lat []time.Duration, frac []float64) {
	var seen uint64
	for b, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		lat = append(lat, min(time.Duration(bucketTop(b)), h.max))
		frac = append(frac, float64(seen)/float64(h.n))
	}
	return lat, frac
}

// Count is how many durations h has recorded.
func (h *Histogram) Count() uint64 { return h.n }
