package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

func TestStore_ListOrdersPagesNewestFirst(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx := context.Background()
		if n, err := s.CountOrders(ctx); err != nil || n != 0 {
			t.Fatalf("CountOrders on an empty store = %d, %v", n, err)
		}
		var recs []storage.Record
		for i := range 25 {
			recs = append(recs, storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("list-%02d", i), nil)))
		}
		recs[3].Order.Items = append(recs[3].Order.Items, recs[3].Order.Items[0]) // two items
		recs[3] = storetest.Rec(t, recs[3].Order)
		storetest.Save(t, s, recs...)
		storetest.Save(t, s, recs[5]) // a duplicate adds nothing to the list

		if n, err := s.CountOrders(ctx); err != nil || n != 25 {
			t.Fatalf("CountOrders = %d, %v; want 25", n, err)
		}
		var seen []string
		before := int64(0)
		for page := 0; ; page++ {
			got, err := s.ListOrders(ctx, before, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			for _, o := range got {
				seen = append(seen, o.OrderUID)
			}
			before = got[len(got)-1].Seq
			if page > 3 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 25 || seen[0] != "list-24" || seen[24] != "list-00" {
			t.Fatalf("listed %d orders, %v ... %v; want list-24 down to list-00", len(seen), seen[0], seen[len(seen)-1])
		}

		if got, err := s.ListOrders(ctx, 0, 0); err != nil || len(got) != 1 {
			t.Fatalf("a limit of 0 returned %d, %v; want 1 (limits are clamped to 1..%d)", len(got), err, storage.MaxListLimit)
		}
		got, err := s.ListOrders(ctx, 0, 1000)
		if err != nil || len(got) != 25 {
			t.Fatalf("ListOrders(limit 1000) = %d, %v", len(got), err)
		}
		o := got[21] // list-03
		m := storetest.ModelOrder(t)
		if o.OrderUID != "list-03" || o.Items != 2 || o.Customer != m.Delivery.Name || o.Amount != m.Payment.Amount ||
			o.Currency != "USD" || o.DateCreated.Format("2006-01-02T15:04:05Z07:00") != m.DateCreated {
			t.Fatalf("summary %+v", o)
		}
	})
}
