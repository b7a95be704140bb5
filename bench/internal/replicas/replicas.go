// Package replicas is bench replicas: several orderd processes in one
// consumer group on one database and topic, timed from produce to visible
// on every replica, with the reads that still reach PostgreSQL.
//
// It never reads PostgreSQL itself: what each replica did comes from its
// /metrics and its HTTP answers.
package replicas

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/bench/internal/harness"
	"github.com/orderd/orderd/bench/internal/ingest"
	"github.com/orderd/orderd/bench/internal/latency"
	"github.com/orderd/orderd/feed"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/pipeline"
)

const replicasSynopsis = `Runs -replicas orderd processes in one consumer group on one database and
one in-process Kafka (kfake), produces -n orders at -rate per second, and
measures for a sample of them the time from produce to visible on every
replica: an order counts once the slowest replica serves it. Each sampled id
is asked for on every replica before it is produced, so its first answer is
a 404 that the commit must end. Then it reads -reads stored orders from every
replica and reports the share that needed PostgreSQL.
`

type replicasReport struct {
	Replicas      int                        `json:"replicas"`
	Orders        int                        `json:"orders"`
	Rate          float64                    `json:"orders_per_second"`
	Visible       latency.Summary            `json:"produce_to_visible_everywhere"`
	PerReplica    map[string]latency.Summary `json:"produce_to_visible_per_replica"`
	Samples       int                        `json:"samples"`
	Reads         int                        `json:"steady_state_reads"`
	ReadThrough   float64                    `json:"steady_state_read_through"`
	ReadShare     float64                    `json:"steady_state_read_through_share"`
	IngestQueries float64                    `json:"read_through_during_ingest"`
	Filled        float64                    `json:"orders_filled_from_commits"`
	Inserted      float64                    `json:"orders_inserted"`
	// NotFirst404 counts the sampled ids' first asks that were not
	// answered 404, which the latencies then do not start from.
	NotFirst404 int64 `json:"first_asks_not_404"`
	// Of the commits filled from, the shares in the cache within 10, 50
	// and 100 ms (the replicas' orderd_fill_lag_seconds).
	FillWithin map[string]float64 `json:"fill_lag_share_within"`
}

