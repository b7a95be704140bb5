package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderd/orderd/order"
)

// OrderSummary is one line of a list of orders: what a person scanning
// recent orders needs to pick one.
type OrderSummary struct {
	// Seq is the order's place in ingest order, newest highest: the cursor
	// of ListOrders.
	Seq         int64
	OrderUID    string
	DateCreated time.Time
	Customer    string // delivery.name
	Amount      int64  // payment.amount, minor units of Currency
	Currency    string
	Items       int
	TrackNumber string
	CustomerID  string
}

// MaxListLimit is the most orders one ListOrders call returns.
const MaxListLimit = 100

// listOrdersSQL pages by the ingest sequence (keyset pagination): each page
// starts where an index scan of orders_id_key left off, so page N costs what
// page 1 does, unlike OFFSET.
const listOrdersSQL = `
SELECT o.id, o.order_uid, o.date_created, d.name, p.amount, p.currency,
       -- 0: written before item_count existed; counted here instead.
       coalesce(nullif(o.item_count, 0), (SELECT count(*) FROM items i WHERE i.order_uid = o.order_uid)),
       o.track_number, o.customer_id
FROM orders o
JOIN deliveries d USING (order_uid)
JOIN payments p USING (order_uid)
WHERE o.id < $1
ORDER BY o.id DESC
LIMIT $2`

// ListOrders implements Store.
func (p *Postgres) ListOrders(ctx context.Context, before int64, limit int) ([]OrderSummary, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	conn, err := p.acquireList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, listOrdersSQL, before, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	var out []OrderSummary
	for rows.Next() {
		var s OrderSummary
		if err := rows.Scan(&s.Seq, &s.OrderUID, &s.DateCreated, &s.Customer, &s.Amount, &s.Currency, &s.Items, &s.TrackNumber, &s.CustomerID); err != nil {
			return nil, fmt.Errorf("list orders: %w", err)
		}
		s.DateCreated = s.DateCreated.UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	return out, nil
}

// CountOrders implements Store. An exact count scans the table (tens of
// milliseconds per million orders); callers that poll it cache the answer.
func (p *Postgres) CountOrders(ctx context.Context) (int64, error) {
	conn, err := p.acquireList(ctx)
	if err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	defer conn.Release()
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	return n, nil
}

// acquireList takes a connection of the list pool, waiting at most
// listWait for one to be free: beyond that the caller is told ErrListBusy
// (a 503 for the API) rather than queued without end.
func (p *Postgres) acquireList(ctx context.Context) (*pgxpool.Conn, error) {
	waitCtx, cancel := context.WithTimeout(ctx, p.listWait)
	defer cancel()
	conn, err := p.list.Acquire(waitCtx)
	if err != nil && ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
		return nil, ErrListBusy
	}
	return conn, err
}

// ListOrders implements Store.
func (m *Memory) ListOrders(ctx context.Context, before int64, limit int) ([]OrderSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	// Seq is the 1-based position in insertion order.
	end := int64(len(m.summaries))
	if before > 0 && before-1 < end {
		end = before - 1
	}
	limit = clampLimit(limit)
	var out []OrderSummary
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.summaries[i])
	}
	return out, nil
}

// CountOrders implements Store.
func (m *Memory) CountOrders(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.summaries)), nil
}

// summaryOf summarizes o under the uid the store keeps. The strings are
// copied: a decoded order's strings share one allocation, which a summary
// should not keep alive.
func summaryOf(seq int64, uid string, o *order.Order) OrderSummary {
	created, _ := order.CreatedAt(o) // validated before it was stored
	return OrderSummary{
		Seq:         seq,
		OrderUID:    uid,
		DateCreated: created,
		Customer:    strings.Clone(o.Delivery.Name),
		Amount:      o.Payment.Amount,
		Currency:    strings.Clone(o.Payment.Currency),
		Items:       len(o.Items),
		TrackNumber: strings.Clone(o.TrackNumber),
		CustomerID:  strings.Clone(o.CustomerID),
	}
}

func clampLimit(limit int) int {
	return min(max(limit, 1), MaxListLimit)
}
