package stages

import (
	"context"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
)

// Valid carries an order that passed validation, with its canonical JSON.
type Valid = pipeline.Envelope[storage.Record]

// Validate returns the validate stage: an order breaking a rule goes to dead
// naming every broken rule; a valid one is encoded once, here, into the
// canonical JSON that PostgreSQL stores and GET /order serves, so that the
// single-threaded writer and the cache never encode. A panic while
// validating or encoding condemns that message alone (internal_error). loop
// is busy while an order is being validated and encoded.
func Validate(dead chan<- Dead, count StageCounters, loop *health.Loop) pipeline.Stage[Decoded, Valid] {
	return func(ctx context.Context, in <-chan Decoded, out chan<- Valid) error {
		for env := range in {
			count.In.Inc()
			o := env.Value
			var doc []byte
			loop.Busy()
			err := pipeline.Safely(func() error {
				if err := order.Validate(o); err != nil {
					return err
				}
				// The raw size is usually enough room: the canonical
				// form drops whitespace and unknown fields.
				doc = order.AppendJSON(make([]byte, 0, len(env.Src.Value)+64), o)
				return nil
			})
			loop.Idle()
			if err != nil {
				if err := condemn(ctx, dead, env, err, count); err != nil {
					return err
				}
				continue
			}
			env.Weigh(rawSize(env.Src) + o.Footprint() + int64(cap(doc)))
			markValid(env.Span(), o.OrderUID)
			if err := pipeline.Send(ctx, out, pipeline.Carry(env, storage.Record{Order: o, JSON: doc})); err != nil {
				return err
			}
			count.Out.Inc()
		}
		return nil
	}
}
