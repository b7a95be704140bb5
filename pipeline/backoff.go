package pipeline

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff spaces out retries of a failing operation: capped exponential
// growth from Min to Max with jitter, so that many replicas retrying the same
// outage do not hit it in lockstep.
type Backoff struct {
	Min, Max time.Duration
}

// Delay is how long to wait before retry number attempt (1 for the first
// retry): a random duration between half and all of min(Max, Min·2^(attempt-1)).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half)
}

// Sleep waits for d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
