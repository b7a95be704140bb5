package writes_test

import (
	"fmt"
	"testing"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// BenchmarkPostgres_SaveOrders saves batches of 1,000 new orders, the
// pipeline's batch size, against the real PostgreSQL; orders/s is the figure
// to compare with LIMITS.md.
func BenchmarkPostgres_SaveOrders(b *testing.B) {
	const batch = 1000
	p := openPostgres(b)
	recs := make([]storage.Record, batch)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range recs {
			recs[j] = storetest.Rec(b, storetest.OrderWith(b, fmt.Sprintf("bench-%d-%d", i, j), nil))
		}
		b.StartTimer()
		res, err := p.SaveOrders(storetest.Context(b), recs)
		if err != nil {
			b.Fatal(err)
		}
		if res[batch-1].Outcome != storage.Inserted {
			b.Fatalf("outcome %v, want inserted", res[batch-1].Outcome)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkPostgres_SaveOrdersRedelivery saves the same 1,000 stored orders
// again: the path of a batch retried after a lost commit acknowledgement.
func BenchmarkPostgres_SaveOrdersRedelivery(b *testing.B) {
	const batch = 1000
	p := openPostgres(b)
	recs := make([]storage.Record, batch)
	for j := range recs {
		recs[j] = storetest.Rec(b, storetest.OrderWith(b, fmt.Sprintf("bench-%d", j), nil))
	}
	storetest.Save(b, p, recs...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := p.SaveOrders(storetest.Context(b), recs)
		if err != nil {
			b.Fatal(err)
		}
		if res[batch-1].Outcome != storage.Duplicate {
			b.Fatalf("outcome %v, want duplicate", res[batch-1].Outcome)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "orders/s")
}
