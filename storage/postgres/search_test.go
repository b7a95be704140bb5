package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// datedOrder is the model order under uid, created at, with a track
// number and customer of its own.
func datedOrder(t testing.TB, uid string, at time.Time, track, customer string) storage.Record {
	t.Helper()
	return storetest.Rec(t, storetest.OrderWith(t, uid, func(o *order.Order) {
		o.DateCreated = at.UTC().Format(time.RFC3339Nano)
		o.TrackNumber = track
		o.CustomerID = customer
	}))
}

// uids returns the order_uids of a page.
func uids(page []storage.OrderSummary) []string {
	out := make([]string, len(page))
	for i, s := range page {
		out[i] = s.OrderUID
	}
	return out
}

func TestStore_SearchOrdersFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		storetest.Save(t, s,
			datedOrder(t, "a", day.Add(1*time.Hour), "TRACK-A", "alice"),
			datedOrder(t, "b", day.Add(2*time.Hour), "TRACK-B", "bob"),
			datedOrder(t, "c", day.Add(3*time.Hour), "TRACK-C", "alice"),
			datedOrder(t, "d", day.Add(24*time.Hour), "TRACK-D", "alice"), // the next day, at midnight
			datedOrder(t, "e", day.Add(-time.Second), "TRACK-A", "carol"), // the day before; a track number reused
		)
		f := func(filter storage.OrderFilter, want ...string) {
			t.Helper()
			got, err := s.SearchOrders(ctx, filter, storage.SearchCursor{}, 100)
			if err != nil {
				t.Fatalf("SearchOrders(%+v): %v", filter, err)
			}
			if !slices.Equal(uids(got), want) {
				t.Errorf("SearchOrders(%+v) = %v, want %v", filter, uids(got), want)
			}
		}
		f(storage.OrderFilter{}, "d", "c", "b", "a", "e")                                           // everything, newest created first
		f(storage.OrderFilter{TrackNumber: "TRACK-A"}, "a", "e")                                    // exact
		f(storage.OrderFilter{TrackNumber: "TRACK"})                                                // not a prefix search
		f(storage.OrderFilter{TrackNumber: "track-a"})                                              // nor a case-blind one
		f(storage.OrderFilter{CustomerID: "alice"}, "d", "c", "a")                                  // exact
		f(storage.OrderFilter{CustomerID: "alice", TrackNumber: "TRACK-C"}, "c")                    // together: both must match
		f(storage.OrderFilter{CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)}, "c", "b", "a") // from inclusive, to exclusive
		f(storage.OrderFilter{CreatedFrom: day.Add(time.Hour)}, "d", "c", "b", "a")                 // an order exactly at from is in
		f(storage.OrderFilter{CreatedTo: day.Add(time.Hour)}, "e")                                  // one exactly at to is out
		f(storage.OrderFilter{CustomerID: "alice", CreatedFrom: day.Add(2 * time.Hour)}, "d", "c")

		got, err := s.SearchOrders(ctx, storage.OrderFilter{TrackNumber: "TRACK-B"}, storage.SearchCursor{}, 10)
		if err != nil || len(got) != 1 {
			t.Fatalf("SearchOrders(TRACK-B) = %v, %v", got, err)
		}
		if o := got[0]; o.TrackNumber != "TRACK-B" || o.CustomerID != "bob" || o.Items != 1 || !o.DateCreated.Equal(day.Add(2*time.Hour)) {
			t.Errorf("summary %+v", o)
		}
	})
}

// TestStore_SearchPagesWindowExactlyOnce pages through a date window in
// small pages while orders keep arriving, in the window and around it, many
// sharing one date_created: each order of the window stored before paging
// began comes exactly once, newest created first.
func TestStore_SearchPagesWindowExactlyOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		to := from.Add(time.Hour)
		var recs []storage.Record
		want := map[string]bool{}
		for i := range 300 {
			// Every 3 orders share a second: the cursor must break ties by
			// Seq. Half an hour either side of the window.
			at := from.Add(-30*time.Minute + time.Duration(i/3)*time.Minute)
			uid := fmt.Sprintf("w-%03d", i)
			recs = append(recs, datedOrder(t, uid, at, "T"+uid, "c"+uid))
			if !at.Before(from) && at.Before(to) {
				want[uid] = true
			}
		}
		// Stored out of date order, so Seq does not follow date_created.
		slices.Reverse(recs[100:200])
		storetest.Save(t, s, recs...)

		window := storage.OrderFilter{CreatedFrom: from, CreatedTo: to}
		seen := map[string]int{}
		var cursor storage.SearchCursor
		var last *storage.OrderSummary
		for page := 0; ; page++ {
			got, err := s.SearchOrders(ctx, window, cursor, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			for i := range got {
				o := got[i]
				seen[o.OrderUID]++
				if last != nil && (o.DateCreated.After(last.DateCreated) || o.DateCreated.Equal(last.DateCreated) && o.Seq > last.Seq) {
					t.Fatalf("page %d: %s (%v, seq %d) after %s (%v, seq %d): not newest first", page, o.OrderUID, o.DateCreated, o.Seq, last.OrderUID, last.DateCreated, last.Seq)
				}
				last = &got[i]
			}
			cursor = storage.CursorAfter(got[len(got)-1])
			// New orders arrive while the operator pages: inside the
			// window but newer than the cursor, and outside it.
			storetest.Save(t, s,
				datedOrder(t, fmt.Sprintf("late-in-%d", page), to.Add(-time.Second), "late", "late"),
				datedOrder(t, fmt.Sprintf("late-out-%d", page), to, "late", "late"))
			if page > 100 {
				t.Fatal("paging does not end")
			}
		}
		for uid, n := range seen {
			if n != 1 && want[uid] {
				t.Errorf("%s listed %d times", uid, n)
			}
			if !want[uid] && !strings.HasPrefix(uid, "late-in-") {
				t.Errorf("%s listed: outside the window", uid)
			}
		}
		for uid := range want {
			if seen[uid] == 0 {
				t.Errorf("%s never listed", uid)
			}
		}
		if len(want) != 180 {
			t.Fatalf("the window holds %d orders, want 180: the test's own arithmetic is off", len(want))
		}
	})
}

