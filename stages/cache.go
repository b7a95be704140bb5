package stages

import (
	"context"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage/reads"
)

// Cache returns the last stage of the ingest path: each stored order's JSON
// goes into the read cache, then its message is acked. The store has the
// order already, so a failed cache insert only means a later read goes to
// PostgreSQL; it does not hold the offset back. loop is busy while an order
// goes into the cache.
func Cache(orders *reads.Orders, count StageCounters, loop *health.Loop) pipeline.Sink[Valid] {
	return func(ctx context.Context, in <-chan Valid) error {
		for env := range in {
			count.In.Inc()
			loop.Busy()
			orders.Put(env.Value.Order.OrderUID, env.Value.JSON)
			loop.Idle()
			env.Ack()
			count.Out.Inc()
		}
		return nil
	}
}