func Run(ctx context.Context, env harness.Env, args []string) error {
	fs := env.Flags("replicas", replicasSynopsis)
	replicas := fs.Int("replicas", 3, "orderd processes (at most 8)")
	n := fs.Int("n", 30_000, "orders to produce (at most 2,000,000)")
	rate := fs.Float64("rate", 1000, "orders per second (at most 50,000)")
	samples := fs.Int("samples", 1000, "orders whose produce-to-visible latency is measured")
	reads := fs.Int("reads", 5000, "stored orders read from every replica afterwards")
	dbURL := fs.String("database-url", env.Getenv("DATABASE_URL"), "PostgreSQL the replicas share (env DATABASE_URL); required")
	bin := fs.String("orderd", "", "orderd binary (default: go build ./cmd/orderd)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	jsonOut := fs.String("json", "", "write the figures to this JSON file")
	plotOut := fs.String("plot", "", "write the produce-to-visible chart to this .svg or .png file")
	allowRemote := fs.Bool("allow-remote", false, "allow a database that is not loopback")
	if err := harness.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case *replicas < 1 || *replicas > 8:
		return harness.UsageError{Msg: "-replicas must be 1 to 8"}
	case *n < 1 || *n > ingest.MaxOrders:
		return harness.UsageError{Msg: fmt.Sprintf("-n must be 1 to %d", ingest.MaxOrders)}
	case *rate <= 0 || *rate > 50_000:
		return harness.UsageError{Msg: "-rate must be positive and at most 50,000"}
	case *samples < 1 || *reads < 0 || *reads > 100_000:
		return harness.UsageError{Msg: "-samples must be positive and -reads 0 to 100,000"}
	case *dbURL == "":
		return harness.UsageError{Msg: "-database-url (or DATABASE_URL) is required"}
	case *timeout <= 0 || *timeout > harness.MaxDuration:
		return harness.UsageError{Msg: fmt.Sprintf("-timeout must be positive and at most %s", harness.MaxDuration)}
	}
	if !*allowRemote {
		if err := harness.CheckLoopbackDB(*dbURL); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if *bin == "" {
		fmt.Fprintln(env.Stderr, "building orderd")
		b, err := harness.BuildOrderd(ctx)
		if err != nil {
			return err
		}
		*bin = b
	}
	// Two partitions a replica, so that every one of them writes.
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(2**replicas), "orders"))
	if err != nil {
		return fmt.Errorf("start in-process kafka: %w", err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	childEnv := map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": *dbURL, "LOG_LEVEL": "warn",
		"KAFKA_TOPIC": "orders", "KAFKA_DLQ_TOPIC": "orders.dlq",
	}
	var procs []*harness.Child
	defer func() {
		for _, p := range procs {
			if err := p.Stop(); err != nil {
				fmt.Fprintf(env.Stderr, "orderd %s: %v\n", p.Base, err)
			}
		}
	}()
	for i := range *replicas {
		p, _, err := harness.StartChild(ctx, *bin, childEnv)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		if err := harness.WaitHealthy(ctx, p.Base, 2*time.Minute, p.Exited); err != nil {
			return fmt.Errorf("replica %d: %w (log: %s)", i, err, p.Log)
		}
		fmt.Fprintf(env.Stderr, "replica %d on %s (log: %s)\n", i, p.Base, p.Log)
	}

	pub, err := feed.NewPublisher(brokers, "orders", kafkaauth.Config{})
	if err != nil {
		return err
	}
	defer pub.Close()
	gen := orderfake.NewAt(uint64(time.Now().UnixNano()), time.Now())
	if err := waitEveryReplicaConsumes(ctx, env, pub, gen, procs); err != nil {
		return err
	}
	before := make([]map[string]float64, len(procs))
	for i, p := range procs {
		if before[i], err = harness.Scrape(p.Base, replicaSeries...); err != nil {
			return err
		}
	}

	fmt.Fprintf(env.Stderr, "generating %d orders\n", *n)
	msgs := make([][2][]byte, *n)
	for i := range msgs {
		o := gen.Order()
		msgs[i] = [2][]byte{[]byte(o.OrderUID), order.AppendJSON(nil, &o)}
	}
	every := max(1, *n / *samples)

	w := newVisibility(ctx, procs)
	fmt.Fprintf(env.Stderr, "producing %d orders at %.0f/s to %d replicas\n", *n, *rate, *replicas)
	start := time.Now()
	lastProgress := start
	for i, m := range msgs {
		if wait := time.Until(start.Add(time.Duration(float64(i) / *rate * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		if i%every == 0 {
			w.watch(string(m[0])) // asked for before it exists
		}
		if err := pub.Send(ctx, m[0], m[1]); err != nil {
			w.close()
			return err
		}
		if time.Since(lastProgress) >= time.Second {
			fmt.Fprintf(env.Stderr, "\r  produced %d of %d", i+1, *n)
			lastProgress = time.Now()
		}
	}
	if err := pub.Flush(ctx); err != nil {
		w.close()
		return err
	}
	produced := time.Since(start)
	fmt.Fprintf(env.Stderr, "\r  produced %d in %.1fs; waiting for every replica to serve the sampled orders\n", *n, produced.Seconds())
	w.close()
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for the orders to be visible: %w", ctx.Err())
	}

	// Steady state: stored orders, read from every replica.
	last := string(msgs[len(msgs)-1][0])
	for _, p := range procs {
		if err := waitServed(ctx, p.Base, last); err != nil {
			return err
		}
	}
	mid := make([]map[string]float64, len(procs))
	for i, p := range procs {
		if mid[i], err = harness.Scrape(p.Base, replicaSeries...); err != nil {
			return err
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range *reads {
		uid := string(msgs[rnd.IntN(len(msgs))][0])
		for _, p := range procs {
			status, _, err := fasthttp.GetTimeout(nil, p.Base+"/order/"+uid, 5*time.Second)
			if err != nil || status != fasthttp.StatusOK {
				return fmt.Errorf("GET %s/order/%s: %d %v", p.Base, uid, status, err)
			}
		}
	}
	rep := replicasReport{Replicas: *replicas, Orders: *n, Rate: float64(*n) / produced.Seconds(),
		Visible: latency.Of(w.slowest), Samples: int(w.slowest.Count()), Reads: *reads * len(procs), PerReplica: map[string]latency.Summary{},
		FillWithin: map[string]float64{}, NotFirst404: w.not404.Load()}
	var fills float64
	for i, p := range procs {
		after, err := harness.Scrape(p.Base, replicaSeries...)
		if err != nil {
			return err
		}
		rep.ReadThrough += after["orderd_readthrough_queries_total"] - mid[i]["orderd_readthrough_queries_total"]
		rep.IngestQueries += mid[i]["orderd_readthrough_queries_total"] - before[i]["orderd_readthrough_queries_total"]
		rep.Filled += after["orderd_fill_orders_total"] - before[i]["orderd_fill_orders_total"]
		rep.Inserted += after[`orderd_orders_stored_total{outcome="inserted"}`] - before[i][`orderd_orders_stored_total{outcome="inserted"}`]
		rep.PerReplica[fmt.Sprint(i)] = latency.Of(w.each[i])
		fills += after["orderd_fill_lag_seconds_count"] - before[i]["orderd_fill_lag_seconds_count"]
		for _, le := range []string{"0.01", "0.05", "0.1"} {
			k := `orderd_fill_lag_seconds_bucket{le="` + le + `"}`
			rep.FillWithin[le] += after[k] - before[i][k]
		}
	}
	if rep.Reads > 0 {
		rep.ReadShare = rep.ReadThrough / float64(rep.Reads)
	}
	for le := range rep.FillWithin {
		rep.FillWithin[le] /= max(fills, 1)
	}

	v := rep.Visible
	fmt.Fprintf(env.Stdout, "%d replicas, %d orders at %.0f/s: %.0f inserted, %.0f filled from other replicas' commits\n",
		rep.Replicas, rep.Orders, rep.Rate, rep.Inserted, rep.Filled)
	fmt.Fprintf(env.Stdout, "produce to visible on every replica (%d samples, each a 404 first): p50 %s  p90 %s  p99 %s  max %s\n",
		rep.Samples, v.P50, v.P90, v.P99, v.Max)
	for i := range procs {
		l := rep.PerReplica[fmt.Sprint(i)]
		fmt.Fprintf(env.Stdout, "  replica %d: p50 %s  p99 %s\n", i, l.P50, l.P99)
	}
	fmt.Fprintf(env.Stdout, "commit to fill (%.0f commits): %.1f%% within 10 ms, %.1f%% within 50 ms, %.1f%% within 100 ms\n",
		fills, 100*rep.FillWithin["0.01"], 100*rep.FillWithin["0.05"], 100*rep.FillWithin["0.1"])
	fmt.Fprintf(env.Stdout, "steady state: %d reads of stored orders, %.0f needed PostgreSQL (%.3f%%)\n",
		rep.Reads, rep.ReadThrough, 100*rep.ReadShare)
	fmt.Fprintf(env.Stdout, "during ingest: %.0f reads needed PostgreSQL (the sampled ids' first 404s: %d; %d first asks not a 404)\n",
		rep.IngestQueries, rep.Samples*len(procs), rep.NotFirst404)
	if *jsonOut != "" {
		if err := harness.WriteJSON(*jsonOut, rep); err != nil {
			return err
		}
	}
	if *plotOut != "" {
		results := []latency.Result{{Name: "slowest replica", Hist: w.slowest, RPS: rep.Rate, Latency: rep.Visible, RateUnit: "orders/s"}}
		for i, h := range w.each {
			results = append(results, latency.Result{Name: fmt.Sprintf("replica %d", i), Hist: h, RPS: rep.Rate, Latency: latency.Of(h), RateUnit: "orders/s"})
		}
		title := fmt.Sprintf("produce to visible, %d replicas, %.0f orders/s", rep.Replicas, rep.Rate)
		if err := latency.Plot(*plotOut, title, results); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "latency chart: %s\n", *plotOut)
	}
	return nil
}

// replicaSeries are the metrics scraped from each replica.
var replicaSeries = []string{"orderd_readthrough_queries_total", "orderd_fill_orders_total",
	`orderd_orders_stored_total{outcome="inserted"}`, "orderd_fill_lag_seconds_count",
	`orderd_fill_lag_seconds_bucket{le="0.01"}`, `orderd_fill_lag_seconds_bucket{le="0.05"}`, `orderd_fill_lag_seconds_bucket{le="0.1"}`}

// waitEveryReplicaConsumes produces orders, a few at a time, until every
// replica has stored some: the group has then given each its partitions,
// and no rebalance is left to land in the measurement.
func waitEveryReplicaConsumes(ctx context.Context, env harness.Env, pub *feed.Publisher, gen *orderfake.Generator, procs []*harness.Child) error {
	fmt.Fprintln(env.Stderr, "waiting until every replica has partitions")
	deadline := time.Now().Add(time.Minute)
	for {
		for range 20 {
			o := gen.Order()
			if err := pub.Send(ctx, []byte(o.OrderUID), order.AppendJSON(nil, &o)); err != nil {
				return err
			}
		}
		if err := pub.Flush(ctx); err != nil {
			return err
		}
		all := true
		for _, p := range procs {
			m, err := harness.Scrape(p.Base, replicaSeries...)
			if err != nil {
				return err
			}
			all = all && m[`orderd_orders_stored_total{outcome="inserted"}`] > 0
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not every replica consumed within a minute")
		}
		if err := pipeline.Sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitServed polls until base serves uid.
func waitServed(ctx context.Context, base, uid string) error {
	for {
		status, _, err := fasthttp.GetTimeout(nil, base+"/order/"+uid, 5*time.Second)
		if err == nil && status == fasthttp.StatusOK {
			return nil
		}
		if err := pipeline.Sleep(ctx, time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %s to serve %s: %w", base, uid, err)
		}
	}
}

// visibility polls sampled ids on every replica from their produce until
// each serves them.
type visibility struct {
	ctx     context.Context
	procs   []*harness.Child
	ids     chan watched
	wg      sync.WaitGroup
	mu      sync.Mutex
	slowest *latency.Histogram
	each    []*latency.Histogram
	not404  atomic.Int64 // first answers that were not a 404
}

type watched struct {
	uid  string
	sent time.Time
}

func newVisibility(ctx context.Context, procs []*harness.Child) *visibility {
	v := &visibility{ctx: ctx, procs: procs, ids: make(chan watched, 1<<16), slowest: &latency.Histogram{}}
	for range procs {
		v.each = append(v.each, &latency.Histogram{})
	}
	for range 16 {
		v.wg.Go(v.poll)
	}
	return v
}

// watch asks every replica for uid once, which should answer 404 (any
// other answer is counted), and then hands it to the pollers; its latency
// counts from now.
func (v *visibility) watch(uid string) {
	for _, p := range v.procs {
		if status, _, err := fasthttp.GetTimeout(nil, p.Base+"/order/"+uid, 5*time.Second); err != nil || status != fasthttp.StatusNotFound {
			v.not404.Add(1)
		}
	}
	v.ids <- watched{uid: uid, sent: time.Now()}
}

func (v *visibility) poll() {
	for w := range v.ids {
		var slowest time.Duration
		for i, p := range v.procs {
			uri := p.Base + "/order/" + w.uid
			for v.ctx.Err() == nil {
				status, _, err := fasthttp.GetTimeout(nil, uri, 5*time.Second)
				if err == nil && status == fasthttp.StatusOK {
					break
				}
				time.Sleep(time.Millisecond)
			}
			d := time.Since(w.sent)
			slowest = max(slowest, d)
			v.mu.Lock()
			v.each[i].Record(d)
			v.mu.Unlock()
		}
		v.mu.Lock()
		v.slowest.Record(slowest)
		v.mu.Unlock()
	}
}

// close waits for the pollers to see every watched id.
func (v *visibility) close() {
	close(v.ids)
	v.wg.Wait()
}
