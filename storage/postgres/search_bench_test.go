package postgres

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// searchBenchOrders is the table size of the search target: "with 100,000
// orders stored, each filtered request answers in 25 ms at p95".
const searchBenchOrders = 100_000

// fillForSearch stores n bare orders straight into the tables (SaveOrders
// would take minutes): unique track numbers, 10 orders per customer, and
// date_created spread over 30 days, in an order unrelated to the ingest
// sequence. Then ANALYZE, as autovacuum would.
func fillForSearch(b *testing.B, p *Store, n int) {
	b.Helper()
	ctx := storetest.Context(b)
	for _, q := range []string{
		`INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id, delivery_service,
			shardkey, sm_id, date_created, oof_shard, doc, item_count)
		 SELECT 'b'||i, 'TRK'||i, 'WBIL', 'en', '', 'cust'||(i % ($1 / 10)), 'meest', '1', 1,
			timestamptz '2026-01-01' + ((i * 7919) % $1) * (interval '30 days' / $1), '1', '{}', 1
		 FROM generate_series(1, $1::int) i`,
		`INSERT INTO deliveries SELECT order_uid, 'Name', '+1', 'z', 'City', 'Addr', 'R', 'e@x' FROM orders`,
		`INSERT INTO payments SELECT order_uid, order_uid, '', 'USD', 'wbpay', 1817, 1637907727, 'alpha', 1500, 317, 0 FROM orders`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, n)
		}
		if _, err := p.Pool().Exec(ctx, q, args...); err != nil {
			b.Fatalf("%.60s: %v", q, err)
		}
	}
	for _, q := range []string{`ANALYZE orders`, `ANALYZE deliveries`, `ANALYZE payments`} {
		if _, err := p.Pool().Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostgres_SearchOrders times each shape of GET /api/orders's
// search on 100,000 orders, a page of 20 each, and reports the p95 of its
// requests: the target is 25 ms.
func BenchmarkPostgres_SearchOrders(b *testing.B) {
	p := openPostgres(b)
	fillForSearch(b, p, searchBenchOrders)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(19, 19))
	day := func() time.Time { return start.Add(time.Duration(rng.IntN(29)) * 24 * time.Hour) }
	// A cursor deep into a day's orders: page 50 of its ~3,300.
	deep := func(f storage.OrderFilter) storage.SearchCursor {
		var c storage.SearchCursor
		for range 50 {
			page, err := p.SearchOrders(storetest.Context(b), f, c, 20)
			if err != nil || len(page) == 0 {
				b.Fatalf("page: %v (%d)", err, len(page))
			}
			c = storage.CursorAfter(page[len(page)-1])
		}
		return c
	}
	shapes := []struct {
		name  string
		query func() (storage.OrderFilter, storage.SearchCursor)
	}{
		{"track_number", func() (storage.OrderFilter, storage.SearchCursor) {
			return storage.OrderFilter{TrackNumber: "TRK" + itoa(1+rng.IntN(searchBenchOrders))}, storage.SearchCursor{}
		}},
		{"customer_id", func() (storage.OrderFilter, storage.SearchCursor) {
			return storage.OrderFilter{CustomerID: "cust" + itoa(rng.IntN(searchBenchOrders/10))}, storage.SearchCursor{}
		}},
		{"day", func() (storage.OrderFilter, storage.SearchCursor) {
			d := day()
			return storage.OrderFilter{CreatedFrom: d, CreatedTo: d.Add(24 * time.Hour)}, storage.SearchCursor{}
		}},
		{"day_page_50", func() (storage.OrderFilter, storage.SearchCursor) {
			d := day()
			f := storage.OrderFilter{CreatedFrom: d, CreatedTo: d.Add(24 * time.Hour)}
			return f, deep(f)
		}},
		{"customer_and_month", func() (storage.OrderFilter, storage.SearchCursor) {
			return storage.OrderFilter{CustomerID: "cust" + itoa(rng.IntN(searchBenchOrders/10)), CreatedFrom: start, CreatedTo: start.Add(30 * 24 * time.Hour)}, storage.SearchCursor{}
		}},
		{"since_a_date", func() (storage.OrderFilter, storage.SearchCursor) {
			return storage.OrderFilter{CreatedFrom: day()}, storage.SearchCursor{}
		}},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			took := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f, c := s.query()
				b.StartTimer()
				t0 := time.Now()
				page, err := p.SearchOrders(storetest.Context(b), f, c, 20)
				took = append(took, time.Since(t0))
				if err != nil || len(page) == 0 {
					b.Fatalf("%+v: %d orders, %v", f, len(page), err)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
