package pipeline

import (
	"context"
	"time"
)

// Batch returns a stage that groups values into slices of at most size. A
// batch is emitted when it is full, when its first value has waited linger,
// or when in is closed (so nothing is held back at shutdown). Each emitted
// slice is freshly allocated and belongs to the receiver.
func Batch[T any](size int, linger time.Duration) Stage[T, []T] {
	size = max(size, 1)
	return func(ctx context.Context, in <-chan T, out chan<- []T) error {
		batch := make([]T, 0, size)
		// Go 1.23 timers: Stop and Reset guarantee no stale tick is
		// received afterwards, so the timer can be reused without draining.
		timer := time.NewTimer(linger)
		timer.Stop()
		defer timer.Stop()
		var expired <-chan time.Time

		flush := func() error {
			timer.Stop()
			expired = nil
			if len(batch) == 0 {
				return nil
			}
			full := batch
			batch = make([]T, 0, size)
			return Send(ctx, out, full)
		}

		for {
			select {
			case v, ok := <-in:
				if !ok {
					return flush()
				}
				batch = append(batch, v)
				if len(batch) == 1 {
					timer.Reset(linger)
					expired = timer.C
				}
				if len(batch) >= size {
					if err := flush(); err != nil {
						return err
					}
				}
			case <-expired:
				if err := flush(); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
