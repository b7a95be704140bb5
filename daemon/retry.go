package daemon

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
)

// keepTrying calls attempt until it succeeds or ctx ends, pausing with the
// daemon's capped, jittered backoff between failures. Each failure is
// counted under cause, reported on comp as "what: error", and logged with
// failMsg. It returns ctx's error if ctx ends first.
func (d *daemon) keepTrying(ctx context.Context, log zerolog.Logger, comp *health.Component,
	cause, what, failMsg string, attempt func(context.Context) error) error {
	backoff := d.backoff()
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay := backoff.Delay(n)
		d.metrics.Retry(cause)
		comp.Fail(fmt.Errorf("%s: %w", what, err))
		log.Warn().Err(err).Int("attempt", n).Stringer("retry_in", delay).Msg(failMsg)
		if err := pipeline.Sleep(ctx, delay); err != nil {
			return err
		}
	}
}
