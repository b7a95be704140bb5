package writes_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

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

	if _, calls := storetest.SaveCounting(t, p, batch("good", -1)...); calls != 1 {
		t.Errorf("a batch saved in one attempt: %d calls; want 1", calls)
	}

	res, calls := storetest.SaveCounting(t, p, batch("poison", 2)...)
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