// TestPostgres_SearchUsesIndexes holds every shape of search to an index
// read: EXPLAIN of each, on a table big enough for the planner to care,
// must name the index and no sequential scan of orders. A date window may
// hold most of the table, so its pages must also come without a sort: in
// index order, read backwards. An exact filter selects few orders, and the
// planner may sort those few.
func TestPostgres_SearchUsesIndexes(t *testing.T) {
	p := openPostgres(t)
	ctx := storetest.Context(t)
	for _, q := range []string{
		`INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id, delivery_service,
			shardkey, sm_id, date_created, oof_shard, doc, item_count)
		 SELECT 'g'||i, 'T'||i, 'E', 'en', '', 'c'||(i % 500), 'd', '1', 1,
			timestamptz '2026-01-01' + i * interval '1 minute', '1', '{}', 1
		 FROM generate_series(1, 20000) i`,
		`INSERT INTO deliveries SELECT order_uid, 'n', 'p', 'z', 'c', 'a', 'r', 'e' FROM orders`,
		`INSERT INTO payments SELECT order_uid, order_uid, '', 'USD', 'p', 1, 1, 'b', 0, 1, 0 FROM orders`,
		`ANALYZE orders`, `ANALYZE deliveries`, `ANALYZE payments`,
	} {
		if _, err := p.Pool().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	cursor := storage.SearchCursor{CreatedMicros: from.Add(time.Hour).UnixMicro(), Seq: 6000}
	f := func(filter storage.OrderFilter, after storage.SearchCursor, index string, sorted bool) {
		t.Helper()
		q, args := searchSQL(filter, after, 20)
		var plan []byte
		if err := p.Pool().QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&plan); err != nil {
			t.Fatalf("explain: %v", err)
		}
		var nodes []string
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			nodes = append(nodes, fmt.Sprintf("%v %v %v", n["Node Type"], n["Relation Name"], n["Index Name"]))
			kids, _ := n["Plans"].([]any)
			for _, k := range kids {
				walk(k.(map[string]any))
			}
		}
		var doc []map[string]any
		if err := json.Unmarshal(plan, &doc); err != nil {
			t.Fatal(err)
		}
		walk(doc[0]["Plan"].(map[string]any))
		all := strings.Join(nodes, "; ")
		if !strings.Contains(all, index) || strings.Contains(all, "Seq Scan orders") || (!sorted && strings.Contains(all, "Sort")) {
			t.Errorf("search %+v after %+v: plan %s; want a read of %s, no sequential scan of orders (a sort allowed: %v)", filter, after, all, index, sorted)
		}
	}
	f(storage.OrderFilter{TrackNumber: "T123"}, storage.SearchCursor{}, "orders_track_number_idx", true)
	f(storage.OrderFilter{CustomerID: "c7"}, storage.SearchCursor{}, "orders_customer_id_idx", true)
	f(storage.OrderFilter{CustomerID: "c7"}, cursor, "orders_customer_id_idx", true)
	f(storage.OrderFilter{CreatedFrom: from, CreatedTo: from.Add(24 * time.Hour)}, storage.SearchCursor{}, "orders_date_created_idx", false)
	f(storage.OrderFilter{CreatedFrom: from, CreatedTo: from.Add(24 * time.Hour)}, cursor, "orders_date_created_idx", false)
	f(storage.OrderFilter{CreatedFrom: from}, storage.SearchCursor{}, "orders_date_created_idx", false)
	f(storage.OrderFilter{CustomerID: "c7", CreatedFrom: from, CreatedTo: from.Add(24 * time.Hour)}, storage.SearchCursor{}, "orders_customer_id_idx", true)
	f(storage.OrderFilter{TrackNumber: "T123", CustomerID: "c123"}, storage.SearchCursor{}, "_idx", true)
}
