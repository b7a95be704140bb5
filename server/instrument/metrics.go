package instrument

import (
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Metrics are the HTTP server's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	buckets  []float64 // duration's

	latencyMu sync.Mutex
	latency   map[string]*latency // by route, as duration's series
}

// NewMetrics creates the HTTP metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	// 50µs to ~1.6s: a cache hit takes microseconds, a miss a PostgreSQL
	// round trip.
	buckets := prometheus.ExponentialBuckets(0.00005, 2, 16)
	m := &Metrics{
		buckets: buckets,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderd_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderd_http_request_duration_seconds",
			Help:    "Time from the request being parsed to the response being ready, by route.",
			Buckets: buckets,
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// RouteMetrics are one route's series, bound up front so that answering a
// request costs two atomic adds and no label lookup.
type RouteMetrics struct {
	route    string
	requests *prometheus.CounterVec
	byStatus map[int]prometheus.Counter // the statuses orderd answers
	duration prometheus.Observer
	latency  *latency
	// exemplars spaces out the latency's exemplars (ObserveTraced).
	exemplars *exemplarGate
}

func (m *Metrics) Route(route string) *RouteMetrics {
	rm := &RouteMetrics{
		route:     route,
		requests:  m.requests,
		byStatus:  map[int]prometheus.Counter{},
		duration:  m.duration.WithLabelValues(route),
		exemplars: newExemplarGate(m.buckets),
		latency:   m.routeLatency(route),
	}
	for _, status := range []int{200, 400, 401, 404, 405, 500, 503} {
		rm.byStatus[status] = m.requests.WithLabelValues(route, strconv.Itoa(status))
	}
	return rm
}

// Instrument counts and times h's requests under route.
func (m *Metrics) Instrument(route string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	rm := m.Route(route)
	return func(ctx *fasthttp.RequestCtx) {
		start := RequestStart(ctx)
		h(ctx)
		rm.observe(ctx.Response.StatusCode(), time.Since(start))
	}
}

// RequestStart is when fasthttp finished reading the request: it reads the
// clock for every request anyway (RequestCtx.Time), so the latency costs
// one clock read, not two.
func RequestStart(ctx *fasthttp.RequestCtx) time.Time {
	if t := ctx.Time(); !t.IsZero() {
		return t
	}
	return time.Now()
}

func (rm *RouteMetrics) observe(status int, took time.Duration) {
	c, ok := rm.byStatus[status]
	if !ok {
		c = rm.requests.WithLabelValues(rm.route, strconv.Itoa(status))
	}
	c.Inc()
	rm.duration.Observe(took.Seconds())
	rm.latency.observe(took.Seconds())
}

// latency counts one route's request durations in duration's buckets,
// which Latency reads: the UI's p99 comes from the server's own counts,
// without gathering the registry.
type latency struct {
	bounds []float64       // upper bounds, the last +Inf
	counts []atomic.Uint64 // per bucket, not cumulative
}

func (l *latency) observe(seconds float64) {
	l.counts[sort.SearchFloat64s(l.bounds, seconds)].Add(1)
}

// routeLatency is route's latency, shared by every handler counted under
// route.
func (m *Metrics) routeLatency(route string) *latency {
	m.latencyMu.Lock()
	defer m.latencyMu.Unlock()
	if l, ok := m.latency[route]; ok {
		return l
	}
	bounds := append(append([]float64(nil), m.buckets...), math.Inf(1))
	l := &latency{bounds: bounds, counts: make([]atomic.Uint64, len(bounds))}
	if m.latency == nil {
		m.latency = map[string]*latency{}
	}
	m.latency[route] = l
	return l
}

// Latency is the durations of route's requests answered since start: the
// buckets' upper bounds (the last +Inf) and cumulative counts, as in
// orderd_http_request_duration_seconds. nil before route serves.
func (m *Metrics) Latency(route string) (bounds []float64, cumulative []uint64) {
	m.latencyMu.Lock()
	l, ok := m.latency[route]
	m.latencyMu.Unlock()
	if !ok {
		return nil, nil
	}
	cumulative = make([]uint64, len(l.counts))
	var sum uint64
	for i := range l.counts {
		sum += l.counts[i].Load()
		cumulative[i] = sum
	}
	return l.bounds, cumulative
}
