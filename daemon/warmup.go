package daemon

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/storage"
)

// readPathPart puts the cache in front of the store once the store is
// connected, so that GET /order and the read API work from then on, and
// loads every stored order into the cache before /health turns green. The
// cache is made then, not before: it is sized from the store's estimate of
// what it holds.
func (d *daemon) readPathPart() parts.Part {
	bg := parts.NewBackground()
	warmUp := newWarmUpMetrics(d.prom)
	var cache *storage.Cache // set by bg's goroutine; read after bg.stop
	return parts.Part{
		Name: "read path",
		Start: func() error {
			bg.Go(func(ctx context.Context) {
				store, err := d.store.Wait(ctx)
				if err != nil {
					return
				}
				report := d.warmUpReport()
				expect, err := d.estimate(ctx, report, store)
				if err != nil {
					return
				}
				if cache, err = storage.NewCacheFor(d.cfg.CacheSizeMB<<20, expect); err != nil {
					d.die(err)
					return
				}
				orders := storage.NewOrders(store, cache, storage.OrdersOptions{
					NegativeTTL:        d.cfg.NegativeTTL,
					MaxConcurrentReads: d.cfg.ReadConcurrency,
					ReadQueueTimeout:   d.cfg.ReadQueueTimeout,
				})
				d.prom.MustRegister(storage.NewCollector(orders))
				d.lister.Set(store)
				d.reads.Set(orders)
				// Listening first: what commits during the warm-up then
				// reaches the cache too.
				if err := d.fillFromCommits(ctx, bg, store, orders); err != nil {
					return
				}
				d.warmUp(ctx, report, orders, expect, warmUp)
			})
			return nil
		},
		Stop: func() error {
			bg.Stop()
			if cache == nil {
				return nil
			}
			return cache.Close()
		},
	}
}

// warmUpReport reports the warm-up's steps, each retried while the store
// fails. Its goroutine is the warmup component's only writer.
func (d *daemon) warmUpReport() *stages.Report {
	return &stages.Report{Health: d.warmupHealth, Log: d.component("warmup"), Metrics: d.metrics}
}

// estimate asks the store how much it holds, retrying while it fails.
func (d *daemon) estimate(ctx context.Context, r *stages.Report, store storage.Store) (storage.Estimate, error) {
	d.warmupHealth.Wait("estimating the stored orders, to size the cache")
	retry := r.Retry(stages.Work{
		Cause:   stages.RetryWarmUp,
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
	fits := storage.CacheSizeFor(expect)
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
func (d *daemon) fillFromCommits(ctx context.Context, bg *parts.Background, store storage.Store, orders *storage.Orders) error {
	pg, ok := store.(*storage.Postgres)
	if !ok {
		d.fillHealth.OK()
		return nil
	}
	f := pg.Follow(orders, storage.FollowOptions{
		Origin: d.origin, Window: catchUpWindow(d.cfg.WriteTimeout), Metrics: storage.NewFollowMetrics(d.prom),
	})
	bg.Go(func(ctx context.Context) { d.follow(ctx, f) })
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
func (d *daemon) follow(ctx context.Context, f *storage.Follower) {
	log := d.component("fill")
	d.fillHealth.Wait("connecting the listener for other replicas' commits")
	retry := (&stages.Report{Health: d.fillHealth, Log: log, Metrics: d.metrics}).Retry(stages.Work{
		Cause:   stages.RetryFill,
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
func (d *daemon) warmUp(ctx context.Context, r *stages.Report, orders *storage.Orders, expect storage.Estimate, m warmUpMetrics) {
	retry := r.Retry(stages.Work{
		Cause:   stages.RetryWarmUp,
		What:    "cache warm-up",
		Failing: "cache warm-up failed; retrying",
		Healed:  "cache warm-up succeeded after failures",
		// Healthy only once the metrics and the detail say what it did.
		Next: "recording what the cache holds",
	}, d.backoff(), nil)
	var rep storage.WarmUpReport
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
func warmUpNote(rep storage.WarmUpReport, cacheMB int) string {
	mib := func(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	if rep.Complete() {
		return fmt.Sprintf("cache warmed up: all %d stored orders cached (%s) in %s",
			rep.Read, mib(rep.ReadBytes), rep.Took.Round(time.Millisecond))
	}
	return fmt.Sprintf("cache warmed up: only the newest %d of %d stored orders cached (%s of %s); "+
		"reads of the others go to PostgreSQL. CACHE_SIZE_MB=%d is too small: %d would hold them all",
		rep.Cached, rep.Read, mib(rep.CachedBytes), mib(rep.ReadBytes), cacheMB, rep.FitsInMB())
}
