package server

import (
	"math"
	"slices"
	"testing"

	"github.com/orderd/orderd/server/instrument"
	"github.com/orderd/orderd/storage/memory"
	"github.com/prometheus/client_golang/prometheus"
)

// Latency counts a route's requests as the request histogram does,
// whichever handler answered them (GET /order has a fast path and a routed
// one): the same bounds, cumulative, +Inf last. A route not set up has none.
func TestMetrics_LatencyCountsAsTheHistogram(t *testing.T) {
	f := newFixture(t, memory.New())
	reg := prometheus.NewRegistry()
	f.deps.Metrics = instrument.NewMetrics(reg)
	f.rebuild(t)
	if b, c := f.deps.Metrics.Latency("no-such-route"); b != nil || c != nil {
		t.Errorf("Latency of an unknown route = %v, %v; want nil", b, c)
	}
	f.do(nil, "GET", "/order/not-stored-anywhere")
	f.do(nil, "GET", "/order/")

	bounds, counts := f.deps.Metrics.Latency("order")
	var wantBounds []float64
	var wantCounts []uint64
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != "orderd_http_request_duration_seconds" {
			continue
		}
		for _, m := range fam.GetMetric() {
			if m.GetLabel()[0].GetValue() != "order" {
				continue
			}
			for _, b := range m.GetHistogram().GetBucket() {
				wantBounds = append(wantBounds, b.GetUpperBound())
				wantCounts = append(wantCounts, b.GetCumulativeCount())
			}
			wantBounds = append(wantBounds, math.Inf(1))
			wantCounts = append(wantCounts, m.GetHistogram().GetSampleCount())
		}
	}
	if !slices.Equal(bounds, wantBounds) || !slices.Equal(counts, wantCounts) {
		t.Errorf("Latency(order) = %v, %v; the histogram has %v, %v", bounds, counts, wantBounds, wantCounts)
	}
	if n := counts[len(counts)-1]; n != 2 {
		t.Errorf("Latency(order) counted %d requests, want 2", n)
	}
}
