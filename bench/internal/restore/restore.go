// Package restore is bench restore: the time from orderd's start to a warm
// cache and /health green with N orders stored, the memory that takes, and
// the chart of the warm-up.
//
// It never produces to Kafka or loads orderd with requests; it seeds
// PostgreSQL through benchdb and watches one orderd process.
package restore

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/orderd/orderd/bench/internal/benchdb"
	"github.com/orderd/orderd/bench/internal/harness"
	"github.com/orderd/orderd/internal/procmem"
)

const restoreSynopsis = `Times orderd's start with -n orders in PostgreSQL: from starting the process
to GET /health 200, which waits for the cache warm-up, and how much memory
the process then holds against the bytes of the orders' JSON. It seeds the
database up to -n orders first (through the store's batch path) unless
-seed=false. orderd runs as a harness.Child process (built from ./cmd/orderd, or
-orderd PATH) so its memory is its own; an in-process Kafka (kfake) stands in
for the broker.

Before starting orderd it reads every order once on one connection
(SELECT order_uid, doc FROM orders ORDER BY id, the data discarded) unless
-read-baseline=false: what a plain sequential read costs on this machine,
reported in seconds and MiB/s, and the warm-up as a multiple of it. That read
comes first, so orderd finds the same pages in PostgreSQL's and the OS's
cache that it left there.

While orderd warms up, it is sampled every 250ms (orderd_cache_entries from
/metrics, and its RSS), with a progress line on stderr about once a second;
-plot PATH (.svg or .png) draws the samples: orders cached over orders
stored, and RSS over the JSON's bytes, against the seconds since the start.
Once /health is 200 it reports what the warm-up read and what the cache still
held at its end, the CACHE_SIZE_MB that would hold every order read, and the
memory (RSS and peak) against the JSON's bytes for this CACHE_SIZE_MB.
`

