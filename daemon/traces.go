package daemon

import (
	"context"
	"time"

	"github.com/orderd/orderd/daemon/parts"
)

// tracingPart logs whether tracing is on and, at shutdown, flushes the
// spans still queued. It is the first part, so it stops last, after every
// span has ended; the flush gets what is left of SHUTDOWN_TIMEOUT.
func (d *daemon) tracingPart() parts.Part {
	return parts.Part{
		Name:  "tracing",
		Start: func() error { d.tracing.Start(d.log); return nil },
		Stop: func() error {
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
