package daemon

import (
	"context"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/stats"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/server"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/reads"
)

// use calls f with l's value, or fails with parts.ErrNotReady until it is set:
// each method below is one use, so that what HTTP reads through answers 503
// "not connected yet" until orderd has connected, and then forwards.
func use[T, R any](l *parts.Late[T], f func(T) (R, error)) (R, error) {
	v, err := l.Get()
	if err != nil {
		var zero R
		return zero, err
	}
	return f(v)
}

// lateOrders is server.OrderReader once the read path exists.
type lateOrders struct{ parts.Late[*reads.Orders] }

func (l *lateOrders) Get(ctx context.Context, uid string) ([]byte, error) {
	return use(&l.Late, func(o *reads.Orders) ([]byte, error) { return o.Get(ctx, uid) })
}

// lateLister is server.OrderLister once the store is connected.
type lateLister struct{ parts.Late[storage.Store] }

func (l *lateLister) ListOrders(ctx context.Context, before int64, limit int) ([]storage.OrderSummary, error) {
	return use(&l.Late, func(s storage.Store) ([]storage.OrderSummary, error) { return s.ListOrders(ctx, before, limit) })
}

func (l *lateLister) SearchOrders(ctx context.Context, f storage.OrderFilter, after storage.SearchCursor, limit int) ([]storage.OrderSummary, error) {
	return use(&l.Late, func(s storage.Store) ([]storage.OrderSummary, error) { return s.SearchOrders(ctx, f, after, limit) })
}

// lateStats is server.StatsSource once everything is connected.
type lateStats struct{ parts.Late[*stats.Source] }

func (l *lateStats) Stats(ctx context.Context) (server.Stats, error) {
	return use(&l.Late, func(s *stats.Source) (server.Stats, error) { return s.Stats(ctx) })
}

// deadLetters reads and redrives the dead-letter topic.
type deadLetters struct {
	*browse.Reader
	*dlq.Redriver
}

// lateDLQ is admin.DeadLetters once Kafka is connected.
type lateDLQ struct{ parts.Late[deadLetters] }

func (l *lateDLQ) ListPage(ctx context.Context, f browse.Filter) (browse.Page, error) {
	return use(&l.Late, func(d deadLetters) (browse.Page, error) { return d.ListPage(ctx, f) })
}

func (l *lateDLQ) Get(ctx context.Context, ref dlq.Ref) (dlq.Record, error) {
	return use(&l.Late, func(d deadLetters) (dlq.Record, error) { return d.Reader.Get(ctx, ref) })
}

func (l *lateDLQ) Redrive(ctx context.Context, refs []dlq.Ref, payload []byte) ([]dlq.Redriven, error) {
	return use(&l.Late, func(d deadLetters) ([]dlq.Redriven, error) { return d.Redrive(ctx, refs, payload) })
}
