package daemon

import (
	"context"
	"time"
)

// tracingPart logs whether tracing is on and, at shutdown, flushes the
// spans still queued. It is the first part, so it stops last, after every
// span has ended; the flush gets what is left of SHUTDOWN_TIMEOUT.
func (d *daemon) tracingPart() part {
	return part{
		name:  "tracing",
		start: func() error { d.tracing.Start(d.log); return nil },
		stop: func() error {
			ctx, cancel := context.WithDeadline(context.Background(), d.flushDeadline())
			defer cancel()
			return d.tracing.Stop(ctx)
		},
	}
}

// flushDeadline is when SHUTDOWN_TIMEOUT ends, counted from when shutdown
// began (readiness turned 503); from now if it never began.
func (d *daemon) flushDeadline() time.Time {
	began := time.Now()
	if at := d.notReadyAt.Load(); at != nil {
		began = *at
	}
	return began.Add(d.cfg.ShutdownTimeout)
}
