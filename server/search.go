package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/storage"
)

// orderQuery is a parsed GET /api/orders: a page of the newest stored
// orders, or of a search.
type orderQuery struct {
	limit  int
	filter storage.OrderFilter
	// before is the cursor of a list (the ingest sequence); after, of a
	// search ((date_created, seq) of the last order shown).
	before int64
	after  storage.SearchCursor
}

// queryError is a 400 naming the parameter at fault.
type queryError struct{ msg string }

func badParam(name, want string) *queryError {
	return &queryError{msg: "invalid " + name + ": " + want}
}

// orderQueryParams are the parameters GET /api/orders takes; any other is
// refused, so a misspelt filter is not silently a list of everything.
var orderQueryParams = []string{"limit", "before", "track_number", "customer_id", "created_from", "created_to"}

// maxFilterLen bounds an exact filter: longer than any stored value is
// likely to be, shorter than what PostgreSQL can hold in an index entry.
const maxFilterLen = 256

// parseOrderQuery reads the query string of GET /api/orders.
func parseOrderQuery(args *fasthttp.Args) (orderQuery, *queryError) {
	seen := map[string]bool{}
	for k := range args.All() {
		name := string(k)
		switch {
		case !isOrderQueryParam(name):
			return orderQuery{}, &queryError{msg: "unknown parameter " + strconv.Quote(name) + "; GET /api/orders takes " + strings.Join(orderQueryParams, ", ")}
		case seen[name]:
			return orderQuery{}, &queryError{msg: "parameter " + name + " given more than once"}
		}
		seen[name] = true
	}
	q := orderQuery{limit: defaultListLimit}
	if raw := args.Peek("limit"); len(raw) > 0 {
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 1 || n > storage.MaxListLimit {
			return q, badParam("limit", "want an integer from 1 to "+strconv.Itoa(storage.MaxListLimit))
		}
		q.limit = n
	}
	exact := func(name string, dst *string) *queryError {
		if !args.Has(name) {
			return nil
		}
		v := string(args.Peek(name))
		switch {
		case v == "":
			return badParam(name, "empty; leave it out to not filter by it")
		case len(v) > maxFilterLen:
			return badParam(name, "longer than "+strconv.Itoa(maxFilterLen)+" bytes")
		}
		*dst = v
		return nil
	}
	stamp := func(name string, dst *time.Time) *queryError {
		if !args.Has(name) {
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, string(args.Peek(name)))
		if err != nil {
			return badParam(name, "want an RFC 3339 date-time, such as 2026-03-01T00:00:00Z (a + in the offset is written %2B)")
		}
		*dst = t
		return nil
	}
	for _, e := range []*queryError{
		exact("track_number", &q.filter.TrackNumber),
		exact("customer_id", &q.filter.CustomerID),
		stamp("created_from", &q.filter.CreatedFrom),
		stamp("created_to", &q.filter.CreatedTo),
	} {
		if e != nil {
			return q, e
		}
	}
	if f := q.filter; !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		return q, badParam("created_to", "must be after created_from (from is inclusive, to exclusive)")
	}
	if raw := args.Peek("before"); len(raw) > 0 {
		if !parseCursor(string(raw), &q) {
			return q, badParam("before", "pass back the next value of the previous page, with the same filters")
		}
	}
	return q, nil
}

func isOrderQueryParam(name string) bool {
	for _, p := range orderQueryParams {
		if p == name {
			return true
		}
	}
	return false
}

// A list's cursor is the last order's ingest sequence, "123"; a search's
// is its date_created in Unix microseconds and its sequence, "1767225600000000_123".
// The two shapes keep a cursor to the kind of page it was made for.

func parseCursor(raw string, q *orderQuery) bool {
	micros, seq, search := strings.Cut(raw, "_")
	if search != !q.filter.IsZero() {
		return false
	}
	if !search {
		n, err := strconv.ParseInt(raw, 10, 64)
		q.before = n
		return err == nil && n > 0
	}
	m, err := strconv.ParseInt(micros, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if err != nil || err2 != nil || n <= 0 {
		return false
	}
	q.after = storage.SearchCursor{CreatedMicros: m, Seq: n}
	return true
}

// nextCursor is the cursor of the page after one ending with last.
func (q orderQuery) nextCursor(last storage.OrderSummary) string {
	if q.filter.IsZero() {
		return strconv.FormatInt(last.Seq, 10)
	}
	c := storage.CursorAfter(last)
	return strconv.FormatInt(c.CreatedMicros, 10) + "_" + strconv.FormatInt(c.Seq, 10)
}
