package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/orderd/orderd/daemon/stats"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/server"
	"github.com/orderd/orderd/storage"
)

var errNotReady = errors.New("not connected yet: orderd is starting")

// late holds something connected after the parts that use it have started:
// the HTTP server fails its uses (503) until then instead of waiting for
// PostgreSQL or Kafka, and the parts that cannot work without it wait.
type late[T any] struct {
	v     atomic.Pointer[T]
	once  sync.Once
	ready chan struct{} // closed by set
}

func (l *late[T]) readyCh() chan struct{} {
	l.once.Do(func() { l.ready = make(chan struct{}) })
	return l.ready
}

// set makes v available; it is called once.
func (l *late[T]) set(v T) {
	l.v.Store(&v)
	close(l.readyCh())
}

func (l *late[T]) get() (T, error) {
	p := l.v.Load()
	if p == nil {
		var zero T
		return zero, errNotReady
	}
	return *p, nil
}

// wait returns the value once it is set, or ctx's error if ctx ends first.
func (l *late[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-l.readyCh():
		return *l.v.Load(), nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// use calls f with l's value, or fails with errNotReady until it is set:
// each method below is one use, so that what HTTP reads through answers 503
// "not connected yet" until orderd has connected, and then forwards.
func use[T, R any](l *late[T], f func(T) (R, error)) (R, error) {
	v, err := l.get()
	if err != nil {
		var zero R
		return zero, err
	}
	return f(v)
}

// lateOrders is server.OrderReader once the read path exists.
type lateOrders struct{ late[*storage.Orders] }

func (l *lateOrders) Get(ctx context.Context, uid string) ([]byte, error) {
	return use(&l.late, func(o *storage.Orders) ([]byte, error) { return o.Get(ctx, uid) })
}

// lateLister is server.OrderLister once the store is connected.
type lateLister struct{ late[storage.Store] }

func (l *lateLister) ListOrders(ctx context.Context, before int64, limit int) ([]storage.OrderSummary, error) {
	return use(&l.late, func(s storage.Store) ([]storage.OrderSummary, error) { return s.ListOrders(ctx, before, limit) })
}

func (l *lateLister) SearchOrders(ctx context.Context, f storage.OrderFilter, after storage.SearchCursor, limit int) ([]storage.OrderSummary, error) {
	return use(&l.late, func(s storage.Store) ([]storage.OrderSummary, error) { return s.SearchOrders(ctx, f, after, limit) })
}

// lateStats is server.StatsSource once everything is connected.
type lateStats struct{ late[*stats.Source] }

func (l *lateStats) Stats(ctx context.Context) (server.Stats, error) {
	return use(&l.late, func(s *stats.Source) (server.Stats, error) { return s.Stats(ctx) })
}

// deadLetters reads and redrives the dead-letter topic.
type deadLetters struct {
	*dlq.Reader
	*dlq.Redriver
}

// lateDLQ is server.DeadLetters once Kafka is connected.
type lateDLQ struct{ late[deadLetters] }

func (l *lateDLQ) ListPage(ctx context.Context, f dlq.Filter) (dlq.Page, error) {
	return use(&l.late, func(d deadLetters) (dlq.Page, error) { return d.ListPage(ctx, f) })
}

func (l *lateDLQ) Get(ctx context.Context, ref dlq.Ref) (dlq.Record, error) {
	return use(&l.late, func(d deadLetters) (dlq.Record, error) { return d.Reader.Get(ctx, ref) })
}

func (l *lateDLQ) Redrive(ctx context.Context, refs []dlq.Ref, payload []byte) ([]dlq.Redriven, error) {
	return use(&l.late, func(d deadLetters) ([]dlq.Redriven, error) { return d.Redrive(ctx, refs, payload) })
}
