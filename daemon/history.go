package daemon

import (
	"math"
	"sync"
	"time"

	"github.com/orderd/orderd/server"
)

// The UI's charts: a sample every historyEvery, kept for historySpan. A
// ring of fixed size, so keeping it costs the same after a day as after a
// minute; anything longer is Grafana's, over /metrics.
const (
	historyEvery = 3 * time.Second
	historySpan  = 15 * time.Minute
	historyLen   = int(historySpan / historyEvery)
)

// orderRoute is the route of GET /order/{id} in server.Metrics.
const orderRoute = "order"

// counters is what one sample reads: counters since start, whose
// differences over an interval make the rates of a history point.
type counters struct {
	at       time.Time
	inserted int64
	lag      int64
	dead     map[string]int64
	hits     uint64
	misses   uint64
	cacheOK  bool      // hits and misses known: the read path exists
	latency  []uint64  // GET /order's cumulative bucket counts
	bounds   []float64 // their upper bounds, seconds
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

// history keeps the ring behind GET /api/stats/history. sample is called
// by one goroutine (run); History by any.
type history struct {
	read func() counters // reads the counters now

	mu   sync.Mutex
	ring [historyLen]point
	next int // where the next point goes
	full bool
	prev *counters // the previous sample, nil before the first
}

var _ server.HistorySource = (*history)(nil)

// newHistory keeps the history of d's counters.
func newHistory(d *daemon) *history {
	return &history{read: func() counters { return d.readCounters() }}
}

// readCounters reads the counters a history point is made of.
func (d *daemon) readCounters() counters {
	c := counters{at: time.Now(), inserted: d.metrics.Inserted(), lag: d.metrics.Lag(), dead: map[string]int64{}}
	for r, n := range d.metrics.DeadLettered() {
		c.dead[string(r)] = n
	}
	if orders, err := d.reads.get(); err == nil {
		cs := orders.Stats().Cache
		c.hits, c.misses, c.cacheOK = cs.Hits, cs.Misses, true
	}
	c.bounds, c.latency = d.httpMetrics.Latency(orderRoute)
	return c
}

// sample adds the point of the interval since the previous sample.
func (h *history) sample() {
	c := h.read()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prev != nil {
		h.ring[h.next] = pointBetween(*h.prev, c)
		h.next = (h.next + 1) % historyLen
		h.full = h.full || h.next == 0
	}
	h.prev = &c
}

// pointBetween is the history point of the interval from a to b.
func pointBetween(a, b counters) point {
	secs := b.at.Sub(a.at).Seconds()
	p := point{at: b.at, secs: secs, lag: b.lag, deadPerSec: map[string]float64{}}
	if secs <= 0 {
		return p
	}
	p.storedPerSec = float64(max(b.inserted-a.inserted, 0)) / secs
	for r, n := range b.dead {
		p.deadPerSec[r] = float64(max(n-a.dead[r], 0)) / secs
	}
	if a.cacheOK && b.cacheOK && b.hits >= a.hits && b.misses >= a.misses {
		if reads := (b.hits - a.hits) + (b.misses - a.misses); reads > 0 {
			r := float64(b.hits-a.hits) / float64(reads)
			p.hitRatio = &r
		}
	}
	if len(a.latency) == len(b.latency) && len(b.latency) > 0 {
		delta := make([]uint64, len(b.latency))
		for i := range delta {
			delta[i] = b.latency[i] - min(a.latency[i], b.latency[i])
		}
		p.orderP99 = quantile(0.99, b.bounds, delta)
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
func (h *history) IngestRate(window time.Duration) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var stored, secs float64
	for i := 1; i <= historyLen && secs < window.Seconds(); i++ {
		if i > h.next && !h.full {
			break
		}
		p := h.ring[(h.next-i+historyLen)%historyLen]
		stored += p.storedPerSec * p.secs
		secs += p.secs
	}
	if secs == 0 {
		return 0
	}
	return stored / secs
}

// History implements server.HistorySource.
func (h *history) History() server.History {
	h.mu.Lock()
	defer h.mu.Unlock()
	points := h.ring[:h.next]
	if h.full {
		points = append(append([]point(nil), h.ring[h.next:]...), h.ring[:h.next]...)
	}
	out := server.History{
		IntervalSeconds:       historyEvery.Seconds(),
		SpanSeconds:           historySpan.Seconds(),
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

// historyPart samples the history every historyEvery while orderd runs.
// It reads only counters, so it may start before anything is connected:
// what is not there yet reads as zero, or null.
func (d *daemon) historyPart() part {
	stop := make(chan struct{})
	done := make(chan struct{})
	return part{
		name: "history",
		start: func() error {
			go func() {
				defer close(done)
				t := time.NewTicker(historyEvery)
				defer t.Stop()
				for {
					d.history.sample()
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			}()
			return nil
		},
		stop: func() error {
			close(stop)
			<-done
			return nil
		},
	}
}
