package stages

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/stages/internal/stagetest"
	"github.com/orderd/orderd/storage/memory"
	"github.com/orderd/orderd/storage/reads"
)

func TestCache_PutsStoredOrdersThenAcks(t *testing.T) {
	cache, err := reads.NewCache(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	orders := reads.NewOrders(memory.New(), cache, reads.OrdersOptions{})

	o := orderfake.Model()
	v, _ := valid(0, &o)
	want := v.Value.JSON
	// Put, then ack: whatever follows the ack (the offset's commit, the end
	// of a shutdown's drain) may count on the order being readable from the
	// cache. Both have happened once the stage returns, whatever their
	// order, so the ack itself looks.
	v, a := stagetest.AckChecked(v, func() error {
		got, err := orders.Get(context.Background(), o.OrderUID)
		if err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("a read of the order when it was acked: %s, %v; want the cached JSON", got, err)
		}
		return nil
	})
	in := make(chan Valid, 1)
	in <- v
	close(in)
	if err := Cache(orders, testMetrics().Cache, nil)(context.Background(), in); err != nil {
		t.Fatalf("cache stage: %v", err)
	}
	a.Assert(t, 1, 0)
	a.AssertCheckedAtAck(t)

	got, err := orders.Get(context.Background(), o.OrderUID)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get = %s, %v; want the cached JSON", got, err)
	}
	// The memory store is empty: the answer came from the cache.
	if q := orders.Stats().Queries; q != 0 {
		t.Fatalf("%d store queries, want 0", q)
	}
}
