package daemon

import (
	"context"
	"time"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/memory"
	"github.com/orderd/orderd/storage/postgres"
)

// storePart connects to the store, retrying while it is unreachable, and
// then checks it until stopped; stopping closes it. Its goroutine is the
// store health component's only writer.
func (d *daemon) storePart() parts.Part {
	bg := parts.NewBackground()
	return parts.Part{
		Name: "store",
		Start: func() error {
			bg.Go(func(ctx context.Context) {
				s, err := d.openStore(ctx)
				if err != nil {
					return // stopped while connecting
				}
				d.store.Set(s)
				d.watchStore(ctx, s)
			})
			return nil
		},
		Stop: func() error {
			bg.Stop()
			if s, err := d.store.Get(); err == nil {
				s.Close()
			}
			return nil
		},
	}
}

// openStore connects to PostgreSQL, retrying while it is unreachable, or
// returns the in-memory store in demo mode without DATABASE_URL.
func (d *daemon) openStore(ctx context.Context) (storage.Store, error) {
	if d.cfg.DatabaseURL == "" {
		d.log.Warn().Msg("demo mode without DATABASE_URL: orders are kept in memory only and are lost when orderd stops")
		d.storeHealth.OK()
		return memory.New(), nil
	}
	log := d.component("store")
	// A pool for each kind of work, so none can take another's
	// connections: the writers always get theirs.
	pools := postgres.Pools{
		Writers: d.cfg.Writers, Reads: d.cfg.ReadConcurrency,
		Lists: d.cfg.ListConcurrency, ListWait: d.cfg.ListQueueTimeout,
		WriteTimeout: d.cfg.WriteTimeout, Origin: d.origin,
		Tracer: d.tracing.Pgx(),
	}
	retry := (&health.Retries{Health: d.storeHealth, Log: log, Metrics: d.metrics}).Retry(health.Work{
		Cause:   health.RetryConnect,
		What:    "connect to postgresql",
		Failing: "postgresql unavailable; retrying",
		Healed:  "postgresql reachable",
	}, d.backoff(), nil)
	var pg *postgres.Store
	err := retry.Do(ctx, func(ctx context.Context) (err error) {
		connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		pg, err = postgres.OpenWith(connectCtx, d.cfg.DatabaseURL, pools)
		return err
	})
	if err != nil {
		return nil, err
	}
	log.Info().Str("database_url", d.cfg.RedactedDatabaseURL()).Msg("postgresql connected, migrations applied")
	return pg, nil
}

// storePingInterval is how often the store's health is checked.
const storePingInterval = 2 * time.Second

// watchStore pings the store until ctx ends and reports the result, so
// /health answers from memory instead of querying PostgreSQL per request.
func (d *daemon) watchStore(ctx context.Context, s storage.Store) {
	// A failed ping retries nothing, so it has no cause and is not counted
	// among the retries. The next ping follows it after half to all of the
	// ping interval, jittered as every retry's wait is.
	retry := (&health.Retries{Health: d.storeHealth, Log: d.component("store"), Metrics: d.metrics}).Retry(health.Work{
		What:    "ping",
		Failing: "store stopped answering",
		Healed:  "store answers again",
	}, pipeline.Backoff{Min: storePingInterval, Max: storePingInterval}, nil)
	wait := storePingInterval
	for pipeline.Sleep(ctx, wait) == nil {
		pingCtx, cancel := context.WithTimeout(ctx, storePingInterval)
		err := s.Ping(pingCtx)
		cancel()
		switch {
		case err == nil:
			retry.Succeeded()
			wait = storePingInterval
		case ctx.Err() == nil:
			wait = retry.Fail(err)
		}
	}
}
