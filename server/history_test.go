package server

import (
	"encoding/json"
	"testing"

	"github.com/orderd/orderd/storage/memory"
)

type historyFunc func() History

func (f historyFunc) History() History { return f() }

// GET /api/stats/history serves what the source keeps, uncached; without
// a source it says so with a 503 instead of an empty chart.
func TestHistory_ServedAsKept(t *testing.T) {
	f := newFixture(t, memory.New())
	ratio := 0.5
	f.deps.History = historyFunc(func() History {
		return History{IntervalSeconds: 3, SpanSeconds: 900, At: []int64{1000}, OrdersStoredPerSecond: []float64{2},
			ConsumerLag: []int64{7}, DeadLettersPerSecond: map[string][]float64{"invalid_json": {0.5}},
			CacheHitRatio: []*float64{&ratio}, OrderP99Seconds: []*float64{nil}}
	})
	f.rebuild(t)
	ctx := f.do(nil, "GET", "/api/stats/history")
	var got map[string]any
	if err := json.Unmarshal(ctx.Response.Body(), &got); err != nil || ctx.Response.StatusCode() != 200 {
		t.Fatalf("GET /api/stats/history: %d %s (%v)", ctx.Response.StatusCode(), ctx.Response.Body(), err)
	}
	if string(ctx.Response.Header.Peek("Cache-Control")) != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", ctx.Response.Header.Peek("Cache-Control"))
	}
	const want = `{"interval_seconds":3,"span_seconds":900,"at":[1000],"orders_stored_per_second":[2],"consumer_lag":[7],` +
		`"dead_letters_per_second":{"invalid_json":[0.5]},"cache_hit_ratio":[0.5],"order_p99_seconds":[null]}`
	if body := string(ctx.Response.Body()); body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}

	f.deps.History = nil
	f.rebuild(t)
	ctx = f.do(nil, "GET", "/api/stats/history")
	if ctx.Response.StatusCode() != 503 || jsonError(t, ctx) != "stats unavailable: this orderd keeps no history" {
		t.Errorf("without a history: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
