package stages

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
)

// Writer stores batches of valid orders, one transaction per batch.
type Writer struct {
	Store   storage.Store
	Health  *health.Component
	Log     zerolog.Logger
	Metrics *Metrics
	// Retry spaces out attempts while the store fails as a whole.
	Retry pipeline.Backoff
}

// Stage returns the write stage. Stored orders (new or identical
// redeliveries) go on to the cache stage; orders PostgreSQL refused or that
// conflict with a stored one go to dead. A failure of the store as a whole
// (connection lost, timeout...) is never any one order's fault: the batch is
// retried until it succeeds or ctx ends, and while it fails nothing moves, so
// the in-flight limit stops the consumer.
func (w *Writer) Stage(dead chan<- Dead) pipeline.Stage[[]Valid, Valid] {
	return func(ctx context.Context, in <-chan []Valid, out chan<- Valid) error {
		var recs []storage.Record
		count := w.Metrics.Write
		for batch := range in {
			count.In.Add(float64(len(batch)))
			recs = recs[:0]
			for _, env := range batch {
				recs = append(recs, env.Value)
			}
			results, err := w.save(ctx, recs)
			if err != nil {
				return err
			}
			for i, env := range batch {
				switch res := results[i]; res.Outcome {
				case storage.Inserted, storage.Duplicate:
					w.Metrics.stored[res.Outcome].Inc()
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

// save stores recs, retrying whole-batch failures with backoff until they
// succeed or ctx ends.
func (w *Writer) save(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	var firstFailure time.Time
	for attempt := 1; ; attempt++ {
		start := time.Now()
		results, err := w.Store.SaveOrders(ctx, recs)
		if err == nil {
			w.Metrics.batchDuration.Observe(time.Since(start).Seconds())
			w.Metrics.batchSize.Observe(float64(len(recs)))
			if attempt > 1 {
				w.Log.Info().Int("attempts", attempt).Stringer("outage", time.Since(firstFailure)).
					Msg("store answers again; batch saved")
			}
			w.Health.OK()
			return results, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt == 1 {
			firstFailure = time.Now()
		}
		delay := w.Retry.Delay(attempt)
		w.Metrics.Retry(RetryStore)
		w.Health.Fail(fmt.Errorf("save %d orders failing since %s, retrying: %w",
			len(recs), firstFailure.UTC().Format(time.RFC3339), err))
		w.Log.Warn().Err(err).Int("orders", len(recs)).Int("attempt", attempt).Stringer("retry_in", delay).
			Msg("saving batch failed; nothing is committed until it succeeds")
		if err := pipeline.Sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}
