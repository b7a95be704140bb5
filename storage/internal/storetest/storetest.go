// Package storetest holds the test helpers the storage packages share:
// orders built from the model order, and a store on a fresh database of the
// test's own. It never imports a storage sub-package, so each of them can
// use it in its own tests.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
)

// ModelOrder returns a fresh copy of the canonical order.
func ModelOrder(t testing.TB) *order.Order {
	t.Helper()
	// Found from this file, not the working directory: the tests that call
	// it run in packages at different depths.
	_, here, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(here), "../../../order/orderfake/model.json"))
	if err != nil {
		t.Fatalf("read model order: %v", err)
	}
	var o order.Order
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("decode model order: %v", err)
	}
	return &o
}

// OrderWith returns the model order under uid, changed by edit (if any). The
// copy shares nothing with other orders.
func OrderWith(t testing.TB, uid string, edit func(o *order.Order)) *order.Order {
	t.Helper()
	o := ModelOrder(t)
	o.OrderUID = uid
	o.Payment.Transaction = uid
	o.Items = slices.Clone(o.Items)
	if edit != nil {
		edit(o)
	}
	return o
}

// Rec returns o with its JSON; encoding/json stands in for the canonical
// encoder here.
func Rec(t testing.TB, o *order.Order) storage.Record {
	t.Helper()
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("encode order %q: %v", o.OrderUID, err)
	}
	return storage.Record{Order: o, JSON: data}
}

// ThreeItems makes o conflict with the model: three items instead of one.
func ThreeItems(o *order.Order) {
	it := o.Items[0]
	o.Items = []order.Item{it, it, it}
	o.Items[1].ChrtID++
	o.Items[2].ChrtID += 2
}

// Context is a context for one step of a test, bounded so that a hung store
// fails the test instead of stalling it.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Open opens a store with open (postgres.Open, say) on a fresh database of
// its own, closed when the test ends.
func Open[S interface{ Close() }](t testing.TB, open func(ctx context.Context, url string) (S, error)) S {
	t.Helper()
	url := testenv.Postgres(t)
	s, err := open(Context(t), url)
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Count returns the result of a count(*) query.
func Count(t testing.TB, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(Context(t), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Save calls SaveOrders and fails the test on a batch error.
func Save(t testing.TB, s storage.Store, recs ...storage.Record) []storage.Result {
	t.Helper()
	res, err := s.SaveOrders(Context(t), recs)
	if err != nil {
		t.Fatalf("SaveOrders: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("SaveOrders: %d results for %d records", len(res), len(recs))
	}
	return res
}

// Outcomes extracts the outcomes of res.
func Outcomes(res []storage.Result) []storage.Outcome {
	out := make([]storage.Outcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}

// SaveN stores n orders named prefix-0 ... in batches of batch, and returns
// their uids.
func SaveN(t testing.TB, s storage.Store, prefix string, n, batch int) []string {
	t.Helper()
	var uids []string
	for i := 0; i < n; i += batch {
		var recs []storage.Record
		for j := i; j < min(n, i+batch); j++ {
			uid := fmt.Sprintf("%s-%d", prefix, j)
			recs = append(recs, Rec(t, OrderWith(t, uid, nil)))
			uids = append(uids, uid)
		}
		for k, r := range Save(t, s, recs...) {
			if r.Outcome != storage.Inserted {
				t.Fatalf("%s: %v", recs[k].Order.OrderUID, r.Outcome)
			}
		}
	}
	return uids
}

// SaveCounting saves recs with a progress func and returns how many times
// it was called.
func SaveCounting(t *testing.T, s storage.Store, recs ...storage.Record) ([]storage.Result, int) {
	t.Helper()
	calls := 0
	ctx := storage.WithProgress(Context(t), func() { calls++ })
	res, err := s.SaveOrders(ctx, recs)
	if err != nil {
		t.Fatalf("SaveOrders: %v", err)
	}
	return res, calls
}
