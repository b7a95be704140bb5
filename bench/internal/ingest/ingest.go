// Package ingest is bench ingest: orders produced to Kafka until every one
// is stored and servable, timed from produce to visible, with the raw
// PostgreSQL write rate to compare and, on request, the same run under a
// flood of HTTP reads.
//
// Of orderd's own code it uses the producer's side (feed, orderfake, dlq's
// headers) and benchdb for PostgreSQL; it never imports stages, storage or
// server directly: it drives orderd through Kafka and HTTP.
package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/bench/internal/benchdb"
	"github.com/orderd/orderd/bench/internal/harness"
	"github.com/orderd/orderd/bench/internal/latency"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/feed"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/pipeline"
)

const ingestSynopsis = `Produces -n generated orders to Kafka with sarama, as fast as possible or at
-rate per second, and measures until every one is in PostgreSQL and served
over HTTP: end-to-end orders/s, and produce-to-visible latency of a sample.
Without -brokers it starts an in-process Kafka (kfake) and orderd itself,
against DATABASE_URL. -raw then writes as many other orders straight to
PostgreSQL through the store's batch path, without Kafka, and prints the
ratio. -flood compare runs the ingest twice, under a flood of cached reads
and then of list and stats requests (-flood-clients each), and prints the
second's rate as a share of the first's.
`

type ingestOptions struct {
	n, samples          int
	rate, broken        float64
	brokers, url, dbURL string
	raw, allowRemote    bool
	batch, writers      int
	timeout             time.Duration
	jsonOut, plotOut    string
	topic, dlqTopic     string
	flood               string
	floodClients        int
	auth                kafkaauth.Config // with -brokers: how to reach them
}

// MaxOrders bounds -n: the orders are generated up front, in memory.
const MaxOrders = 2_000_000

