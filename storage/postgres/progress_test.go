package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/memory"
)

// saveCounting saves recs with a progress func and returns how many times
// it was called.
func saveCounting(t *testing.T, s storage.Store, recs ...storage.Record) ([]storage.Result, int) {
	t.Helper()
	calls := 0
	ctx := storage.WithProgress(storetest.Context(t), func() { calls++ })
	res, err := s.SaveOrders(ctx, recs)
	if err != nil {
		t.Fatalf("SaveOrders: %v", err)
	}
	return res, calls
}

// A save that bisects reports each of its attempts, so that a caller can
// tell a writer finishing attempt after attempt from a stuck one.
func TestPostgres_SaveOrdersReportsEachAttempt(t *testing.T) {
	p := openPostgres(t)
	batch := func(prefix string, refused int) []storage.Record {
		recs := make([]storage.Record, 4)
		for i := range recs {
			recs[i] = storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("%s-%d", prefix, i), func(o *order.Order) {
				if i == refused {
					o.Delivery.City = "Kiryat\x00Mozkin" // 22021: text cannot hold NUL
				}
			}))
		}
		return recs
	}

	if _, calls := saveCounting(t, p, batch("good", -1)...); calls != 1 {
		t.Errorf("a batch saved in one attempt: %d calls; want 1", calls)
	}

	res, calls := saveCounting(t, p, batch("poison", 2)...)
	wantRefused(t, res[2], "22021")
	// [0 1 2 3] refused; the probe reads a stored order and tries it;
	// [0 1] saved; [2 3] refused; [2] refused alone; [3] saved.
	if calls != 7 {
		t.Errorf("a batch bisected around one refused order: %d calls; want 7 (5 attempts, the probe's read and its trial)", calls)
	}

	// Without a progress func nothing is called, and nothing fails.
	if _, err := p.SaveOrders(context.Background(), batch("quiet", 1)); err != nil {
		t.Fatal(err)
	}
}

func TestMemory_SaveOrdersReportsProgressOnce(t *testing.T) {
	recs := []storage.Record{storetest.Rec(t, storetest.OrderWith(t, "a", nil)), storetest.Rec(t, storetest.OrderWith(t, "b", nil))}
	if _, calls := saveCounting(t, memory.New(), recs...); calls != 1 {
		t.Errorf("%d calls; want 1", calls)
	}
}
