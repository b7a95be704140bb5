package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OrderFilter narrows a search of the stored orders. Every field set must
// match; the zero OrderFilter matches every order.
type OrderFilter struct {
	TrackNumber string    // exactly orders.track_number
	CustomerID  string    // exactly orders.customer_id
	CreatedFrom time.Time // date_created at or after it; zero: no lower bound
	CreatedTo   time.Time // date_created before it; zero: no upper bound
}

// IsZero reports whether f matches every order.
func (f OrderFilter) IsZero() bool {
	return f.TrackNumber == "" && f.CustomerID == "" && f.CreatedFrom.IsZero() && f.CreatedTo.IsZero()
}

// SearchCursor is where a page of SearchOrders ended: the last order's
// date_created (to the microsecond, as PostgreSQL keeps it) and Seq. The
// zero SearchCursor starts from the newest.
type SearchCursor struct {
	CreatedMicros int64
	Seq           int64
}

// IsZero reports whether c is the start.
func (c SearchCursor) IsZero() bool { return c.Seq == 0 }

// CursorAfter is the cursor of the page that follows s.
func CursorAfter(s OrderSummary) SearchCursor {
	return SearchCursor{CreatedMicros: s.DateCreated.UnixMicro(), Seq: s.Seq}
}

// searchSQL builds the query of one search. Only the conditions f uses
// are written, rather than "$1 IS NULL OR ...", so that each shape gets a
// plan of its own that can use its index (a generic plan of the catch-all
// form cannot). The order, (date_created, id) newest first, is the tail of
// each of the search indexes (migrations 000003-000005), so a page is an
// index range read backwards, without a sort, and the cursor condition is a
// bound of that same range: page N costs what page 1 does.
func searchSQL(f OrderFilter, after SearchCursor, limit int) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.TrackNumber != "" {
		where = append(where, "o.track_number = "+arg(f.TrackNumber))
	}
	if f.CustomerID != "" {
		where = append(where, "o.customer_id = "+arg(f.CustomerID))
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, "o.date_created >= "+arg(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		where = append(where, "o.date_created < "+arg(f.CreatedTo))
	}
	if !after.IsZero() {
		c := arg(time.UnixMicro(after.CreatedMicros).UTC())
		where = append(where, "(o.date_created, o.id) < ("+c+", "+arg(after.Seq)+")")
	}
	q := `
SELECT o.id, o.order_uid, o.date_created, d.name, p.amount, p.currency,
       coalesce(nullif(o.item_count, 0), (SELECT count(*) FROM items i WHERE i.order_uid = o.order_uid)),
       o.track_number, o.customer_id
FROM orders o
JOIN deliveries d USING (order_uid)
JOIN payments p USING (order_uid)`
	if len(where) > 0 {
		q += "\nWHERE " + strings.Join(where, " AND ")
	}
	q += "\nORDER BY o.date_created DESC, o.id DESC\nLIMIT " + arg(clampLimit(limit))
	return q, args
}

// SearchOrders implements Store.
func (p *Postgres) SearchOrders(ctx context.Context, f OrderFilter, after SearchCursor, limit int) ([]OrderSummary, error) {
	conn, err := p.acquireList(ctx)
	if err != nil {
		return nil, fmt.Errorf("search orders: %w", err)
	}
	defer conn.Release()
	q, args := searchSQL(f, after, limit)
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search orders: %w", err)
	}
	defer rows.Close()
	var out []OrderSummary
	for rows.Next() {
		var s OrderSummary
		if err := rows.Scan(&s.Seq, &s.OrderUID, &s.DateCreated, &s.Customer, &s.Amount, &s.Currency, &s.Items,
			&s.TrackNumber, &s.CustomerID); err != nil {
			return nil, fmt.Errorf("search orders: %w", err)
		}
		s.DateCreated = s.DateCreated.UTC()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search orders: %w", err)
	}
	return out, nil
}

// SearchOrders implements Store, by a scan: demo mode holds few orders.
func (m *Memory) SearchOrders(ctx context.Context, f OrderFilter, after SearchCursor, limit int) ([]OrderSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	var hits []OrderSummary
	for _, s := range m.summaries {
		if f.matches(s) && (after.IsZero() || searchKeyLess(s, after)) {
			hits = append(hits, s)
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(hits, func(a, b OrderSummary) int {
		if c := -compareInt(a.DateCreated.UnixMicro(), b.DateCreated.UnixMicro()); c != 0 {
			return c
		}
		return -compareInt(a.Seq, b.Seq)
	})
	return hits[:min(len(hits), clampLimit(limit))], nil
}

func (f OrderFilter) matches(s OrderSummary) bool {
	return (f.TrackNumber == "" || s.TrackNumber == f.TrackNumber) &&
		(f.CustomerID == "" || s.CustomerID == f.CustomerID) &&
		(f.CreatedFrom.IsZero() || !s.DateCreated.Before(f.CreatedFrom)) &&
		(f.CreatedTo.IsZero() || s.DateCreated.Before(f.CreatedTo))
}

// searchKeyLess reports whether s comes after the cursor c: (date_created,
// seq) below c's, as PostgreSQL compares the row.
func searchKeyLess(s OrderSummary, c SearchCursor) bool {
	us := s.DateCreated.UnixMicro()
	return us < c.CreatedMicros || (us == c.CreatedMicros && s.Seq < c.Seq)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
