package daemon

import (
	"context"
	"time"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/warmup"
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
func (d *daemon) readPathPart() parts.Part {
	bg := parts.NewBackground()
	// The warm-up's goroutine is the warmup component's only writer.
	loader := warmup.New(d.prom, &health.Retries{Health: d.warmupHealth, Log: d.component("warmup"), Metrics: d.metrics},
		d.backoff(), d.cfg.CacheSizeMB)
	var cache *reads.Cache // set by bg's goroutine; read after bg.stop
	return parts.Part{
		Name: "read path",
		Start: func() error {
			bg.Go(func(ctx context.Context) {
				store, err := d.store.Wait(ctx)
				if err != nil {
					return
				}
				expect, err := loader.Estimate(ctx, store)
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
				d.lister.Set(store)
				d.reads.Set(orders)
				// Listening first: what commits during the warm-up then
				// reaches the cache too.
				if err := d.fillFromCommits(ctx, bg, store, orders); err != nil {
					return
				}
				loader.Load(ctx, orders, expect)
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

// fillFromCommits starts filling orders from the other replicas' commits,
// on bg, and returns once its first session listens for them or has failed
// to (ctx's error if ctx ends first). Listening first means what commits
// during the warm-up reaches the cache too; but the warm-up never waits on
// it: a listener whose connection is refused (max_connections, say)
// retries on its own, the fill component says why, reads of other
// replicas' orders go to PostgreSQL meanwhile, and its first session that
// does listen catches up from when it began. Without PostgreSQL (demo mode)
// there are no other replicas.
func (d *daemon) fillFromCommits(ctx context.Context, bg *parts.Background, store storage.Store, orders *reads.Orders) error {
	pg, ok := store.(*postgres.Store)
	if !ok {
		d.fillHealth.OK()
		return nil
	}
	f := follow.New(pg.ConnConfig(), orders, follow.Options{
		Origin: d.origin, Window: catchUpWindow(d.cfg.WriteTimeout), Metrics: follow.NewMetrics(d.prom),
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
