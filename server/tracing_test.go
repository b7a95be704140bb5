package server

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/storage/memory"
)

// A GET /order/{id} with a traceparent gets a SERVER span in that trace,
// whose attributes say the route, the status and how the cache answered;
// the traceparent's bytes are copied out of fasthttp's buffer, which the
// next request on the connection overwrites.
func TestServer_TracesGetOrder(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, memory.New())
	f.deps.Tracer = tp.Tracer("test")
	f.rebuild(t)

	ctx := &fasthttp.RequestCtx{}
	get := func(path, traceparent string) {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.Set("traceparent", traceparent)
		ctx.Request.Header.Set("tracestate", "vendor=1")
		f.handler(ctx)
	}
	const (
		first  = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		second = "00-11111111111111111111111111111111-2222222222222222-01"
	)
	get("/order/b563feb7b2b84b6test", first) // a miss: the fixture's cache is empty
	get("/order/b563feb7b2b84b6test", second)
	get("/order/nosuchorder", second)
	got := spans.GetSpans()
	if len(got) != 3 {
		t.Fatalf("%d spans, want 3", len(got))
	}
	for i, want := range []struct{ trace, parent, cache, status string }{
		{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "miss", "200"},
		{"11111111111111111111111111111111", "2222222222222222", "hit", "200"},
		{"11111111111111111111111111111111", "2222222222222222", "miss", "404"},
	} {
		s := got[i]
		if s.SpanKind != trace.SpanKindServer || s.Name != "GET /order/{id}" ||
			s.SpanContext.TraceID().String() != want.trace || s.Parent.SpanID().String() != want.parent {
			t.Errorf("span %d: %s %q in %s under %s; want a server span GET /order/{id} in %s under %s",
				i, s.SpanKind, s.Name, s.SpanContext.TraceID(), s.Parent.SpanID(), want.trace, want.parent)
		}
		if s.Parent.TraceState().String() != "vendor=1" {
			t.Errorf("span %d: tracestate %q, want vendor=1", i, s.Parent.TraceState())
		}
		for k, v := range map[string]string{"orderd.cache": want.cache, "http.response.status_code": want.status, "http.route": "/order/{id}"} {
			found := ""
			for _, kv := range s.Attributes {
				if string(kv.Key) == k {
					found = kv.Value.String()
				}
			}
			if found != v {
				t.Errorf("span %d: %s = %q, want %q", i, k, found, v)
			}
		}
	}
}

// The cache hit with tracing on, every request sampled: the cost of a span
// (its start, the traceparent's extraction, attributes, end) on the hot
// path. BenchmarkGetOrder_CacheHit is the same with tracing off.
func BenchmarkGetOrder_CacheHitTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(b, memory.New())
	f.deps.Tracer = tp.Tracer("bench")
	f.rebuild(b)
	ctx := &fasthttp.RequestCtx{}
	f.do(ctx, "GET", "/order/b563feb7b2b84b6test") // fills the cache
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/order/b563feb7b2b84b6test")
	ctx.Request.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		ctx.ResetUserValues()
		f.handler(ctx)
	}
	if ctx.Response.StatusCode() != 200 {
		b.Fatalf("status %d", ctx.Response.StatusCode())
	}
}
