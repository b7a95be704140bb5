package daemon

import (
	"context"
	"time"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/warmup"
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
	// The warm-up's goroutine is the warmup component's only writer.
	loader := warmup.New(d.prom, &stages.Report{Health: d.warmupHealth, Log: d.component("warmup"), Metrics: d.metrics},
		d.backoff(), d.cfg.CacheSizeMB)
	var cache *storage.Cache // set by bg's goroutine; read after bg.stop
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
