package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/memory"
)

func TestListOrders_PagesNewestFirst(t *testing.T) {
	f := newFixture(t, memory.New()) // holds the canonical order
	gen := orderfake.New(4)
	var recs []storage.Record
	var uids []string
	for range 29 {
		o := gen.Order()
		recs = append(recs, storage.Record{Order: &o, JSON: order.AppendJSON(nil, &o)})
		uids = append(uids, o.OrderUID)
	}
	if _, err := f.store.SaveOrders(context.Background(), recs); err != nil {
		t.Fatal(err)
	}

	type page struct {
		Orders []struct {
			OrderUID string `json:"order_uid"`
			Customer string `json:"customer"`
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
			Items    int    `json:"items"`
		} `json:"orders"`
		Next *string `json:"next"`
	}
	get := func(uri string) page {
		t.Helper()
		ctx := f.do(nil, "GET", uri)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("GET %s: %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		var p page
		if err := json.Unmarshal(ctx.Response.Body(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := get("/api/orders")
	if len(first.Orders) != 20 || first.Next == nil || first.Orders[0].OrderUID != uids[28] {
		t.Fatalf("first page: %d orders, next %v, first %s", len(first.Orders), first.Next, first.Orders[0].OrderUID)
	}
	second := get("/api/orders?limit=20&before=" + *first.Next)
	if len(second.Orders) != 10 || second.Next != nil {
		t.Fatalf("second page: %d orders, next %v; want the last 10 and no next", len(second.Orders), second.Next)
	}
	last := second.Orders[9]
	if last.OrderUID != "b563feb7b2b84b6test" || last.Customer != "Test Testov" || last.Amount != 1817 || last.Currency != "USD" || last.Items != 1 {
		t.Fatalf("oldest entry %+v, want the canonical order's summary", last)
	}

	for _, uri := range []string{"/api/orders?limit=0", "/api/orders?limit=101", "/api/orders?limit=x", "/api/orders?before=-1", "/api/orders?before=abc"} {
		ctx := f.do(nil, "GET", uri)
		if ctx.Response.StatusCode() != 400 {
			t.Errorf("GET %s: %d, want 400", uri, ctx.Response.StatusCode())
		} else {
			jsonError(t, ctx)
		}
	}
}

func TestStats_ReportsTheSourceOrA503(t *testing.T) {
	f := newFixture(t, memory.New())
	ratio := 0.75
	f.deps.Stats = statsFunc(func(context.Context) (Stats, error) {
		return Stats{OrdersStored: 3, IngestRate: 1.5, DLQ: DLQStats{Total: 2, ByReason: map[string]int64{"conflict": 2}},
			Cache: CacheStats{Entries: 3, Hits: 3, Misses: 1, HitRatio: &ratio}, ConsumerLag: 7}, nil
	})
	f.rebuild(t)
	ctx := f.do(nil, "GET", "/api/stats")
	want := `{"orders_stored":3,"ingest_rate":1.5,"dlq":{"total":2,"by_reason":{"conflict":2}},"cache":{"entries":3,"hits":3,"misses":1,"hit_ratio":0.75},"consumer_lag":7,"in_flight":0}`
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != want {
		t.Fatalf("GET /api/stats: %d %s\nwant %s", ctx.Response.StatusCode(), ctx.Response.Body(), want)
	}

	f.deps.Stats = statsFunc(func(context.Context) (Stats, error) { return Stats{}, errors.New("store not connected yet") })
	f.rebuild(t)
	ctx = f.do(nil, "GET", "/api/stats")
	if ctx.Response.StatusCode() != 503 || !strings.Contains(jsonError(t, ctx), "not connected") {
		t.Fatalf("GET /api/stats while starting: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestUI_IsServedWithAStrictPolicy(t *testing.T) {
	f := newFixture(t, memory.New())
	check := func(uri string, wantStatus int, wantType string) {
		t.Helper()
		ctx := f.do(nil, "GET", uri)
		h := &ctx.Response.Header
		if ctx.Response.StatusCode() != wantStatus || !strings.HasPrefix(string(h.ContentType()), wantType) {
			t.Fatalf("GET %s: %d %s", uri, ctx.Response.StatusCode(), h.ContentType())
		}
		if string(h.Peek("X-Content-Type-Options")) != "nosniff" {
			t.Errorf("GET %s: no nosniff", uri)
		}
		if wantStatus != 200 || wantType == "application/json" {
			return
		}
		csp := string(h.Peek("Content-Security-Policy"))
		for _, directive := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, directive) {
				t.Errorf("GET %s: CSP %q lacks %s", uri, csp, directive)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline code", uri, csp)
		}
	}
	check("/", 200, "text/html")
	check("/?id=b563feb7b2b84b6test", 200, "text/html") // deep links serve the same page
	check("/assets/app.js", 200, "text/javascript")
	check("/assets/nope.js", 404, "application/json")
	check("/order/b563feb7b2b84b6test", 200, "application/json")
}

func ExampleStats() {
	b, _ := json.Marshal(Stats{DLQ: DLQStats{ByReason: map[string]int64{}}})
	fmt.Println(string(b))
	// Output: {"orders_stored":0,"ingest_rate":0,"dlq":{"total":0,"by_reason":{}},"cache":{"entries":0,"hits":0,"misses":0,"hit_ratio":null},"consumer_lag":0,"in_flight":0}
}

// busyLister is a store whose list connections are all taken.
type busyLister struct{}

func (busyLister) ListOrders(context.Context, int64, int) ([]storage.OrderSummary, error) {
	return nil, fmt.Errorf("list orders: %w", storage.ErrListBusy)
}

func (busyLister) SearchOrders(context.Context, storage.OrderFilter, storage.SearchCursor, int) ([]storage.OrderSummary, error) {
	return nil, fmt.Errorf("search orders: %w", storage.ErrListBusy)
}

// A list request beyond the store's list budget gets a 503 naming the
// settings to raise, and Retry-After.
func TestListOrders_BusyNamesTheSetting(t *testing.T) {
	f := newFixture(t, memory.New())
	f.deps.List = busyLister{}
	f.rebuild(t)
	ctx := f.do(nil, "GET", "/api/orders")
	if ctx.Response.StatusCode() != 503 || !strings.Contains(string(ctx.Response.Body()), "LIST_CONCURRENCY") ||
		string(ctx.Response.Header.Peek("Retry-After")) != "1" {
		t.Fatalf("GET /api/orders with the list budget used up: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
