package stages

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
)

// Writer stores batches of valid orders, one transaction per batch.
type Writer struct {
	Store storage.Store
	// Health has one part per concurrent writer (Ingest.Writers): each
	// writer reports its own, so one's success never hides another's
	// failure.
	Health  []*health.Component
	Log     zerolog.Logger
	Metrics *Metrics
	// Retry spaces out attempts while the store fails as a whole.
	Retry pipeline.Backoff
	// Tracing, if set, gives each batch a span (see Tracing).
	Tracing *Tracing
}

// Stage returns the write stage of writer number worker. Stored orders
// (new or identical redeliveries) go on to the cache stage; orders PostgreSQL
// refused, that conflict with a stored one, or that make saving panic go to
// dead. A failure of the store as a whole (connection lost, timeout...) is
// never any one order's fault: the batch is retried until it succeeds or ctx
// ends, and while it fails nothing moves, so the in-flight limit stops the
// consumer. loop is busy during each attempt, not between them: waiting out
// an outage is not being stuck. Within an attempt, each step the store
// finishes (a transaction of a bisection, the schema probe) restarts the
// loop's clock: a save of many slow steps is progress, and only a step
// that never ends is stuck.
func (w *Writer) Stage(worker int, dead chan<- Dead, loop *health.Loop) pipeline.Stage[[]Valid, Valid] {
	retry := (&health.Retries{Health: w.Health[worker%len(w.Health)], Log: w.Log, Metrics: w.Metrics}).Retry(health.Work{
		Cause:   health.RetryStore,
		What:    "saving orders",
		Failing: "saving batch failed; nothing is committed until it succeeds",
		Healed:  "store answers again; batch saved",
	}, w.Retry, nil)
	return func(ctx context.Context, in <-chan []Valid, out chan<- Valid) error {
		retry.Succeeded() // healthy until a save fails: it only fails while retrying
		var recs []storage.Record
		count := w.Metrics.Write
		for batch := range in {
			count.In.Add(float64(len(batch)))
			recs = recs[:0]
			for _, env := range batch {
				recs = append(recs, env.Value)
			}
			var results []storage.Result
			tctx, span := w.traceBatch(ctx, worker, batch)
			err := retry.Do(tctx, func(ctx context.Context) (err error) {
				start := time.Now()
				loop.Busy()
				defer loop.Idle()
				if results, err = w.save(storage.WithProgress(ctx, loop.Busy), recs); err == nil {
					observe(w.Metrics.batchDuration, time.Since(start).Seconds(), span)
					w.Metrics.batchSize.Observe(float64(len(recs)))
				}
				attemptFailed(span, err)
				return err
			})
			endBatch(span, err, batch)
			if err != nil {
				return err
			}
			for i, env := range batch {
				switch res := results[i]; res.Outcome {
				case storage.Inserted, storage.Duplicate:
					w.Metrics.countStored(res.Outcome)
					if err = pipeline.Send(ctx, out, env); err == nil {
						count.Out.Inc()
					}
				default:
					err = condemn(ctx, dead, env, res.Err, count)
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// save stores recs. A panic while saving is isolated the way the store
// isolates a refused value: each half of the batch is saved on its own,
// recursively, until the order that triggers it is alone, and that order's
// result is the panic (no outcome: it is not stored); every other order is
// saved. Saving is idempotent, so halves saved before the panic are found
// Duplicate when they are saved again.
func (w *Writer) save(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	var results []storage.Result
	err := pipeline.Safely(func() (err error) {
		results, err = w.Store.SaveOrders(ctx, recs)
		return err
	})
	p, panicked := errors.AsType[*pipeline.PanicError](err)
	switch {
	case !panicked:
		return results, err
	case len(recs) == 1:
		return []storage.Result{{Err: p}}, nil
	}
	storage.TraceEvent(ctx, "bisect after a panic", attrBatchSize.Int(len(recs)))
	mid := len(recs) / 2
	first, err := w.save(ctx, recs[:mid])
	if err != nil {
		return nil, err
	}
	second, err := w.save(ctx, recs[mid:])
	if err != nil {
		return nil, err
	}
	return append(first, second...), nil
}
