package daemon

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/storage"
)

// readPathPart puts the cache in front of the store once the store is
// connected, so that GET /order and the read API work from then on, and
// loads every stored order into the cache before /health turns green.
func (d *daemon) readPathPart() part {
	bg := newBackground()
	warmUp := newWarmUpMetrics(d.prom)
	return part{
		name: "read path",
		start: func() error {
			bg.goRun(func(ctx context.Context) {
				store, err := d.store.wait(ctx)
				if err != nil {
					return
				}
				orders := storage.NewOrders(store, d.cache, storage.OrdersOptions{
					NegativeTTL:        d.cfg.NegativeTTL,
					MaxConcurrentReads: d.cfg.ReadConcurrency,
					ReadQueueTimeout:   d.cfg.ReadQueueTimeout,
				})
				d.prom.MustRegister(storage.NewCollector(orders))
				d.lister.set(store)
				d.reads.set(orders)
				// Listening first: what commits during the warm-up then
				// reaches the cache too.
				if err := d.fillFromCommits(ctx, bg, store, orders); err != nil {
					return
				}
				d.warmUp(ctx, orders, warmUp)
			})
			return nil
		},
		stop: func() error { bg.stop(); return nil },
	}
}

// fillFromCommits starts filling orders from the other replicas' commits,
// on bg, and returns once it listens for them (ctx's error if ctx ends
// first). Without PostgreSQL (demo mode) there are no other replicas.
func (d *daemon) fillFromCommits(ctx context.Context, bg *background, store storage.Store, orders *storage.Orders) error {
	pg, ok := store.(*storage.Postgres)
	if !ok {
		d.fillHealth.OK()
		return nil
	}
	f := pg.Follow(orders, storage.FollowOptions{
		Origin: d.origin, Window: catchUpWindow(d.cfg.WriteTimeout), Metrics: storage.NewFollowMetrics(d.prom),
	})
	bg.goRun(func(ctx context.Context) { d.follow(ctx, f) })
	select {
	case <-f.Listening():
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

// warmUp loads every stored order into the cache before /health turns green,
// retrying while the store fails. Its goroutine is the warmup component's
// only writer.
func (d *daemon) warmUp(ctx context.Context, orders *storage.Orders, m warmUpMetrics) {
	log := d.component("warmup")
	retry := (&stages.Report{Health: d.warmupHealth, Log: log, Metrics: d.metrics}).Retry(stages.Work{
		Cause:   stages.RetryWarmUp,
		What:    "cache warm-up",
		Failing: "cache warm-up failed; retrying",
		Healed:  "cache warm-up succeeded after failures",
	}, d.backoff(), nil)
	var (
		n     int
		start time.Time
	)
	d.warmupHealth.Wait("loading stored orders into the cache")
	err := retry.Do(ctx, func(ctx context.Context) (err error) {
		start = time.Now()
		n, err = orders.WarmUp(ctx)
		return err
	})
	if err != nil {
		return // stopped before it finished
	}
	m.duration.Set(time.Since(start).Seconds())
	m.orders.Set(float64(n))
	// The cache grew by doubling while it filled; the buffers it outgrew
	// are garbage the runtime would hand back to the OS only gradually.
	// Hand them back now, once, so the resident memory after start is the
	// cache's (about 1.1x the orders' JSON, not 1.5x).
	debug.FreeOSMemory()
	log.Info().Int("orders", n).Stringer("took", time.Since(start)).Msg("cache warmed up")
}
