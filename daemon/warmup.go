package daemon

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/follow"
	"github.com/orderd/orderd/storage/postgres"
	"github.com/orderd/orderd/storage/reads"
)

// readPathPart puts the cache in front of the store once the store is
// connected, so that GET /order and the read API work from then on, and
// loads every stored order into the cache before /health turns green. The
// cache is made then, not before: it is sized from the store's estimate of
// what it holds.
func (d *daemon) readPathPart() part {
	bg := newBackground()
	warmUp := newWarmUpMetrics(d.prom)
	var cache *reads.Cache // set by bg's goroutine; read after bg.stop
	return part{
		name: "read path",
		start: func() error {
			bg.goRun(func(ctx context.Context) {
				store, err := d.store.wait(ctx)
				if err != nil {
					return
				}
				report := d.warmUpReport()
				expect, err := d.estimate(ctx, report, store)
				if err != nil {
					return
				}
				if cache, err = reads.NewCacheFor(d.cfg.CacheSizeMB<<20, expect); err != nil {
					d.die(err)
					return
				}
				orders := reads.NewOrders(store, cache, reads.OrdersOptions{
					NegativeTTL:        d.cfg.NegativeTTL,
					MaxConcurrentReads: d.cfg.ReadConcurrency,
					ReadQueueTimeout:   d.cfg.ReadQueueTimeout,
				})
				d.prom.MustRegister(reads.NewCollector(orders))
				d.lister.set(store)
				d.reads.set(orders)
				// Listening first: what commits during the warm-up then
				// reaches the cache too.
				if err := d.fillFromCommits(ctx, bg, store, orders); err != nil {
					return
				}
				d.warmUp(ctx, report, orders, expect, warmUp)
			})
			return nil
		},
		stop: func() error {
			bg.stop()
			if cache == nil {
				return nil
			}
			return cache.Close()
		},
	}
}

// warmUpReport reports the warm-up's steps, each retried while the store
// fails. Its goroutine is the warmup component's only writer.
func (d *daemon) warmUpReport() *health.Retries {
	return &health.Retries{Health: d.warmupHealth, Log: d.component("warmup"), Metrics: d.metrics}
}

// estimate asks the store how much it holds, retrying while it fails.
func (d *daemon) estimate(ctx context.Context, r *health.Retries, store storage.Store) (storage.Estimate, error) {
	d.warmupHealth.Wait("estimating the stored orders, to size the cache")
	retry := r.Retry(health.Work{
		Cause:   health.RetryWarmUp,
		What:    "estimating the stored orders",
		Failing: "estimating the stored orders failed; retrying",
		Healed:  "estimating the stored orders succeeded after failures",
		Next:    "loading stored orders into the cache",
	}, d.backoff(), nil)
	var expect storage.Estimate
	err := retry.Do(ctx, func(ctx context.Context) (err error) {
		expect, err = store.EstimateOrders(ctx)
		return err
	})
	if err != nil {
		return expect, err // stopped before it succeeded
	}
	fits := reads.CacheSizeFor(expect)
	ev := r.Log.Info()
	if fits > d.cfg.CacheSizeMB {
		ev = r.Log.Warn()
	}
	ev.Int64("orders", expect.Orders).Int64("bytes", expect.Bytes).Int("cache_size_mb", d.cfg.CacheSizeMB).
		Int("fits_in_mb", fits).Msg("stored orders estimated; the cache is sized for them")
	return expect, nil
}

