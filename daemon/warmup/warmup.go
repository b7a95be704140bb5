// Package warmup loads every stored order into the cache before orderd
// reports ready, sizing the cache from the store's estimate first, and says
// what the cache holds: in the log, on the warmup health component and in
// the warm-up metrics. It never imports the daemon or the server.
package warmup

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/reads"
)

// Loader loads the stored orders into the cache and reports each step on
// its Report, retrying while the store fails.
type Loader struct {
	report      *health.Retries
	backoff     pipeline.Backoff
	cacheSizeMB int
	metrics     metrics
}

// New returns the Loader that reports on r, registering its metrics with
// reg. cacheSizeMB is CACHE_SIZE_MB, which its advice names.
func New(reg prometheus.Registerer, r *health.Retries, backoff pipeline.Backoff, cacheSizeMB int) *Loader {
	return &Loader{report: r, backoff: backoff, cacheSizeMB: cacheSizeMB, metrics: newMetrics(reg)}
}

// Estimate asks the store how much it holds, retrying while it fails.
func (l *Loader) Estimate(ctx context.Context, store storage.Store) (storage.Estimate, error) {
	r := l.report
	r.Health.Wait("estimating the stored orders, to size the cache")
	retry := r.Retry(health.Work{
		Cause:   health.RetryWarmUp,
		What:    "estimating the stored orders",
		Failing: "estimating the stored orders failed; retrying",
		Healed:  "estimating the stored orders succeeded after failures",
		Next:    "loading stored orders into the cache",
	}, l.backoff, nil)
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
	if fits > l.cacheSizeMB {
		ev = r.Log.Warn()
	}
	ev.Int64("orders", expect.Orders).Int64("bytes", expect.Bytes).Int("cache_size_mb", l.cacheSizeMB).
		Int("fits_in_mb", fits).Msg("stored orders estimated; the cache is sized for them")
	return expect, nil
}

// Load loads every stored order into the cache before /health turns
// green, retrying while the store fails, and reports what the cache holds:
// in the log, in /health's warmup detail and in the warm-up metrics. When
// not every order fits, the warning says which CACHE_SIZE_MB would hold
// them; until then, reads of the oldest go to PostgreSQL.
func (l *Loader) Load(ctx context.Context, orders *reads.Orders, expect storage.Estimate) {
	r := l.report
	retry := r.Retry(health.Work{
		Cause:   health.RetryWarmUp,
		What:    "cache warm-up",
		Failing: "cache warm-up failed; retrying",
		Healed:  "cache warm-up succeeded after failures",
		// Healthy only once the metrics and the detail say what it did.
		Next: "recording what the cache holds",
	}, l.backoff, nil)
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
	l.metrics.observe(rep)
	note := warmUpNote(rep, l.cacheSizeMB)
	r.Health.Note(note)
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
