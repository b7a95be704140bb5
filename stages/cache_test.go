package stages

import (
	"bytes"
	"context"
	"testing"

	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage"
)

func TestCache_PutsStoredOrdersThenAcks(t *testing.T) {
	cache, err := storage.NewCache(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	orders := storage.NewOrders(storage.NewMemory(), cache, storage.OrdersOptions{})

	o := orderfake.Model()
	v, a := valid(0, &o)
	in := make(chan Valid, 1)
	in <- v
	close(in)
	if err := Cache(orders, testMetrics().Cache, nil)(context.Background(), in); err != nil {
		t.Fatalf("cache stage: %v", err)
	}
	a.assert(t, 1, 0)

	got, err := orders.Get(context.Background(), o.OrderUID)
	if err != nil || !bytes.Equal(got, v.Value.JSON) {
		t.Fatalf("Get = %s, %v; want the cached JSON", got, err)
	}
	// The memory store is empty: the answer came from the cache.
	if q := orders.Stats().Queries; q != 0 {
		t.Fatalf("%d store queries, want 0", q)
	}
}