// fillFromCommits starts filling orders from the other replicas' commits,
// on bg, and returns once its first session listens for them or has failed
// to (ctx's error if ctx ends first). Listening first means what commits
// during the warm-up reaches the cache too; but the warm-up never waits on
// it: a listener whose connection is refused (max_connections, say)
// retries on its own, the fill component says why, reads of other
// replicas' orders go to PostgreSQL meanwhile, and its first session that
// does listen catches up from when it began. Without PostgreSQL (demo mode)
// there are no other replicas.
func (d *daemon) fillFromCommits(ctx context.Context, bg *background, store storage.Store, orders *reads.Orders) error {
	pg, ok := store.(*postgres.Store)
	if !ok {
		d.fillHealth.OK()
		return nil
	}
	f := follow.New(pg.ConnConfig(), orders, follow.Options{
		Origin: d.origin, Window: catchUpWindow(d.cfg.WriteTimeout), Metrics: follow.NewMetrics(d.prom),
	})
	bg.goRun(func(ctx context.Context) { d.follow(ctx, f) })
	select {
	case <-f.Tried():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// catchUpWindow is how far back a commit listener that reconnects reads the
// stored orders again: twice the longest a write transaction of any replica
// stays open, assuming they all run with this WRITE_TIMEOUT. Without one,
// ten minutes.
func catchUpWindow(writeTimeout time.Duration) time.Duration {
	if writeTimeout <= 0 {
		return 10 * time.Minute
	}
	return 2 * writeTimeout
}

// follow fills the cache from the other replicas' commits, session after
// session, until ctx ends. Its goroutine is the fill component's only
// writer. While no session runs, reads fall back to PostgreSQL as before.
func (d *daemon) follow(ctx context.Context, f *follow.Follower) {
	log := d.component("fill")
	d.fillHealth.Wait("connecting the listener for other replicas' commits")
	retry := (&health.Retries{Health: d.fillHealth, Log: log, Metrics: d.metrics}).Retry(health.Work{
		Cause:   health.RetryFill,
		What:    "listening for other replicas' commits (their orders are read from postgresql meanwhile)",
		Failing: "commit listener lost; other replicas' orders are read from postgresql until it is back",
		Healed:  "commit listener back and caught up",
	}, d.backoff(), nil)
	_ = retry.Do(ctx, func(ctx context.Context) error {
		return f.Session(ctx, retry.Succeeded)
	}) // returns only when ctx ends
}

// warmUp loads every stored order into the cache before /health turns
// green, retrying while the store fails, and reports what the cache holds:
// in the log, in /health's warmup detail and in the warm-up metrics. When
// not every order fits, the warning says which CACHE_SIZE_MB would hold
// them; until then, reads of the oldest go to PostgreSQL.
func (d *daemon) warmUp(ctx context.Context, r *health.Retries, orders *reads.Orders, expect storage.Estimate, m warmUpMetrics) {
	retry := r.Retry(health.Work{
		Cause:   health.RetryWarmUp,
		What:    "cache warm-up",
		Failing: "cache warm-up failed; retrying",
		Healed:  "cache warm-up succeeded after failures",
		// Healthy only once the metrics and the detail say what it did.
		Next: "recording what the cache holds",
	}, d.backoff(), nil)
	var rep reads.WarmUpReport
	err := retry.Do(ctx, func(ctx context.Context) (err error) {
		rep, err = orders.WarmUp(ctx, expect)
		if err != nil {
			return err
		}
		// Buffers the warm-up outgrew (the query's, and the cache's when
		// the estimate was short) are garbage the runtime would hand back
		// to the OS only gradually. Hand them back now, once, before
		// /health turns green, so the memory after start is what stays.
		debug.FreeOSMemory()
		return nil
	})
	if err != nil {
		return // stopped before it finished
	}
	m.observe(rep)
	note := warmUpNote(rep, d.cfg.CacheSizeMB)
	d.warmupHealth.Note(note)
	ev := r.Log.Info()
	if !rep.Complete() {
		ev = r.Log.Warn()
	}
	ev.Int("orders_read", rep.Read).Int64("bytes_read", rep.ReadBytes).
		Int("orders_cached", rep.Cached).Int64("bytes_cached", rep.CachedBytes).
		// Ingest's own orders evicted meanwhile: not the warm-up's loss.
		Int("others_evicted", rep.OthersEvicted).
		Int("streams", rep.Streams).Stringer("took", rep.Took).Msg(note)
}

// warmUpNote says what a warm-up left in the cache and, when that is not
// every order read, what to set to cache them all.
func warmUpNote(rep reads.WarmUpReport, cacheMB int) string {
	mib := func(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	if rep.Complete() {
		return fmt.Sprintf("cache warmed up: all %d stored orders cached (%s) in %s",
			rep.Read, mib(rep.ReadBytes), rep.Took.Round(time.Millisecond))
	}
	return fmt.Sprintf("cache warmed up: only the newest %d of %d stored orders cached (%s of %s); "+
		"reads of the others go to PostgreSQL. CACHE_SIZE_MB=%d is too small: %d would hold them all",
		rep.Cached, rep.Read, mib(rep.CachedBytes), mib(rep.ReadBytes), cacheMB, rep.FitsInMB())
}
