package pipeline

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Fan runs the goroutines of a pipeline, stages, routers and sinks, as one
// group: the first error cancels the others. Each declares the channels it
// sends to, and a channel that several of them share is closed once the last
// of its senders has returned. No stage closes a channel of its own, so
// stages can share an output (N decode workers, one dead-letter queue)
// without counting each other.
//
// A Fan is filled with Go and then run once with Run; the senders are all
// counted before any starts, so no channel is closed while a sender that
// has not started yet would still send to it.
type Fan struct {
	runs []fanRun
}

type fanRun struct {
	run  func(ctx context.Context) error
	outs []*Outlet
}

// Outlet is a set of channels that one or more of a Fan's goroutines send
// to: a shared output, or the outputs of one router. The Fan closes all its
// channels together once none of its senders runs.
type Outlet struct {
	closeAll func()
	senders  atomic.Int64
}

// Out returns an Outlet for cs.
func Out[T any](cs ...chan T) *Outlet {
	return &Outlet{closeAll: func() {
		for _, c := range cs {
			close(c)
		}
	}}
}

// Go adds run to the fan, as a sender to each of outs. run must send only
// to channels of outs (and selecting on ctx.Done(), see Send); it returns
// nil once its input is drained.
func (f *Fan) Go(run func(ctx context.Context) error, outs ...*Outlet) {
	f.runs = append(f.runs, fanRun{run, outs})
}

// Run starts everything added with Go and returns the first error once all
// of it has returned; the first error cancels the context of the rest.
// Every Outlet is closed after its last sender has returned, whether it
// failed or not, so the stages reading it drain and return too.
func (f *Fan) Run(ctx context.Context) error {
	for _, r := range f.runs {
		for _, o := range r.outs {
			o.senders.Add(1)
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, r := range f.runs {
		g.Go(func() error {
			defer func() {
				for _, o := range r.outs {
					if o.senders.Add(-1) == 0 {
						o.closeAll()
					}
				}
			}()
			return r.run(ctx)
		})
	}
	return g.Wait()
}
