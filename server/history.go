package server

import (
	"github.com/orderd/orderd/server/reply"
	"github.com/valyala/fasthttp"
)

// History is what GET /api/stats/history reports: the last minutes of the
// flow, one sample every IntervalSeconds, oldest first, for the UI's
// charts. Each series has one value per At; a rate or ratio is over the
// interval that ends at its At. Grafana, over /metrics, is the place for
// anything longer.
type History struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	SpanSeconds     float64 `json:"span_seconds"` // how far back the ring reaches once full
	// At is each sample's time, in Unix milliseconds.
	At                    []int64   `json:"at"`
	OrdersStoredPerSecond []float64 `json:"orders_stored_per_second"`
	// ConsumerLag is summed over the partitions this replica consumes.
	ConsumerLag          []int64              `json:"consumer_lag"`
	DeadLettersPerSecond map[string][]float64 `json:"dead_letters_per_second"` // by reason
	// CacheHitRatio is of the reads of the interval; null when there were
	// none.
	CacheHitRatio []*float64 `json:"cache_hit_ratio"`
	// OrderP99Seconds is GET /order/{id}'s 99th percentile latency over the
	// interval, from the request histogram's buckets; null when there were
	// no requests.
	OrderP99Seconds []*float64 `json:"order_p99_seconds"`
}

// HistorySource keeps History.
type HistorySource interface {
	History() History
}

// handleHistory serves GET /api/stats/history.
func handleHistory(src HistorySource) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if src == nil {
			reply.Error(ctx, fasthttp.StatusServiceUnavailable, "stats unavailable: this orderd keeps no history")
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		reply.JSON(ctx, fasthttp.StatusOK, src.History())
	}
}
