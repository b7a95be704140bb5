package storage

import (
	"fmt"
	"testing"
)

// BenchmarkPostgres_SaveOrders saves batches of 1,000 new orders, the
// pipeline's batch size, against the real PostgreSQL; orders/s is the figure
// to compare with LIMITS.md.
func BenchmarkPostgres_SaveOrders(b *testing.B) {
	const batch = 1000
	p := openPostgres(b)
	recs := make([]Record, batch)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range recs {
			recs[j] = rec(b, orderWith(b, fmt.Sprintf("bench-%d-%d", i, j), nil))
		}
		b.StartTimer()
		res, err := p.SaveOrders(testContext(b), recs)
		if err != nil {
			b.Fatal(err)
		}
		if res[batch-1].Outcome != Inserted {
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
	recs := make([]Record, batch)
	for j := range recs {
		recs[j] = rec(b, orderWith(b, fmt.Sprintf("bench-%d", j), nil))
	}
	save(b, p, recs...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := p.SaveOrders(testContext(b), recs)
		if err != nil {
			b.Fatal(err)
		}
		if res[batch-1].Outcome != Duplicate {
			b.Fatalf("outcome %v, want duplicate", res[batch-1].Outcome)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "orders/s")
}
