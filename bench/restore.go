package main

import (
	"context"
	"fmt"
	"github.com/orderd/orderd/internal/procmem"
	"math"
	"time"
)

const restoreSynopsis = `Times orderd's start with -n orders in PostgreSQL: from starting the process
to GET /health 200, which waits for the cache warm-up, and how much memory
the process then holds against the bytes of the orders' JSON. It seeds the
database up to -n orders first (through the store's batch path) unless
-seed=false. orderd runs as a child process (built from ./cmd/orderd, or
-orderd PATH) so its memory is its own; an in-process Kafka (kfake) stands in
for the broker.
`

type restoreReport struct {
	Orders         int64   `json:"orders"`
	JSONBytes      int64   `json:"json_bytes"`
	CacheMB        int     `json:"cache_size_mb"`
	ToHealthySec   float64 `json:"seconds_to_healthy"`
	WarmUpSec      float64 `json:"warmup_seconds"`
	WarmedOrders   int64   `json:"warmed_orders"`
	OrdersPerSec   float64 `json:"warmup_orders_per_second"`
	RSSBytes       int64   `json:"rss_bytes"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	RSSOverJSON    float64 `json:"rss_over_json"`
	PeakOverJSON   float64 `json:"peak_rss_over_json"`
	SeededOrders   int     `json:"seeded_orders"`
	SeedOrdersPerS float64 `json:"seed_orders_per_second,omitempty"`
}

func runRestore(ctx context.Context, env environment, args []string) error {
	fs := env.flags("restore", restoreSynopsis)
	n := fs.Int("n", 1_000_000, "orders the database should hold (at most 10,000,000)")
	dbURL := fs.String("database-url", env.getenv("DATABASE_URL"), "PostgreSQL to restore from (env DATABASE_URL); required")
	seed := fs.Bool("seed", true, "add generated orders until the database holds -n")
	doVacuum := fs.Bool("vacuum", true, "VACUUM the orders after seeding them, as autovacuum would have")
	bin := fs.String("orderd", "", "orderd binary (default: go build ./cmd/orderd)")
	cacheMB := fs.Int("cache-size-mb", 0, "orderd's CACHE_SIZE_MB (default: the JSON bytes plus a quarter)")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long, seeding included")
	jsonOut := fs.String("json", "", "write the figures to this JSON file")
	allowRemote := fs.Bool("allow-remote", false, "allow a database that is not loopback")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *n < 1 || *n > 10_000_000:
		return usageError{"-n must be 1 to 10,000,000"}
	case *dbURL == "":
		return usageError{"-database-url (or DATABASE_URL) is required"}
	case *timeout <= 0 || *timeout > time.Hour:
		return usageError{"-timeout must be positive and at most 1h"}
	}
	if !*allowRemote {
		if err := checkLoopbackDB(*dbURL); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var rep restoreReport
	have, _, err := countOrders(ctx, *dbURL)
	if err != nil {
		return err
	}
	if missing := int64(*n) - have; missing > 0 {
		if !*seed {
			return fmt.Errorf("the database holds %d orders, fewer than -n %d, and -seed=false", have, *n)
		}
		fmt.Fprintf(env.stderr, "seeding %d orders (the database holds %d)\n", missing, have)
		for done := int64(0); done < missing; {
			chunk := min(missing-done, 200_000) // bounded memory while seeding
			recs := generate(uint64(time.Now().UnixNano()), int(chunk))
			rate, err := saveRaw(ctx, *dbURL, recs, 1000, 2, env.stderr)
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
		fmt.Fprintln(env.stderr, "VACUUM (ANALYZE) orders")
		if err := vacuum(ctx, *dbURL); err != nil {
			return err
		}
	}
	if rep.Orders, rep.JSONBytes, err = countOrders(ctx, *dbURL); err != nil {
		return err
	}
	rep.CacheMB = *cacheMB
	if rep.CacheMB == 0 {
		rep.CacheMB = int(math.Ceil(float64(rep.JSONBytes)*1.25/(1<<20))) + 64
	}

	if *bin == "" {
		fmt.Fprintln(env.stderr, "building ./cmd/orderd")
		if *bin, err = buildOrderd(ctx); err != nil {
			return err
		}
	}
	cluster, err := startKafka()
	if err != nil {
		return err
	}
	defer cluster.Close()

	fmt.Fprintf(env.stderr, "starting orderd with %d orders (%.0f MiB of JSON), CACHE_SIZE_MB=%d\n",
		rep.Orders, float64(rep.JSONBytes)/(1<<20), rep.CacheMB)
	c, started, err := startChild(ctx, *bin, map[string]string{
		"DATABASE_URL":  *dbURL,
		"KAFKA_BROKERS": cluster.ListenAddrs()[0],
		"CACHE_SIZE_MB": fmt.Sprint(rep.CacheMB),
		"LOG_LEVEL":     "info",
	})
	if err != nil {
		return err
	}
	defer c.stop()
	if err := waitHealthy(ctx, c.base, *timeout, c.exited); err != nil {
		return fmt.Errorf("%w (log: %s)", err, c.log)
	}
	rep.ToHealthySec = time.Since(started).Seconds()
	if rep.RSSBytes, rep.PeakRSSBytes, err = procmem.Read(c.cmd.Process.Pid); err != nil {
		return err
	}
	m, err := scrape(c.base, "orderd_cache_warmup_duration_seconds", "orderd_cache_warmup_orders")
	if err != nil {
		return err
	}
	rep.WarmUpSec = m["orderd_cache_warmup_duration_seconds"]
	rep.WarmedOrders = int64(m["orderd_cache_warmup_orders"])
	if rep.WarmUpSec > 0 {
		rep.OrdersPerSec = float64(rep.WarmedOrders) / rep.WarmUpSec
	}
	rep.RSSOverJSON = float64(rep.RSSBytes) / float64(max(rep.JSONBytes, 1))
	rep.PeakOverJSON = float64(rep.PeakRSSBytes) / float64(max(rep.JSONBytes, 1))

	fmt.Fprintf(env.stdout, "%d orders, %.0f MiB of JSON\n", rep.Orders, float64(rep.JSONBytes)/(1<<20))
	fmt.Fprintf(env.stdout, "start to /health 200: %.2fs (cache warm-up %.2fs, %d orders, %.0f orders/s)\n",
		rep.ToHealthySec, rep.WarmUpSec, rep.WarmedOrders, rep.OrdersPerSec)
	fmt.Fprintf(env.stdout, "memory: RSS %.0f MiB (%.2f x the JSON), peak %.0f MiB (%.2f x)\n",
		float64(rep.RSSBytes)/(1<<20), rep.RSSOverJSON, float64(rep.PeakRSSBytes)/(1<<20), rep.PeakOverJSON)
	if err := c.stop(); err != nil {
		fmt.Fprintf(env.stderr, "orderd stopped with: %v (log: %s)\n", err, c.log)
	}
	if *jsonOut != "" {
		return writeJSON(*jsonOut, rep)
	}
	return nil
}
