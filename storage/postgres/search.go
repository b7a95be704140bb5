package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/orderd/orderd/storage"
)

// searchSQL builds the query of one search. Only the conditions f uses
// are written, rather than "$1 IS NULL OR ...", so that each shape gets a
// plan of its own that can use its index (a generic plan of the catch-all
// form cannot). The order, (date_created, id) newest first, is the tail of
// each of the search indexes (migrations 000003-000005), so a page is an
// index range read backwards, without a sort, and the cursor condition is a
// bound of that same range: page N costs what page 1 does.
func searchSQL(f storage.OrderFilter, after storage.SearchCursor, limit int) (string, []any) {
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
	q += "\nORDER BY o.date_created DESC, o.id DESC\nLIMIT " + arg(storage.ClampLimit(limit))
	return q, args
}

// SearchOrders implements Store.
func (p *Store) SearchOrders(ctx context.Context, f storage.OrderFilter, after storage.SearchCursor, limit int) ([]storage.OrderSummary, error) {
	q, args := searchSQL(f, after, limit)
	return p.summaries(ctx, "search orders", q, args...)
}
