package pipeline

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Stage reads values from in and writes results to out. It returns nil once
// in is closed and drained, or ctx.Err() when ctx ends first. Every send
// selects on ctx.Done() (see Send), so a stage never blocks past
// cancellation. A stage never closes out: the runner does, once every worker
// sharing out has returned.
type Stage[In, Out any] func(ctx context.Context, in <-chan In, out chan<- Out) error

// Run runs workers copies of stage over the same in and out and closes out
// when all of them have returned. It returns the first error; the others are
// cancelled through the shared context.
func Run[In, Out any](ctx context.Context, workers int, stage Stage[In, Out], in <-chan In, out chan<- Out) error {
	defer close(out)
	g, ctx := errgroup.WithContext(ctx)
	for range max(workers, 1) {
		g.Go(func() error { return stage(ctx, in, out) })
	}
	return g.Wait()
}

// Sink consumes values without passing anything on: the end of a pipeline.
// Like a Stage, it returns nil once in is closed and drained.
type Sink[In any] func(ctx context.Context, in <-chan In) error

// RunSink runs workers copies of sink over the same in and returns the first
// error.
func RunSink[In any](ctx context.Context, workers int, sink Sink[In], in <-chan In) error {
	g, ctx := errgroup.WithContext(ctx)
	for range max(workers, 1) {
		g.Go(func() error { return sink(ctx, in) })
	}
	return g.Wait()
}

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
// never closes outs, which several routers may share: whoever starts the
// routers closes them once all have returned.
func Route[T any](ctx context.Context, in <-chan T, outs []chan T, pick func(T) uint64) error {
	for v := range in {
		if err := Send(ctx, outs[pick(v)%uint64(len(outs))], v); err != nil {
			return err
		}
	}
	return nil
}
