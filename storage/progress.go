package storage

import "context"

// progressKey is the context key of WithProgress's func.
type progressKey struct{}

// WithProgress returns a copy of ctx that makes SaveOrders call f each time
// it finishes a step it bounds by WRITE_TIMEOUT, whatever the step's
// outcome: each transaction attempt (a batch, a wave, a half of a
// bisection, the schema probe's trial) and the schema probe's read of a
// stored order. A save that bisects around refused orders or probes the
// schema takes many steps; a caller watching for a stuck writer can judge
// each step against its bound instead of the whole save. memory.Store calls f
// once per SaveOrders.
//
// f runs on the goroutine of SaveOrders, between its steps: it must be
// quick and must not call back into the store.
func WithProgress(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

// Progressed calls ctx's progress func, if it has one.
func Progressed(ctx context.Context) {
	if f, ok := ctx.Value(progressKey{}).(func()); ok && f != nil {
		f()
	}
}
