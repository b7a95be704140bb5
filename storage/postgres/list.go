package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderd/orderd/storage"
)

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
func (p *Store) ListOrders(ctx context.Context, before int64, limit int) ([]storage.OrderSummary, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	return p.summaries(ctx, "list orders", listOrdersSQL, before, storage.ClampLimit(limit))
}

// CountOrders implements Store. An exact count scans the table (tens of
// milliseconds per million orders); callers that poll it cache the answer.
func (p *Store) CountOrders(ctx context.Context) (int64, error) {
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

// summaries runs query, a list or a search, on a connection of the list
// pool and reads its rows (the columns of storage.OrderSummary, in order);
// op names it in errors.
func (p *Store) summaries(ctx context.Context, op, query string, args ...any) ([]storage.OrderSummary, error) {
	conn, err := p.acquireList(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []storage.OrderSummary
	for rows.Next() {
		var s storage.OrderSummary
		if err := rows.Scan(&s.Seq, &s.OrderUID, &s.DateCreated, &s.Customer, &s.Amount, &s.Currency, &s.Items,
			&s.TrackNumber, &s.CustomerID); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		s.DateCreated = s.DateCreated.UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// acquireList takes a connection of the list pool, waiting at most
// listWait for one to be free: beyond that the caller is told ErrListBusy
// (a 503 for the API) rather than queued without end.
//
// listWait bounds the wait behind other list queries only. A wait that
// ran out while a list connection was free was for one being dialled (a
// slow network, a loaded server), and goes on, on the caller's time: the
// query is not refused as busy when nothing else was running.
func (p *Store) acquireList(ctx context.Context) (*pgxpool.Conn, error) {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, p.listWait)
		conn, err := p.list.Acquire(waitCtx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
			return conn, err
		}
		if s := p.list.Stat(); s.AcquiredConns() >= s.MaxConns() {
			return nil, storage.ErrListBusy
		}
	}
}
