package server

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/server/reply"
	"github.com/orderd/orderd/storage"
)

// OrderLister lists stored orders newest first, and searches them;
// *postgres.Store and *memory.Store implement it.
type OrderLister interface {
	ListOrders(ctx context.Context, before int64, limit int) ([]storage.OrderSummary, error)
	SearchOrders(ctx context.Context, f storage.OrderFilter, after storage.SearchCursor, limit int) ([]storage.OrderSummary, error)
}

// Stats is what GET /api/stats reports: the UI's live strip.
type Stats struct {
	OrdersStored int64      `json:"orders_stored"`
	IngestRate   float64    `json:"ingest_rate"` // new orders stored per second, recently
	DLQ          DLQStats   `json:"dlq"`
	Cache        CacheStats `json:"cache"`
	ConsumerLag  int64      `json:"consumer_lag"` // summed over the partitions this replica consumes
	InFlight     int        `json:"in_flight"`
}

// DLQStats counts dead letters.
type DLQStats struct {
	Total    int64            `json:"total"`     // records the dead-letter topic holds
	ByReason map[string]int64 `json:"by_reason"` // dead-lettered since this orderd started
}

// CacheStats describes the read cache.
type CacheStats struct {
	Entries  int      `json:"entries"`
	Hits     uint64   `json:"hits"`
	Misses   uint64   `json:"misses"`
	HitRatio *float64 `json:"hit_ratio"` // null before the first read
}

// StatsSource gathers Stats.
type StatsSource interface {
	Stats(ctx context.Context) (Stats, error)
}

// apiTimeout bounds the work behind one API request.
const apiTimeout = 10 * time.Second

type orderSummaryJSON struct {
	OrderUID    string    `json:"order_uid"`
	DateCreated time.Time `json:"date_created"`
	Customer    string    `json:"customer"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	Items       int       `json:"items"`
	TrackNumber string    `json:"track_number"`
	CustomerID  string    `json:"customer_id"`
}

type orderListJSON struct {
	Orders []orderSummaryJSON `json:"orders"`
	// Next is the cursor of the following page, absent on the last one. It
	// is opaque to clients: pass it back as ?before=.
	Next string `json:"next,omitempty"`
}

// defaultListLimit is the page size of GET /api/orders without ?limit=.
const defaultListLimit = 20

// handleListOrders serves GET /api/orders: without filters, the newest
// stored orders first, paged by keyset on the ingest sequence, never by
// OFFSET; with filters (track_number, customer_id, created_from,
// created_to), the matching orders newest created first, paged by keyset
// on (date_created, sequence). Either way a cursor made for a query keeps
// its place while orders arrive.
func handleListOrders(list OrderLister) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		q, qerr := parseOrderQuery(ctx.QueryArgs())
		if qerr != nil {
			reply.Error(ctx, fasthttp.StatusBadRequest, qerr.msg)
			return
		}
		reqCtx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		var (
			orders []storage.OrderSummary
			err    error
		)
		if q.filter.IsZero() {
			orders, err = list.ListOrders(reqCtx, q.before, q.limit)
		} else {
			orders, err = list.SearchOrders(reqCtx, q.filter, q.after, q.limit)
		}
		switch {
		case errors.Is(err, storage.ErrListBusy):
			ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
			reply.Error(ctx, fasthttp.StatusServiceUnavailable, "too many list requests at once; retry, or raise LIST_CONCURRENCY / LIST_QUEUE_TIMEOUT")
			return
		case err != nil:
			reply.Error(ctx, fasthttp.StatusServiceUnavailable, "order store unavailable; retry later")
			return
		}
		body := orderListJSON{Orders: make([]orderSummaryJSON, len(orders))}
		for i, o := range orders {
			body.Orders[i] = orderSummaryJSON{
				OrderUID: o.OrderUID, DateCreated: o.DateCreated, Customer: o.Customer,
				Amount: o.Amount, Currency: o.Currency, Items: o.Items,
				TrackNumber: o.TrackNumber, CustomerID: o.CustomerID,
			}
		}
		if len(orders) == q.limit {
			body.Next = q.nextCursor(orders[len(orders)-1])
		}
		reply.JSON(ctx, fasthttp.StatusOK, body)
	}
}

// handleStats serves GET /api/stats.
func handleStats(src StatsSource) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		reqCtx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		st, err := src.Stats(reqCtx)
		if err != nil {
			if errors.Is(err, storage.ErrListBusy) {
				ctx.Response.Header.Set(fasthttp.HeaderRetryAfter, "1")
			}
			reply.Error(ctx, fasthttp.StatusServiceUnavailable, "stats unavailable: "+err.Error())
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		reply.JSON(ctx, fasthttp.StatusOK, st)
	}
}
