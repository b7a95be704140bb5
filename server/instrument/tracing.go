package instrument

import (
	"context"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing gives the traced routes a SERVER span each, continuing the
// request's traceparent. A nil *Tracing traces nothing: the hot path
// then pays a nil test.
type Tracing struct {
	tracer trace.Tracer
}

func NewTracing(t trace.Tracer) *Tracing {
	if t == nil {
		return nil
	}
	return &Tracing{tracer: t}
}

// propagator reads W3C traceparent and tracestate.
var propagator = propagation.TraceContext{}

// TracedRoute is what every span of one route shares, built once: the
// hot path then allocates nothing for its name and start options.
type TracedRoute struct {
	name string
	opts []trace.SpanStartOption
}

// Route is the span template of requests to path (a path template, e.g.
// /order/{id}) with method, named "METHOD path". nil when tracing is off.
func (t *Tracing) Route(method, path string) *TracedRoute {
	if t == nil {
		return nil
	}
	return &TracedRoute{name: method + " " + path, opts: []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(path)),
	}}
}

// Start starts the span of a request to r, continuing its traceparent, and
// returns the context the handler's reads run in. With tracing off it
// returns context.Background() and nil.
func (t *Tracing) Start(ctx *fasthttp.RequestCtx, r *TracedRoute) (context.Context, trace.Span) {
	if t == nil {
		return context.Background(), nil
	}
	parent := propagator.Extract(context.Background(), requestHeaders{&ctx.Request.Header})
	return t.tracer.Start(parent, r.name, r.opts...)
}

// End records the response's status on span and ends it. A 5xx is the
// server's failure; a 4xx is the client's, so the span is not marked failed
// for it (OpenTelemetry's HTTP conventions for a SERVER span).
func End(span trace.Span, status int) {
	if span == nil {
		return
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// Traced counts, times and traces h's requests under route (the metrics'
// label) and path (the span's route). It is Instrument, plus the span.
func (m *Metrics) Traced(t *Tracing, route, method, path string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	if t == nil {
		return m.Instrument(route, h)
	}
	rm := m.Route(route)
	tr := t.Route(method, path)
	return func(ctx *fasthttp.RequestCtx) {
		start := RequestStart(ctx)
		_, span := t.Start(ctx, tr)
		h(ctx)
		status := ctx.Response.StatusCode()
		rm.ObserveTraced(status, time.Since(start), span)
		End(span, status)
	}
}

// ObserveTraced is observe, with the span's trace id as the latency's
// exemplar when the span is sampled and its bucket's exemplar is older than
// exemplarEvery. A bucket shows only its latest exemplar, and making one
// costs a dozen allocations: a busy bucket takes one a second, a rare one
// (the slow requests worth a look) every time.
func (rm *RouteMetrics) ObserveTraced(status int, took time.Duration, span trace.Span) {
	if span == nil {
		rm.observe(status, took)
		return
	}
	sc := span.SpanContext()
	eo, ok := rm.duration.(prometheus.ExemplarObserver)
	if !ok || !sc.IsSampled() || !rm.exemplars.admit(took.Seconds(), time.Now().UnixNano()) {
		rm.observe(status, took)
		return
	}
	c, ok := rm.byStatus[status]
	if !ok {
		c = rm.requests.WithLabelValues(rm.route, strconv.Itoa(status))
	}
	c.Inc()
	eo.ObserveWithExemplar(took.Seconds(), prometheus.Labels{"trace_id": sc.TraceID().String()})
	rm.latency.observe(took.Seconds())
}

// requestHeaders reads a request's headers as a propagation carrier. Get
// copies the value: fasthttp reuses its buffers once the handler returns,
// and a span may keep what it was given (tracestate) for longer.
type requestHeaders struct{ h *fasthttp.RequestHeader }

func (c requestHeaders) Get(key string) string { return string(c.h.Peek(key)) }

func (c requestHeaders) Set(string, string) {} // read only

func (c requestHeaders) Keys() []string {
	var keys []string
	for k := range c.h.All() {
		keys = append(keys, string(k))
	}
	return keys
}

// exemplarEvery is how often at most one latency bucket of a route takes a
// new exemplar.
const exemplarEvery = time.Second

// exemplarGate spaces out the exemplars of each bucket of a histogram.
type exemplarGate struct {
	bounds []float64      // the buckets' upper bounds
	last   []atomic.Int64 // when each bucket (and +Inf, last) last took one, in Unix ns
}

func newExemplarGate(bounds []float64) *exemplarGate {
	return &exemplarGate{bounds: bounds, last: make([]atomic.Int64, len(bounds)+1)}
}

// admit reports whether v's bucket may take an exemplar at now, and if so
// records that it did.
func (g *exemplarGate) admit(v float64, now int64) bool {
	l := &g.last[sort.SearchFloat64s(g.bounds, v)] // a bucket holds the values up to its bound
	prev := l.Load()
	return now-prev >= int64(exemplarEvery) && l.CompareAndSwap(prev, now)
}
