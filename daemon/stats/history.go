// Package stats keeps the numbers of the operator's console: GET
// /api/stats, counted from the store, the read path, the pipeline's own
// counters and the dead-letter topic, and the ring of samples behind GET
// /api/stats/history. It reads counters that their owners keep; it never
// gathers the Prometheus registry, and never imports the daemon that wires
// it.
package stats

import (
	"math"
	"sync"
	"time"

	"github.com/orderd/orderd/server"
)

// The UI's charts: a sample every Every, kept for Span. A
// ring of fixed size, so keeping it costs the same after a day as after a
// minute; anything longer is Grafana's, over /metrics.
const (
	Every = 3 * time.Second
	Span  = 15 * time.Minute
	Len   = int(Span / Every)
)

// Counters is what one sample reads: counters since start, whose
// differences over an interval make the rates of a history point.
type Counters struct {
	At       time.Time
	Inserted int64
	Lag      int64
	Dead     map[string]int64
	Hits     uint64
	Misses   uint64
	CacheOK  bool      // Hits and Misses known: the read path exists
	Latency  []uint64  // GET /order's cumulative bucket counts
	Bounds   []float64 // their upper bounds, seconds
}

// point is one sample of the history: the interval that ends at at.
type point struct {
	at           time.Time
	secs         float64 // the interval's length
	storedPerSec float64
	lag          int64
	deadPerSec   map[string]float64
	hitRatio     *float64
	orderP99     *float64
}

// Ring keeps the history behind GET /api/stats/history. Sample is called
// by one goroutine; History and IngestRate by any.
type Ring struct {
	read func() Counters // reads the counters now

	mu   sync.Mutex
	ring [Len]point
	next int // where the next point goes
	full bool
	prev *Counters // the previous sample, nil before the first
}

var _ server.HistorySource = (*Ring)(nil)

// NewRing keeps the history of what read returns.
func NewRing(read func() Counters) *Ring { return &Ring{read: read} }

// Sample adds the point of the interval since the previous sample.
func (h *Ring) Sample() {
	c := h.read()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prev != nil {
		h.ring[h.next] = pointBetween(*h.prev, c)
		h.next = (h.next + 1) % Len
		h.full = h.full || h.next == 0
	}
	h.prev = &c
}

// pointBetween is the history point of the interval from a to b.
func pointBetween(a, b Counters) point {
	secs := b.At.Sub(a.At).Seconds()
	p := point{at: b.At, secs: secs, lag: b.Lag, deadPerSec: map[string]float64{}}
	if secs <= 0 {
		return p
	}
	p.storedPerSec = float64(max(b.Inserted-a.Inserted, 0)) / secs
	for r, n := range b.Dead {
		p.deadPerSec[r] = float64(max(n-a.Dead[r], 0)) / secs
	}
	if a.CacheOK && b.CacheOK && b.Hits >= a.Hits && b.Misses >= a.Misses {
		if reads := (b.Hits - a.Hits) + (b.Misses - a.Misses); reads > 0 {
			r := float64(b.Hits-a.Hits) / float64(reads)
			p.hitRatio = &r
		}
	}
	if len(a.Latency) == len(b.Latency) && len(b.Latency) > 0 {
		delta := make([]uint64, len(b.Latency))
		for i := range delta {
			delta[i] = b.Latency[i] - min(a.Latency[i], b.Latency[i])
		}
		p.orderP99 = quantile(0.99, b.Bounds, delta)
	}
	return p
}

// quantile estimates the q-quantile from cumulative bucket counts, as
// PromQL's histogram_quantile does: linearly within the bucket that holds
// it, and the highest finite bound for the +Inf bucket. nil without
// observations.
func quantile(q float64, bounds []float64, cumulative []uint64) *float64 {
	n := len(cumulative)
	if n == 0 || cumulative[n-1] == 0 {
		return nil
	}
	rank := q * float64(cumulative[n-1])
	for i, c := range cumulative {
		if float64(c) < rank {
			continue
		}
		if math.IsInf(bounds[i], 1) {
			v := bounds[max(i-1, 0)]
			return &v
		}
		lo, below := 0.0, uint64(0)
		if i > 0 {
			lo, below = bounds[i-1], cumulative[i-1]
		}
		v := lo + (bounds[i]-lo)*(rank-float64(below))/float64(c-below)
		return &v
	}
	v := bounds[n-1]
	return &v
}

// IngestRate is new orders stored per second over the newest points that
// span window, or all there are, for GET /api/stats; 0 before the first.
func (h *Ring) IngestRate(window time.Duration) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var stored, secs float64
	for i := 1; i <= Len && secs < window.Seconds(); i++ {
		if i > h.next && !h.full {
			break
		}
		p := h.ring[(h.next-i+Len)%Len]
		stored += p.storedPerSec * p.secs
		secs += p.secs
	}
	if secs == 0 {
		return 0
	}
	return stored / secs
}

// History implements server.HistorySource.
func (h *Ring) History() server.History {
	h.mu.Lock()
	defer h.mu.Unlock()
	points := h.ring[:h.next]
	if h.full {
		points = append(append([]point(nil), h.ring[h.next:]...), h.ring[:h.next]...)
	}
	out := server.History{
		IntervalSeconds:       Every.Seconds(),
		SpanSeconds:           Span.Seconds(),
		At:                    make([]int64, len(points)),
		OrdersStoredPerSecond: make([]float64, len(points)),
		ConsumerLag:           make([]int64, len(points)),
		DeadLettersPerSecond:  map[string][]float64{},
		CacheHitRatio:         make([]*float64, len(points)),
		OrderP99Seconds:       make([]*float64, len(points)),
	}
	for i, p := range points {
		out.At[i] = p.at.UnixMilli()
		out.OrdersStoredPerSecond[i] = p.storedPerSec
		out.ConsumerLag[i] = p.lag
		out.CacheHitRatio[i] = p.hitRatio
		out.OrderP99Seconds[i] = p.orderP99
		for r, v := range p.deadPerSec {
			s, ok := out.DeadLettersPerSecond[r]
			if !ok {
				s = make([]float64, len(points)) // a reason first seen later was 0 before
				out.DeadLettersPerSecond[r] = s
			}
			s[i] = v
		}
	}
	return out
}
