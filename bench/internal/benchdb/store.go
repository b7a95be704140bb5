// Package benchdb is the bench's direct access to orderd's PostgreSQL:
// opening the store with orderd's migrations, seeding generated orders,
// counting and reading them back, and VACUUM, so a mode can prepare a
// database and compare orderd with the raw write and read rates.
//
// It never imports another bench package, nor Kafka or HTTP clients.
package benchdb

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/postgres"
)

// OpenStore opens orderd's store on dbURL, applying orderd's migrations as
// orderd would, so a fresh database can be seeded and counted; writers is
// how many batches are saved at once.
func OpenStore(ctx context.Context, dbURL string, writers int) (*postgres.Store, error) {
	pools := postgres.DefaultPools
	pools.Writers = writers
	pg, err := postgres.OpenWith(ctx, dbURL, pools)
	if err != nil {
		return nil, fmt.Errorf("open DATABASE_URL: %w", err)
	}
	return pg, nil
}

// CountOrders returns how many orders the database holds and the bytes of
// their JSON.
func CountOrders(ctx context.Context, dbURL string) (n, jsonBytes int64, err error) {
	pg, err := OpenStore(ctx, dbURL, 1)
	if err != nil {
		return 0, 0, err
	}
	defer pg.Close()
	err = pg.Pool().QueryRow(ctx, `SELECT count(*), coalesce(sum(octet_length(doc)), 0) FROM orders`).Scan(&n, &jsonBytes)
	if err != nil {
		return 0, 0, fmt.Errorf("count orders: %w", err)
	}
	return n, jsonBytes, nil
}

// SeqRead is one plain read of every stored order.
type SeqRead struct {
	Orders int64         // rows read
	Bytes  int64         // bytes of their order_uid and doc
	Took   time.Duration // from the query to its last row, opening the store excluded
}

// ReadAllOrders reads every order's order_uid and doc once, in id order, in
// one query (the store's own EachOrderJSON, one stream), and discards them:
// what the plainest warm-up, one stream and no cache, would cost.
func ReadAllOrders(ctx context.Context, dbURL string) (SeqRead, error) {
	pg, err := OpenStore(ctx, dbURL, 1)
	if err != nil {
		return SeqRead{}, err
	}
	defer pg.Close()
	var r SeqRead
	start := time.Now()
	err = pg.EachOrderJSON(ctx, 1, func(uid string, json []byte) error {
		r.Orders++
		r.Bytes += int64(len(uid) + len(json))
		return nil
	})
	r.Took = time.Since(start)
	if err != nil {
		return SeqRead{}, err
	}
	return r, nil
}

// Vacuum runs VACUUM (ANALYZE) on the orders table.
func Vacuum(ctx context.Context, dbURL string) error {
	pg, err := OpenStore(ctx, dbURL, 1)
	if err != nil {
		return err
	}
	defer pg.Close()
	if _, err := pg.Pool().Exec(ctx, `VACUUM (ANALYZE) orders`); err != nil {
		return fmt.Errorf("vacuum orders: %w", err)
	}
	return nil
}

// Generate makes n valid orders with their canonical JSON.
func Generate(seed uint64, n int) []storage.Record {
	gen := orderfake.NewAt(seed, time.Now())
	recs := make([]storage.Record, n)
	for i := range recs {
		o := gen.Order()
		recs[i] = storage.Record{Order: &o, JSON: order.AppendJSON(nil, &o)}
	}
	return recs
}

// SaveRaw writes recs straight to PostgreSQL through the store's batch
// path, batch orders per transaction, writers transactions at once: what
// orderd's writer does, without Kafka, decoding or the cache. It returns
// the orders/s achieved.
func SaveRaw(ctx context.Context, dbURL string, recs []storage.Record, batch, writers int, progress io.Writer) (float64, error) {
	pg, err := OpenStore(ctx, dbURL, writers)
	if err != nil {
		return 0, err
	}
	defer pg.Close()
	batches := make(chan []storage.Record)
	var (
		wg    sync.WaitGroup
		done  atomic.Int64
		first error
		mu    sync.Mutex
	)
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for b := range batches {
				if _, err := pg.SaveOrders(ctx, b); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				if n := done.Add(int64(len(b))); progress != nil && n%(int64(batch)*50) == 0 {
					fmt.Fprintf(progress, "\r  %d of %d orders written", n, len(recs))
				}
			}
		})
	}
	for i := 0; i < len(recs); i += batch {
		select {
		case batches <- recs[i:min(i+batch, len(recs))]:
		case <-ctx.Done():
		}
	}
	close(batches)
	wg.Wait()
	if progress != nil {
		fmt.Fprintln(progress)
	}
	if first != nil {
		return 0, first
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(len(recs)) / time.Since(start).Seconds(), nil
}