func Run(ctx context.Context, env harness.Env, args []string) error {
	var o ingestOptions
	fs := env.Flags("ingest", ingestSynopsis)
	fs.IntVar(&o.n, "n", 100_000, "orders to produce (at most 2,000,000)")
	fs.Float64Var(&o.rate, "rate", 0, "orders per second; 0 for as fast as Kafka takes them")
	fs.Float64Var(&o.broken, "broken", 0, "share of broken messages, 0 to 1 (they go to the DLQ)")
	fs.StringVar(&o.brokers, "brokers", "", "Kafka brokers of a running orderd (default: start kfake and orderd in-process)")
	fs.StringVar(&o.url, "url", env.EnvOr("ORDERD_URL", "http://127.0.0.1:8081"), "orderd's base URL, with -brokers")
	fs.StringVar(&o.dbURL, "database-url", env.Getenv("DATABASE_URL"), "orderd's PostgreSQL (env DATABASE_URL); required")
	fs.StringVar(&o.topic, "topic", "orders", "orders topic")
	fs.StringVar(&o.dlqTopic, "dlq-topic", "orders.dlq", "dead-letter topic")
	fs.IntVar(&o.samples, "samples", 1000, "orders whose produce-to-visible latency is measured")
	fs.BoolVar(&o.raw, "raw", false, "also measure the store's batch path straight to PostgreSQL")
	fs.IntVar(&o.batch, "raw-batch", 1000, "orders per transaction for -raw (orderd's BATCH_SIZE default)")
	fs.IntVar(&o.writers, "raw-writers", 2, "concurrent transactions for -raw (orderd's WRITERS default)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.StringVar(&o.jsonOut, "json", "", "write the figures to this JSON file")
	fs.StringVar(&o.plotOut, "plot", "", "write the produce-to-visible latency chart to this .svg or .png file")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow brokers, -url or a database that are not loopback")
	fs.StringVar(&o.flood, "flood", "", "compare: measure the ingest under a flood of cached reads, then of list and stats requests")
	fs.IntVar(&o.floodClients, "flood-clients", 128, "concurrent clients of each flood (at most 1,000)")
	if err := o.auth.DefaultsFromEnv(env.Getenv); err != nil {
		return harness.UsageError{Msg: err.Error()}
	}
	o.auth.AddFlags(fs) // with -brokers, a secured Kafka: orderd's settings
	if err := harness.Parse(fs, args); err != nil {
		return err
	}
	if err := o.auth.Validate(); err != nil {
		return harness.UsageError{Msg: err.Error()}
	}
	switch {
	case o.n < 1 || o.n > MaxOrders:
		return harness.UsageError{Msg: fmt.Sprintf("-n must be 1 to %d", MaxOrders)}
	case o.dbURL == "":
		return harness.UsageError{Msg: "-database-url (or DATABASE_URL) is required: the bench counts what reaches PostgreSQL"}
	case o.broken < 0 || o.broken >= 1:
		return harness.UsageError{Msg: "-broken must be at least 0 and below 1"}
	case o.timeout <= 0 || o.timeout > harness.MaxDuration:
		return harness.UsageError{Msg: fmt.Sprintf("-timeout must be positive and at most %s", harness.MaxDuration)}
	case o.flood != "" && o.flood != "compare":
		return harness.UsageError{Msg: "-flood takes one value: compare"}
	case o.floodClients < 1 || o.floodClients > 1000:
		return harness.UsageError{Msg: "-flood-clients must be 1 to 1000"}
	}
	if !o.allowRemote {
		if err := harness.CheckLoopbackDB(o.dbURL); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	brokers := harness.SplitBrokers(o.brokers)
	base := o.url
	if len(brokers) == 0 {
		cluster, err := harness.StartKafka()
		if err != nil {
			return err
		}
		defer cluster.Close()
		brokers = cluster.ListenAddrs()
		d, err := harness.StartInProcess(ctx, env, map[string]string{
			"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": o.dbURL, "LOG_LEVEL": "warn",
			"KAFKA_TOPIC": o.topic, "KAFKA_DLQ_TOPIC": o.dlqTopic,
		})
		if err != nil {
			return err
		}
		defer d.Stop()
		base = d.Base
		fmt.Fprintf(env.Stdout, "orderd started in-process against %s (log: %s)\n", harness.RedactDB(o.dbURL), d.Log)
	} else if err := harness.CheckLoopbackBrokers(brokers, o.allowRemote); err != nil {
		return err
	} else if _, err := harness.CheckLoopback(base, o.allowRemote); err != nil {
		return err
	}

	if o.flood == "compare" {
		rs, err := compareFloods(ctx, env, o, brokers, base)
		if err != nil {
			return err
		}
		printFloods(env, rs)
		if o.jsonOut != "" {
			return harness.WriteJSON(o.jsonOut, rs)
		}
		return nil
	}
	res, err := ingest(ctx, env, o, brokers, base)
	if err != nil {
		return err
	}
	res.print(env)
	if o.raw {
		fmt.Fprintf(env.Stderr, "raw: generating %d orders\n", o.n)
		recs := benchdb.Generate(uint64(time.Now().UnixNano()), o.n)
		fmt.Fprintf(env.Stderr, "raw: writing them straight to PostgreSQL\n")
		rate, err := benchdb.SaveRaw(ctx, o.dbURL, recs, o.batch, o.writers, env.Stderr)
		if err != nil {
			return fmt.Errorf("raw: %w", err)
		}
		res.RawRate = rate
		res.Ratio = res.Rate / rate
		fmt.Fprintf(env.Stdout, "raw store path: %.0f orders/s (%d per transaction, %d writers)\n", rate, o.batch, o.writers)
		fmt.Fprintf(env.Stdout, "end to end / raw: %.1f%%\n", 100*res.Ratio)
	}
	if o.jsonOut != "" {
		if err := harness.WriteJSON(o.jsonOut, res); err != nil {
			return err
		}
	}
	if o.plotOut != "" && res.visible != nil {
		lr := latency.Result{Name: "produce to visible", Hist: res.visible, RPS: res.Rate, Latency: res.Visible, RateUnit: "orders/s"}
		if err := latency.Plot(o.plotOut, fmt.Sprintf("produce to visible, %d orders", o.n), []latency.Result{lr}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "latency chart: %s\n", o.plotOut)
	}
	return nil
}

type ingestResult struct {
	Orders     int             `json:"orders"`
	Broken     int             `json:"broken"`
	Seconds    float64         `json:"seconds"`
	Rate       float64         `json:"orders_per_second"`
	ProduceSec float64         `json:"produce_seconds"`
	Visible    latency.Summary `json:"produce_to_visible"`
	Samples    int             `json:"samples"`
	DeadLetter int64           `json:"dead_lettered"`
	RawRate    float64         `json:"raw_orders_per_second,omitempty"`
	Ratio      float64         `json:"end_to_end_over_raw,omitempty"`
	visible    *latency.Histogram
}

func (r ingestResult) print(env harness.Env) {
	fmt.Fprintf(env.Stdout, "end to end: %d orders in %.2fs = %.0f orders/s (producing took %.2fs); %d dead-lettered\n",
		r.Orders, r.Seconds, r.Rate, r.ProduceSec, r.DeadLetter)
	v := r.Visible
	fmt.Fprintf(env.Stdout, "produce to visible (%d samples): p50 %s  p90 %s  p99 %s  max %s\n", r.Samples, v.P50, v.P90, v.P99, v.Max)
}

// ingest produces the orders and watches them arrive.
func ingest(ctx context.Context, env harness.Env, o ingestOptions, brokers []string, base string) (ingestResult, error) {
	pg, err := benchdb.OpenStore(ctx, o.dbURL, 1)
	if err != nil {
		return ingestResult{}, err
	}
	defer pg.Close()
	// New orders are those above the highest ingest sequence id now: one
	// index range to count, where counting the whole table, again and
	// again while orderd writes, would take a share of PostgreSQL that the
	// -raw path does not pay.
	var before int64
	if err := pg.Pool().QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM orders").Scan(&before); err != nil {
		return ingestResult{}, fmt.Errorf("read the highest order id: %w", err)
	}
	stored := func() (int64, error) {
		var n int64
		err := pg.Pool().QueryRow(ctx, "SELECT count(*) FROM orders WHERE id > $1", before).Scan(&n)
		return n, err
	}
	secure, err := o.auth.Configure()
	if err != nil {
		return ingestResult{}, err
	}
	clientCfg := dlq.ClientConfig("orderd-bench")
	secure(clientCfg)
	client, err := sarama.NewClient(brokers, clientCfg)
	if err != nil {
		return ingestResult{}, fmt.Errorf("kafka %v: %w", brokers, err)
	}
	defer client.Close()
	deadLetters := browse.NewReader(client, o.dlqTopic)
	dlqBefore, err := deadLetters.Size(ctx)
	if err != nil {
		return ingestResult{}, err
	}

	fmt.Fprintf(env.Stderr, "generating %d messages\n", o.n)
	type msg struct {
		key, value []byte
		sample     bool
	}
	gen := orderfake.NewAt(uint64(time.Now().UnixNano()), time.Now())
	msgs := make([]msg, o.n)
	valid, sampled := 0, 0
	every := max(1, o.n/max(o.samples, 1))
	var last string // the last valid order produced
	for i := range msgs {
		if o.broken > 0 && float64(i%1000) < o.broken*1000 {
			payload, _ := gen.Broken()
			msgs[i] = msg{value: payload}
			continue
		}
		ord := gen.Order()
		msgs[i] = msg{key: []byte(ord.OrderUID), value: order.AppendJSON(nil, &ord), sample: valid%every == 0}
		if msgs[i].sample {
			sampled++
		}
		last = ord.OrderUID
		valid++
	}

	pub, err := feed.NewPublisher(brokers, o.topic, o.auth)
	if err != nil {
		return ingestResult{}, err
	}
	defer pub.Close()

	// Watchers poll each sampled order until it is served: the time from
	// just before it was sent to the first 200 is its produce-to-visible
	// latency, everything included (producer batching, Kafka, the
	// pipeline, the commit, the cache). Each waits a twentieth of the time
	// the order has waited so far between two polls (at least 1ms), so a
	// latency is measured within 5%, and a backlog of seconds is not met
	// with thousands of polls a second: each a request to orderd, and a
	// read through to PostgreSQL per NEGATIVE_TTL, a load of the bench's
	// own that took a fifth of the ingest rate.
	type sample struct {
		uid  string
		sent time.Time
	}
	samples := make(chan sample, sampled)
	var (
		visible latency.Histogram
		mu      sync.Mutex
		wg      sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for s := range samples {
				uri := base + "/order/" + s.uid
				for ctx.Err() == nil {
					status, _, err := fasthttp.GetTimeout(nil, uri, 5*time.Second)
					if err == nil && status == fasthttp.StatusOK {
						mu.Lock()
						visible.Record(time.Since(s.sent))
						mu.Unlock()
						break
					}
					time.Sleep(max(time.Millisecond, time.Since(s.sent)/20))
				}
			}
		})
	}

	fmt.Fprintf(env.Stderr, "producing to %s\n", o.topic)
	start := time.Now()
	for i, m := range msgs {
		if o.rate > 0 {
			if wait := time.Until(start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		sent := time.Now()
		if err := pub.Send(ctx, m.key, m.value); err != nil {
			close(samples)
			return ingestResult{}, err
		}
		if m.sample {
			samples <- sample{uid: string(m.key), sent: sent}
		}
	}
	close(samples)
	if err := pub.Flush(ctx); err != nil {
		return ingestResult{}, err
	}
	produced := time.Since(start)

	// Done when PostgreSQL holds every valid order and the last one is
	// served.
	lastProgress := time.Now()
	for {
		n, err := stored()
		if err != nil {
			return ingestResult{}, fmt.Errorf("count the stored orders: %w", err)
		}
		if n >= int64(valid) {
			break
		}
		if time.Since(lastProgress) >= time.Second {
			fmt.Fprintf(env.Stderr, "\r  %d of %d stored", n, valid)
			lastProgress = time.Now()
		}
		if err := pipeline.Sleep(ctx, 20*time.Millisecond); err != nil {
			return ingestResult{}, fmt.Errorf("waiting for the orders to be stored: %w", err)
		}
	}
	for {
		status, _, err := fasthttp.GetTimeout(nil, base+"/order/"+last, 5*time.Second)
		if err == nil && status == fasthttp.StatusOK {
			break
		}
		if err := pipeline.Sleep(ctx, time.Millisecond); err != nil {
			return ingestResult{}, fmt.Errorf("waiting for the last order to be served: %w", err)
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintln(env.Stderr)
	wg.Wait()

	// The broken ones are dead-lettered in the same pass; give the DLQ
	// stage a moment to finish its batch.
	broken := o.n - valid
	var dead int64
	for {
		after, err := deadLetters.Size(ctx)
		if err != nil {
			return ingestResult{}, err
		}
		if dead = after - dlqBefore; dead >= int64(broken) {
			break
		}
		if err := pipeline.Sleep(ctx, 20*time.Millisecond); err != nil {
			return ingestResult{}, fmt.Errorf("waiting for %d dead letters (have %d): %w", broken, dead, err)
		}
	}
	return ingestResult{
		Orders: valid, Broken: broken, Seconds: elapsed.Seconds(), Rate: float64(valid) / elapsed.Seconds(),
		ProduceSec: produced.Seconds(), Visible: latency.Of(&visible), Samples: int(visible.Count()), DeadLetter: dead,
		visible: &visible,
	}, nil
}
