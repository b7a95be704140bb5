package pipeline

import (
	"context"
	"time"
)

// Batch returns a stage that groups values into slices of at most size. A
// batch is ready when it is full or when its first value has waited linger;
// it is handed over when the receiver takes it, and until then it goes on
// filling up to size. So a busy receiver (a writer in its transaction) gets
// one batch as large as what arrived meanwhile, not a queue of small ones
// cut at each linger; an idle one gets each batch after at most linger. A
// batch is also handed over when in is closed, so nothing is held back at
// shutdown. Each slice is freshly allocated and belongs to the receiver.
//
// For the batch to grow while the receiver is busy, out must be unbuffered:
// a buffered out takes each batch as soon as it is ready.
func Batch[T any](size int, linger time.Duration) Stage[T, []T] {
	size = max(size, 1)
	return func(ctx context.Context, in <-chan T, out chan<- []T) error {
		batch := make([]T, 0, size)
		// Go 1.23 timers: Stop and Reset guarantee no stale tick is
		// received afterwards, so the timer can be reused without draining.
		timer := time.NewTimer(linger)
		timer.Stop()
		defer timer.Stop()
		var (
			expired <-chan time.Time
			due     bool // the first value has waited linger
		)
		for {
			var (
				recv <-chan T   // nil, so not selected, once the batch is full
				send chan<- []T // nil until the batch is ready
			)
			if len(batch) < size {
				recv = in
			}
			if len(batch) >= size || due {
				send = out
			}
			select {
			case v, ok := <-recv:
				if !ok {
					if len(batch) == 0 {
						return nil
					}
					return Send(ctx, out, batch)
				}
				batch = append(batch, v)
				if len(batch) == 1 {
					timer.Reset(linger)
					expired = timer.C
				}
			case send <- batch:
				timer.Stop()
				expired, due = nil, false
				batch = make([]T, 0, size)
			case <-expired:
				expired, due = nil, true
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