type restoreReport struct {
	Orders         int64   `json:"orders"`
	JSONBytes      int64   `json:"json_bytes"`
	CacheMB        int     `json:"cache_size_mb"`
	ToHealthySec   float64 `json:"seconds_to_healthy"`
	WarmUpSec      float64 `json:"warmup_seconds"`
	ReadOrders     int64   `json:"warmup_read_orders"`
	CachedOrders   int64   `json:"warmup_cached_orders"` // of ReadOrders, those still cached at the warm-up's end
	ReadBytes      int64   `json:"warmup_read_bytes"`
	CachedBytes    int64   `json:"warmup_cached_bytes"`
	FitsInMB       int     `json:"fits_in_cache_size_mb"` // the CACHE_SIZE_MB that would hold every order read
	OrdersPerSec   float64 `json:"warmup_orders_per_second"`
	RSSBytes       int64   `json:"rss_bytes"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	RSSOverJSON    float64 `json:"rss_over_json"`
	PeakOverJSON   float64 `json:"peak_rss_over_json"`
	SeededOrders   int     `json:"seeded_orders"`
	SeedOrdersPerS float64 `json:"seed_orders_per_second,omitempty"`

	// The one sequential read, when -read-baseline.
	SeqReadSec     float64 `json:"sequential_read_seconds,omitempty"`
	SeqReadBytes   int64   `json:"sequential_read_bytes,omitempty"`
	SeqReadMiBPerS float64 `json:"sequential_read_mib_per_second,omitempty"`
	WarmUpOverRead float64 `json:"warmup_over_sequential_read,omitempty"`

	Samples []warmUpSample `json:"warmup_samples"` // the last one at /health 200
}

// warmUpSample is orderd's cache and memory at one moment of its start.
type warmUpSample struct {
	Sec      float64 `json:"seconds"` // since orderd was started
	Entries  int64   `json:"cache_entries"`
	RSSBytes int64   `json:"rss_bytes"`
}

// progress is s as a progress line, against the orders and JSON bytes stored.
func (s warmUpSample) progress(orders, jsonBytes int64) string {
	return fmt.Sprintf("  warming: %d of %d orders cached, RSS %.0f MiB (%.2f x the JSON), %.1fs",
		s.Entries, orders, float64(s.RSSBytes)/(1<<20), float64(s.RSSBytes)/float64(max(jsonBytes, 1)), s.Sec)
}

func Run(ctx context.Context, env harness.Env, args []string) error {
	fs := env.Flags("restore", restoreSynopsis)
	n := fs.Int("n", 1_000_000, "orders the database should hold (at most 10,000,000)")
	dbURL := fs.String("database-url", env.Getenv("DATABASE_URL"), "PostgreSQL to restore from (env DATABASE_URL); required")
	seed := fs.Bool("seed", true, "add generated orders until the database holds -n")
	doVacuum := fs.Bool("vacuum", true, "VACUUM the orders after seeding them, as autovacuum would have")
	bin := fs.String("orderd", "", "orderd binary (default: go build ./cmd/orderd)")
	cacheMB := fs.Int("cache-size-mb", 0, "orderd's CACHE_SIZE_MB (default: the JSON bytes plus a quarter)")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long, seeding included")
	jsonOut := fs.String("json", "", "write the figures to this JSON file")
	plotOut := fs.String("plot", "", "write the warm-up chart (cache and RSS over time) to this .svg or .png file")
	readBaseline := fs.Bool("read-baseline", true, "read every order once on one connection before starting orderd, to compare the warm-up with")
	allowRemote := fs.Bool("allow-remote", false, "allow a database that is not loopback")
	if err := harness.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case *n < 1 || *n > 10_000_000:
		return harness.UsageError{Msg: "-n must be 1 to 10,000,000"}
	case *dbURL == "":
		return harness.UsageError{Msg: "-database-url (or DATABASE_URL) is required"}
	case *timeout <= 0 || *timeout > time.Hour:
		return harness.UsageError{Msg: "-timeout must be positive and at most 1h"}
	case *plotOut != "" && !isPlotFile(*plotOut):
		return harness.UsageError{Msg: "-plot must name a .svg or .png file"} // found out now, not after the run
	}
	if !*allowRemote {
		if err := harness.CheckLoopbackDB(*dbURL); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var rep restoreReport
	have, _, err := benchdb.CountOrders(ctx, *dbURL)
	if err != nil {
		return err
	}
	if missing := int64(*n) - have; missing > 0 {
		if !*seed {
			return fmt.Errorf("the database holds %d orders, fewer than -n %d, and -seed=false", have, *n)
		}
		fmt.Fprintf(env.Stderr, "seeding %d orders (the database holds %d)\n", missing, have)
		for done := int64(0); done < missing; {
			chunk := min(missing-done, 200_000) // bounded memory while seeding
			recs := benchdb.Generate(uint64(time.Now().UnixNano()), int(chunk))
			rate, err := benchdb.SaveRaw(ctx, *dbURL, recs, 1000, 2, env.Stderr)
			if err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			done += chunk
			rep.SeededOrders += int(chunk)
			rep.SeedOrdersPerS = rate
		}
	}
	if rep.SeededOrders > 0 && *doVacuum {
		// Freshly inserted rows are read for the first time by the warm-up,
		// which then also writes their hint bits: twice as slow as any later
		// start. VACUUM does that now, as autovacuum would have on a
		// database that had been running.
		fmt.Fprintln(env.Stderr, "VACUUM (ANALYZE) orders")
		if err := benchdb.Vacuum(ctx, *dbURL); err != nil {
			return err
		}
	}
	if rep.Orders, rep.JSONBytes, err = benchdb.CountOrders(ctx, *dbURL); err != nil {
		return err
	}
	if *readBaseline {
		fmt.Fprintln(env.Stderr, "reading every order once on one connection, as a baseline")
		r, err := benchdb.ReadAllOrders(ctx, *dbURL)
		if err != nil {
			return err
		}
		rep.SeqReadSec, rep.SeqReadBytes = r.Took.Seconds(), r.Bytes
		rep.SeqReadMiBPerS = float64(r.Bytes) / (1 << 20) / max(rep.SeqReadSec, 1e-9)
	}
	rep.CacheMB = *cacheMB
	if rep.CacheMB == 0 {
		rep.CacheMB = int(math.Ceil(float64(rep.JSONBytes)*1.25/(1<<20))) + 64
	}

	if *bin == "" {
		fmt.Fprintln(env.Stderr, "building ./cmd/orderd")
		if *bin, err = harness.BuildOrderd(ctx); err != nil {
			return err
		}
	}
	cluster, err := harness.StartKafka()
	if err != nil {
		return err
	}
	defer cluster.Close()

	fmt.Fprintf(env.Stderr, "starting orderd with %d orders (%.0f MiB of JSON), CACHE_SIZE_MB=%d\n",
		rep.Orders, float64(rep.JSONBytes)/(1<<20), rep.CacheMB)
	c, started, err := harness.StartChild(ctx, *bin, map[string]string{
		"DATABASE_URL":  *dbURL,
		"KAFKA_BROKERS": cluster.ListenAddrs()[0],
		"CACHE_SIZE_MB": fmt.Sprint(rep.CacheMB),
		"LOG_LEVEL":     "info",
	})
	if err != nil {
		return err
	}
	defer c.Stop()
	// The sampler polls beside waitHealthy, so a slow /metrics delays no
	// health check; closing stop ends it, and it hands back its samples.
	stop, sampled := make(chan struct{}), make(chan []warmUpSample, 1)
	go func() { sampled <- sampleWarmUp(c, started, rep.Orders, rep.JSONBytes, env.Stderr, stop) }()
	err = harness.WaitHealthy(ctx, c.Base, *timeout, c.Exited)
	rep.ToHealthySec = time.Since(started).Seconds()
	close(stop)
	rep.Samples = <-sampled
	if err != nil {
		return fmt.Errorf("%w (log: %s)", err, c.Log)
	}
	if rep.RSSBytes, rep.PeakRSSBytes, err = procmem.Read(c.Cmd.Process.Pid); err != nil {
		return err
	}
	m, err := scrapeWarmUp(c.Base)
	if err != nil {
		return fmt.Errorf("%w (log: %s)", err, c.Log)
	}
	rep.Samples = append(rep.Samples, warmUpSample{Sec: rep.ToHealthySec, Entries: int64(m["orderd_cache_entries"]), RSSBytes: rep.RSSBytes})
	rep.WarmUpSec = m["orderd_cache_warmup_duration_seconds"]
	rep.ReadOrders = int64(m["orderd_cache_warmup_read_orders"])
	rep.CachedOrders = int64(m["orderd_cache_warmup_orders"])
	rep.ReadBytes = int64(m["orderd_cache_warmup_read_bytes"])
	rep.CachedBytes = int64(m["orderd_cache_warmup_cached_bytes"])
	rep.FitsInMB = int(m["orderd_cache_warmup_fits_in_mb"])
	if rep.WarmUpSec > 0 {
		rep.OrdersPerSec = float64(rep.ReadOrders) / rep.WarmUpSec
	}
	if rep.SeqReadSec > 0 {
		rep.WarmUpOverRead = rep.WarmUpSec / rep.SeqReadSec
	}
	rep.RSSOverJSON = float64(rep.RSSBytes) / float64(max(rep.JSONBytes, 1))
	rep.PeakOverJSON = float64(rep.PeakRSSBytes) / float64(max(rep.JSONBytes, 1))

	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintf(env.Stdout, "%d orders, %.0f MiB of JSON\n", rep.Orders, mib(rep.JSONBytes))
	if rep.SeqReadSec > 0 {
		fmt.Fprintf(env.Stdout, "sequential read on one connection: %.0f MiB in %.2fs (%.0f MiB/s); warm-up / sequential read: %.2f\n",
			mib(rep.SeqReadBytes), rep.SeqReadSec, rep.SeqReadMiBPerS, rep.WarmUpOverRead)
	}
	fmt.Fprintf(env.Stdout, "start to /health 200: %.2fs (cache warm-up %.2fs, %d orders read, %.0f orders/s)\n",
		rep.ToHealthySec, rep.WarmUpSec, rep.ReadOrders, rep.OrdersPerSec)
	fmt.Fprintf(env.Stdout, "cached %d of %d orders read (%.0f of %.0f MiB); CACHE_SIZE_MB=%d, %d would hold them all\n",
		rep.CachedOrders, rep.ReadOrders, mib(rep.CachedBytes), mib(rep.ReadBytes), rep.CacheMB, rep.FitsInMB)
	fmt.Fprintf(env.Stdout, "memory with CACHE_SIZE_MB=%d: RSS %.0f MiB (%.2f x the JSON), peak %.0f MiB (%.2f x)\n",
		rep.CacheMB, mib(rep.RSSBytes), rep.RSSOverJSON, mib(rep.PeakRSSBytes), rep.PeakOverJSON)
	if *plotOut != "" {
		title := fmt.Sprintf("orderd warm-up: %d orders, %.0f MiB of JSON, CACHE_SIZE_MB=%d", rep.Orders, mib(rep.JSONBytes), rep.CacheMB)
		xLabel := fmt.Sprintf("seconds since orderd started (/health 200 at %.2fs)", rep.ToHealthySec)
		if err := plotWarmUp(*plotOut, title, xLabel, rep.Samples, rep.Orders, rep.JSONBytes); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "warm-up chart: %s\n", *plotOut)
	}
	if err := c.Stop(); err != nil {
		fmt.Fprintf(env.Stderr, "orderd stopped with: %v (log: %s)\n", err, c.Log)
	}
	if *jsonOut != "" {
		return harness.WriteJSON(*jsonOut, rep)
	}
	return nil
}

// isPlotFile reports whether path names a chart format plotWarmUp writes.
func isPlotFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".svg" || ext == ".png"
}

// sampleWarmUp samples c at once and then every 250ms until stop is closed:
// the orders it caches and its RSS, each with the time since started. About
// once a second it writes the latest as a progress line to progress. It is
// the samples' only writer and returns them.
func sampleWarmUp(c *harness.Child, started time.Time, orders, jsonBytes int64, progress io.Writer, stop <-chan struct{}) []warmUpSample {
	var (
		samples []warmUpSample
		printed = started // when the last progress line was written
		lines   int
	)
	sample := func() {
		// Until orderd serves /metrics the scrape fails, and until it has
		// connected to PostgreSQL and made its cache the series is missing:
		// either way nothing is cached yet, and the nil or short map reads 0.
		m, _ := harness.Scrape(c.Base, "orderd_cache_entries")
		rss, _, err := procmem.Read(c.Cmd.Process.Pid)
		if err != nil {
			return // orderd has exited; harness.WaitHealthy reports it
		}
		s := warmUpSample{Sec: time.Since(started).Seconds(), Entries: int64(m["orderd_cache_entries"]), RSSBytes: rss}
		samples = append(samples, s)
		if time.Since(printed) >= time.Second {
			fmt.Fprint(progress, "\r"+s.progress(orders, jsonBytes))
			printed = time.Now()
			lines++
		}
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	sample()
	for {
		select {
		case <-stop:
			if lines > 0 {
				fmt.Fprintln(progress)
			}
			return samples
		case <-tick.C:
			sample()
		}
	}
}

// warmUpSeries are what restore reads from /metrics once orderd is healthy.
var warmUpSeries = []string{
	"orderd_cache_entries",
	"orderd_cache_warmup_duration_seconds",
	"orderd_cache_warmup_read_orders",
	"orderd_cache_warmup_orders",
	"orderd_cache_warmup_read_bytes",
	"orderd_cache_warmup_cached_bytes",
	"orderd_cache_warmup_fits_in_mb",
}

// scrapeWarmUp reads warmUpSeries from a healthy orderd, which sets them
// before /health turns 200.
func scrapeWarmUp(base string) (map[string]float64, error) {
	m, err := harness.Scrape(base, warmUpSeries...)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range warmUpSeries {
		if _, ok := m[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("orderd is healthy but its /metrics lack %s: an orderd older than this bench? (build it from this tree, or leave out -orderd)",
			strings.Join(missing, ", "))
	}
	return m, nil
}
