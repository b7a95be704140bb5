package ingest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/bench/internal/benchdb"
	"github.com/orderd/orderd/bench/internal/harness"
	"github.com/orderd/orderd/bench/internal/latency"
)

// Flood kinds for ingest -flood.
const (
	floodOrders = "orders" // cached GET /order/{id}: the control
	floodList   = "list"   // GET /api/orders?limit=100 and /api/stats: unauthenticated, and each a query
)

// flood is clients closed-loop HTTP clients hammering orderd until stopped,
// and one more timing GET /order hits meanwhile.
type flood struct {
	stop    context.CancelFunc
	wg      sync.WaitGroup
	ok, bad atomic.Int64 // answers: 2xx, and anything else (503s, errors)
	mu      sync.Mutex
	hits    latency.Histogram // GET /order/{id} of a cached order, timed while the flood runs
}

// startFlood starts kind of flood against base, with clients connections;
// ids are stored (and cached) orders to read.
func startFlood(ctx context.Context, base, kind string, clients int, ids []string) *flood {
	ctx, cancel := context.WithCancel(ctx)
	f := &flood{stop: cancel}
	client := &fasthttp.Client{MaxConnsPerHost: clients + 1, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	get := func(uri string) bool {
		status, _, err := client.GetTimeout(nil, uri, 10*time.Second)
		return err == nil && status < 300
	}
	for c := range clients {
		f.wg.Go(func() {
			for i := c; ctx.Err() == nil; i += clients {
				var uri string
				switch {
				case kind == floodOrders:
					uri = base + "/order/" + ids[i%len(ids)]
				case i%2 == 0:
					uri = base + "/api/orders?limit=100"
				default:
					uri = base + "/api/stats"
				}
				if get(uri) {
					f.ok.Add(1)
				} else {
					f.bad.Add(1)
				}
			}
		})
	}
	f.wg.Go(func() { // the cached-read latency a customer sees meanwhile
		for i := 0; ctx.Err() == nil; i++ {
			start := time.Now()
			if get(base + "/order/" + ids[i%len(ids)]) {
				f.mu.Lock()
				f.hits.Record(time.Since(start))
				f.mu.Unlock()
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	return f
}

// end stops the flood and waits for its clients.
func (f *flood) end() {
	f.stop()
	f.wg.Wait()
}

// floodResult is one ingest run under one kind of flood.
type floodResult struct {
	Kind       string          `json:"kind"`
	Clients    int             `json:"clients"`
	IngestRate float64         `json:"ingest_orders_per_second"`
	Answered   int64           `json:"flood_answered_2xx"`
	Refused    int64           `json:"flood_refused_or_failed"`
	OrderHits  latency.Summary `json:"order_hit_latency"`
}

// compareFloods runs the ingest under a flood of cached reads, then under an
// equal flood of list and stats requests, and reports the second's ingest
// rate as a share of the first's. A few thousand orders are ingested first,
// unmeasured, so that both floods have stored orders to read.
func compareFloods(ctx context.Context, env harness.Env, o ingestOptions, brokers []string, base string) ([]floodResult, error) {
	seed := o
	seed.n, seed.samples = min(o.n, 5000), 10
	if _, err := ingest(ctx, env, seed, brokers, base); err != nil {
		return nil, fmt.Errorf("seed orders for the floods: %w", err)
	}
	pg, err := benchdb.OpenStore(ctx, o.dbURL, 1)
	if err != nil {
		return nil, err
	}
	listed, err := pg.ListOrders(ctx, 0, 100)
	pg.Close()
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(listed))
	for i, s := range listed {
		ids[i] = s.OrderUID
	}
	var out []floodResult
	for _, kind := range []string{floodOrders, floodList} {
		fmt.Fprintf(env.Stderr, "ingest under a flood of %s requests from %d clients\n", kind, o.floodClients)
		f := startFlood(ctx, base, kind, o.floodClients, ids)
		res, err := ingest(ctx, env, o, brokers, base)
		f.end()
		if err != nil {
			return nil, err
		}
		out = append(out, floodResult{
			Kind: kind, Clients: o.floodClients, IngestRate: res.Rate,
			Answered: f.ok.Load(), Refused: f.bad.Load(), OrderHits: latency.Of(&f.hits),
		})
	}
	return out, nil
}

func printFloods(env harness.Env, rs []floodResult) {
	for _, r := range rs {
		fmt.Fprintf(env.Stdout, "flood of %-6s from %d clients: ingest %.0f orders/s; flood answered %d, refused or failed %d; GET /order hits p50 %s p99 %s\n",
			r.Kind, r.Clients, r.IngestRate, r.Answered, r.Refused, r.OrderHits.P50, r.OrderHits.P99)
	}
	if len(rs) == 2 && rs[0].IngestRate > 0 {
		share := rs[1].IngestRate / rs[0].IngestRate
		verdict := "met"
		if share < 0.8 {
			verdict = "NOT met"
		}
		fmt.Fprintf(env.Stdout, "ingest under the list flood / under the cached-read flood: %.1f%% (target at least 80%%: %s)\n", 100*share, verdict)
	}
}
