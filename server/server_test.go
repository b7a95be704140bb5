package server

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/server/instrument"
	"github.com/orderd/orderd/server/probes"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/memory"
	"github.com/orderd/orderd/storage/reads"
)

// fixture is the server over a real read path (cache in front of a memory
// store) holding the canonical order.
type fixture struct {
	handler fasthttp.RequestHandler
	orders  *reads.Orders
	store   storage.Store
	health  *health.Registry
	deps    Deps
}

// testUI stands in for the web package's files.
var testUI = fstest.MapFS{
	"index.html": {Data: []byte(`<!doctype html><title>orderd</title><script src="/assets/app.js" defer></script>`)},
	"app.js":     {Data: []byte(`"use strict";`)},
}

// noDLQ is the dead-letter topic for tests that do not use it.
type noDLQ struct{}

func (noDLQ) ListPage(context.Context, browse.Filter) (browse.Page, error) {
	return browse.Page{}, errors.New("no dead-letter topic in this test")
}
func (noDLQ) Get(context.Context, dlq.Ref) (dlq.Record, error) {
	return dlq.Record{}, errors.New("no dead-letter topic in this test")
}
func (noDLQ) Redrive(context.Context, []dlq.Ref, []byte) ([]dlq.Redriven, error) {
	return nil, errors.New("no dead-letter topic in this test")
}

// statsFunc is a StatsSource.
type statsFunc func(context.Context) (Stats, error)

func (f statsFunc) Stats(ctx context.Context) (Stats, error) { return f(ctx) }

// rebuild makes the handler again after f.deps changed.
func (f *fixture) rebuild(t testing.TB) {
	t.Helper()
	h, err := NewServer(f.deps)
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
}

func newFixture(t testing.TB, store storage.Store) *fixture {
	t.Helper()
	cache, err := reads.NewCache(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Close() })
	model := orderfake.Model()
	if _, err := store.SaveOrders(context.Background(), []storage.Record{{Order: &model, JSON: order.AppendJSON(nil, &model)}}); err != nil {
		t.Fatal(err)
	}
	orders := reads.NewOrders(store, cache, reads.OrdersOptions{})
	reg := health.New()
	f := &fixture{orders: orders, store: store, health: reg, deps: Deps{
		Orders:  orders,
		List:    store,
		Stats:   statsFunc(func(context.Context) (Stats, error) { return Stats{}, errors.New("no stats in this test") }),
		DLQ:     noDLQ{},
		Health:  reg,
		Metrics: instrument.NewMetrics(prometheus.NewRegistry()),
		UI:      testUI,
		Log:     zerolog.Nop(),
	}}
	f.rebuild(t)
	return f
}

// do serves one request on ctx (reused if given, as fasthttp does).
func (f *fixture) do(ctx *fasthttp.RequestCtx, method, uri string) *fasthttp.RequestCtx {
	if ctx == nil {
		ctx = &fasthttp.RequestCtx{}
	}
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.ResetUserValues()
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	f.handler(ctx)
	return ctx
}

// jsonError decodes an {"error": ...} body.
func jsonError(t *testing.T, ctx *fasthttp.RequestCtx) string {
	t.Helper()
	if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil || body.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", ctx.Response.Body(), err)
	}
	return body.Error
}

func TestGetOrder_ServesTheCanonicalOrderEqualToTheModel(t *testing.T) {
	f := newFixture(t, memory.New())
	ctx := f.do(nil, "GET", "/order/b563feb7b2b84b6test")
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var got, want any
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(orderfake.ModelJSON, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("served JSON differs from model.json:\n%s", ctx.Response.Body())
	}
}

func TestGetOrder_ErrorsAreJSON(t *testing.T) {
	f := newFixture(t, memory.New())
	check := func(method, uri string, wantStatus int, wantInError string) {
		t.Helper()
		ctx := f.do(nil, method, uri)
		if got := ctx.Response.StatusCode(); got != wantStatus {
			t.Errorf("%s %s: status %d, want %d (%s)", method, uri, got, wantStatus, ctx.Response.Body())
			return
		}
		if msg := jsonError(t, ctx); !strings.Contains(msg, wantInError) {
			t.Errorf("%s %s: error %q, want it to mention %q", method, uri, msg, wantInError)
		}
	}
	check("GET", "/order/unknown-order", 404, "order not found")
	check("GET", "/order/"+strings.Repeat("a", 65), 400, "invalid order id")  // too long for an order_uid
	check("GET", "/order/bad%20id", 400, "invalid order id")                  // space
	check("GET", "/order/%3Cscript%3E", 400, "invalid order id")              // markup
	check("GET", "/order/", 400, "missing order id")                          // empty
	check("POST", "/order/b563feb7b2b84b6test", 405, "not allowed")           // reads only
	check("GET", "/orders/b563feb7b2b84b6test", 404, "no such endpoint")      // unknown route
	check("GET", "/order/b563feb7b2b84b6test/extra", 404, "no such endpoint") // deeper path
}

