package storage

import "time"

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

// ClampLimit is the number of orders a list or search of limit returns at
// most: at least one, at most MaxListLimit.
func ClampLimit(limit int) int {
	return min(max(limit, 1), MaxListLimit)
}

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
