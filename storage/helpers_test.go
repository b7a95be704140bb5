package storage

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
)

// modelOrder returns a fresh copy of the canonical order.
func modelOrder(t testing.TB) *order.Order {
	t.Helper()
	data, err := os.ReadFile("../order/orderfake/model.json")
	if err != nil {
		t.Fatalf("read model order: %v", err)
	}
	var o order.Order
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("decode model order: %v", err)
	}
	return &o
}

// orderWith returns the model order under uid, changed by edit (if any). The
// copy shares nothing with other orders.
func orderWith(t testing.TB, uid string, edit func(o *order.Order)) *order.Order {
	t.Helper()
	o := modelOrder(t)
	o.OrderUID = uid
	o.Payment.Transaction = uid
	o.Items = slices.Clone(o.Items)
	if edit != nil {
		edit(o)
	}
	return o
}

// rec returns o with its JSON; encoding/json stands in for the canonical
// encoder here.
func rec(t testing.TB, o *order.Order) Record {
	t.Helper()
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("encode order %q: %v", o.OrderUID, err)
	}
	return Record{Order: o, JSON: data}
}

// threeItems makes o conflict with the model: three items instead of one.
func threeItems(o *order.Order) {
	it := o.Items[0]
	o.Items = []order.Item{it, it, it}
	o.Items[1].ChrtID++
	o.Items[2].ChrtID += 2
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openPostgres opens a Postgres store on a fresh database of its own.
func openPostgres(t testing.TB) *Postgres {
	t.Helper()
	url := testenv.Postgres(t)
	p, err := OpenPostgres(testContext(t), url)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// count returns the result of a count(*) query.
func count(t testing.TB, p *Postgres, query string, args ...any) int {
	t.Helper()
	var n int
	if err := p.Pool().QueryRow(testContext(t), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// save calls SaveOrders and fails the test on a batch error.
func save(t testing.TB, s Store, recs ...Record) []Result {
	t.Helper()
	res, err := s.SaveOrders(testContext(t), recs)
	if err != nil {
		t.Fatalf("SaveOrders: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("SaveOrders: %d results for %d records", len(res), len(recs))
	}
	return res
}

// outcomes extracts the outcomes of res.
func outcomes(res []Result) []Outcome {
	out := make([]Outcome, len(res))
	for i, r := range res {
		out[i] = r.Outcome
	}
	return out
}