// blockingStore is a memory store whose reads wait until released, to hold
// the read path's only query slot.
type blockingStore struct {
	*memory.Store
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) OrderJSON(ctx context.Context, uid string) ([]byte, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.OrderJSON(ctx, uid)
}

func TestGetOrder_BusyReadPathAnswers503NamingTheSetting(t *testing.T) {
	store := &blockingStore{Store: memory.New(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFixture(t, store)
	f.orders = reads.NewOrders(store, mustCache(t), reads.OrdersOptions{MaxConcurrentReads: 1, ReadQueueTimeout: 1})
	f.deps.Orders = f.orders
	f.rebuild(t)

	// The first request runs on a goroutine of its own, which only reports
	// its status; the test's goroutine judges it.
	first := make(chan int, 1)
	go func() { first <- f.do(nil, "GET", "/order/first-miss").Response.StatusCode() }()
	var released sync.Once
	release := func() { released.Do(func() { close(store.release) }) }
	t.Cleanup(release) // so that a failure below does not leave it waiting
	select {
	case <-store.entered: // the only slot is taken
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the store")
	}
	ctx := f.do(nil, "GET", "/order/second-miss")
	if ctx.Response.StatusCode() != 503 || string(ctx.Response.Header.Peek("Retry-After")) != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1", ctx.Response.StatusCode(), ctx.Response.Header.Peek("Retry-After"))
	}
	if msg := jsonError(t, ctx); !strings.Contains(msg, "READ_CONCURRENCY") {
		t.Fatalf("error %q does not name the setting to raise", msg)
	}
	release()
	select {
	case code := <-first:
		if code != 404 {
			t.Fatalf("the first request, once released: %d, want 404 (the store does not have it)", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first request did not finish once released")
	}
}

func mustCache(t *testing.T) *reads.Cache {
	t.Helper()
	c, err := reads.NewCache(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fasthttp reuses a RequestCtx and its buffers for the next request; the
// router hands the handler an id that aliases them. The read path must keep
// a copy, or the id it remembers as missing changes under it.
func TestGetOrder_RemembersIDsNotRequestBuffers(t *testing.T) {
	f := newFixture(t, memory.New())
	ctx := &fasthttp.RequestCtx{}
	f.do(ctx, "GET", "/order/missing-aaaaaaaa") // 404, remembered as missing
	f.do(ctx, "GET", "/order/missing-bbbbbbbb") // same buffers, new id
	f.do(ctx, "GET", "/order/missing-aaaaaaaa") // must be answered from memory
	if ctx.Response.StatusCode() != 404 {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	st := f.orders.Stats()
	if st.Queries != 2 || st.NegativeHits != 1 {
		t.Fatalf("%d store queries and %d negative hits; want 2 and 1", st.Queries, st.NegativeHits)
	}
}

func TestHealth_503NamesTheFailingComponent(t *testing.T) {
	f := newFixture(t, memory.New())
	kafka := f.health.Component("kafka")
	store := f.health.Component("store")
	kafka.OK()
	store.Fail(errors.New("dial tcp 127.0.0.1:5432: connection refused"))

	ctx := f.do(nil, "GET", "/health")
	if ctx.Response.StatusCode() != 503 {
		t.Fatalf("status %d, want 503", ctx.Response.StatusCode())
	}
	var body probes.Report
	if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "unavailable" || !reflect.DeepEqual(body.Failing, []string{"store"}) ||
		!strings.Contains(body.Components["store"].Detail, "connection refused") || body.Components["kafka"].Status != "ok" {
		t.Fatalf("health body %s", ctx.Response.Body())
	}

	store.OK()
	ctx = f.do(nil, "GET", "/health")
	if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), `"status":"ok"`) {
		t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestMetrics_CountRequestsByRouteAndStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, memory.New())
	f.deps.Metrics = instrument.NewMetrics(reg)
	f.rebuild(t)
	f.do(nil, "GET", "/order/b563feb7b2b84b6test")
	f.do(nil, "GET", "/order/b563feb7b2b84b6test")
	f.do(nil, "GET", "/order/nope")
	f.do(nil, "GET", "/order/bad id")
	f.do(nil, "GET", "/nowhere")
	f.do(nil, "GET", "/health")
	withBody := &fasthttp.RequestCtx{} // a GET with a body, refused before routing
	withBody.Request.Header.SetMethod("GET")
	withBody.Request.SetRequestURI("/order/b563feb7b2b84b6test")
	withBody.Request.SetBody([]byte(`{"x":1}`))
	f.handler(withBody)
	for labels, want := range map[[2]string]float64{
		{"order", "200"}: 2, {"order", "404"}: 1, {"order", "400"}: 1,
		{"unmatched", "404"}: 1, {"unmatched", "400"}: 1, {"health", "200"}: 1,
	} {
		if got := requestsCounted(t, reg, labels[0], labels[1]); got != want {
			t.Errorf("requests{route=%s,status=%s} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	// Every route's series exist from the start, so rates are defined
	// before the first request.
	// ui, api_orders, api_stats, api_history, admin, order, health,
	// readyz, livez, openapi, unmatched (no /metrics: this server has no
	// MetricsHandler).
	if n, err := testutil.GatherAndCount(reg, "orderd_http_request_duration_seconds"); err != nil || n != 11 {
		t.Errorf("latency histograms for %d routes (%v), want 11", n, err)
	}
}

// requestsCounted is orderd_http_requests_total{route,status} as reg
// exposes it.
func requestsCounted(t *testing.T, reg *prometheus.Registry, route, status string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != "orderd_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func BenchmarkGetOrder_CacheHit(b *testing.B) {
	f := newFixture(b, memory.New())
	ctx := &fasthttp.RequestCtx{}
	f.do(ctx, "GET", "/order/b563feb7b2b84b6test") // fills the cache
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/order/b563feb7b2b84b6test")
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

// A GET takes no body: one that sends one is refused, on the hot path too.
func TestServer_GetWithABodyIsRefused(t *testing.T) {
	f := newFixture(t, memory.New())
	for _, path := range []string{"/order/b563feb7b2b84b6test", "/api/stats", "/health"} {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI(path)
		ctx.Request.SetBody([]byte(`{"x":1}`))
		f.handler(ctx)
		if ctx.Response.StatusCode() != 400 || !strings.Contains(string(ctx.Response.Body()), "takes no body") {
			t.Errorf("GET %s with a body: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// /readyz follows only the components it is given (for orderd, the warm-up
// and the lifecycle); /livez answers 200 whatever the rest says.
func TestServer_ProbesAreNotHealth(t *testing.T) {
	f := newFixture(t, memory.New())
	kafka, warmup := f.health.Component("kafka"), f.health.Component("warmup")
	f.deps.Ready = []string{"warmup"}
	f.rebuild(t)
	kafka.Fail(errors.New("broker away")) // a dependency down: not a readiness matter
	warmup.Wait("loading stored orders into the cache")
	status := func(path string) int { return f.do(nil, "GET", path).Response.StatusCode() }
	if status("/readyz") != 503 || status("/livez") != 200 || status("/health") != 503 {
		t.Fatalf("warming up: readyz %d, livez %d, health %d; want 503, 200, 503", status("/readyz"), status("/livez"), status("/health"))
	}
	if body := string(f.do(nil, "GET", "/readyz").Response.Body()); !strings.Contains(body, `"failing":["warmup"]`) {
		t.Fatalf("readyz body %s does not name the warm-up alone", body)
	}
	warmup.OK()
	if status("/readyz") != 200 || status("/livez") != 200 || status("/health") != 503 {
		t.Fatalf("warm, kafka away: readyz %d, livez %d, health %d; want 200, 200, 503", status("/readyz"), status("/livez"), status("/health"))
	}
}

// /livez turns 503 only for a loop busy with one piece of work past the
// stall limit, naming it, and 200 again once that loop is done.
func TestServer_LivezNamesAStuckLoop(t *testing.T) {
	f := newFixture(t, memory.New())
	loops := new(health.Loops)
	decode, write := loops.Loop("decode/0"), loops.Loop("write/1")
	const stall = 200 * time.Millisecond
	f.deps.Loops, f.deps.LivenessStall = loops, stall
	f.rebuild(t)
	live := func() (int, string) {
		ctx := f.do(nil, "GET", "/livez")
		return ctx.Response.StatusCode(), string(ctx.Response.Body())
	}
	// A writer whose attempt began before the decoder's work and failed:
	// it now waits between retries, idle, and is never stuck however long
	// it waits.
	write.Busy()
	write.Idle()
	start := time.Now() // before Busy: time.Since(start) is at least how long decode has been busy
	decode.Busy()
	code, body := live()
	if time.Since(start) < stall && code != 200 {
		t.Fatalf("busy for less than the limit: %d %s", code, body)
	}
	testenv.Eventually(t, 10*time.Second, "/livez turning 503", func() bool {
		code, body = live()
		return code != 200
	})
	if code != 503 || !strings.Contains(body, `"status":"stuck"`) || !strings.Contains(body, `"loop":"decode/0"`) || strings.Contains(body, "write/1") {
		t.Fatalf("decode/0 busy past the limit: %d %s; want 503 naming decode/0 alone", code, body)
	}
	if since := time.Since(start); since < stall {
		t.Fatalf("503 after %s, before the %s limit", since, stall)
	}
	decode.Idle()
	if code, body := live(); code != 200 || body != `{"status":"alive"}` {
		t.Fatalf("done: %d %s", code, body)
	}
}
