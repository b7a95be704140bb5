package pipeline

import "context"

// Stage reads values from in and writes results to out. It returns nil once
// in is closed and drained, or ctx.Err() when ctx ends first. Every send
// selects on ctx.Done() (see Send), so a stage never blocks past
// cancellation. A stage never closes out: the Fan running it does, once every
// stage sharing out has returned.
type Stage[In, Out any] func(ctx context.Context, in <-chan In, out chan<- Out) error

// Sink consumes values without passing anything on: the end of a pipeline.
// Like a Stage, it returns nil once in is closed and drained.
type Sink[In any] func(ctx context.Context, in <-chan In) error

// Send delivers v on out unless ctx ends first.
func Send[T any](ctx context.Context, out chan<- T, v T) error {
	select {
	case out <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Route sends every value of in to outs[pick(v) % len(outs)], in the order
// received, until in is closed or ctx ends. Values that pick alike keep
// their order: a partition's messages through one chain of stages, say. It
// never closes outs, which several routers may share: the Fan running the
// routers closes them once all have returned.
func Route[T any](ctx context.Context, in <-chan T, outs []chan T, pick func(T) uint64) error {
	for v := range in {
		if err := Send(ctx, outs[pick(v)%uint64(len(outs))], v); err != nil {
			return err
		}
	}
	return nil
}
