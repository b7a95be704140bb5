package stages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/deadletter"
)

// Envelope types passed between the stages.
type (
	// Message is a Kafka message as consumed: its value is the raw bytes.
	Message = pipeline.Envelope[[]byte]
	// Decoded carries an order decoded from its message.
	Decoded = pipeline.Envelope[*order.Order]
	// Dead carries a message condemned to the dead-letter topic.
	Dead = deadletter.Dead
)

// Decoder turns a message's bytes into an order. *order.Decoder is the one
// orderd uses; each decode worker has its own.
type Decoder interface {
	Decode(data []byte, o *order.Order) error
}

// Decode returns the decode stage: each message within maxBytes is decoded
// into an order; anything else is sent to dead with its reason. Each worker
// gets a decoder from newDecoder, whose parser memory is reused from one
// message to the next. A panic while decoding condemns that message alone
// (internal_error), and the worker goes on with a fresh decoder. loop is
// busy while a message is being decoded.
func Decode(maxBytes int, newDecoder func() Decoder, dead chan<- Dead, count StageCounters, loop *health.Loop) pipeline.Stage[Message, Decoded] {
	return func(ctx context.Context, in <-chan Message, out chan<- Decoded) error {
		dec := newDecoder()
		for msg := range in {
			count.In.Inc()
			if len(msg.Value) > maxBytes {
				err := &TooLargeError{Size: len(msg.Value), Limit: maxBytes}
				if err := condemn(ctx, dead, msg, err, count); err != nil {
					return err
				}
				continue
			}
			o := new(order.Order)
			loop.Busy()
			err := pipeline.Safely(func() error { return dec.Decode(msg.Value, o) })
			loop.Idle()
			if err != nil {
				if _, panicked := errors.AsType[*pipeline.PanicError](err); panicked {
					dec = newDecoder() // its half-done state is not to be trusted
				}
				if err := condemn(ctx, dead, msg, err, count); err != nil {
					return err
				}
				continue
			}
			// Until Validate encodes it, its JSON to come is counted
			// at its raw size.
			msg.Weigh(2*rawSize(msg.Src) + o.Footprint())
			if err := pipeline.Send(ctx, out, pipeline.Carry(msg, o)); err != nil {
				return err
			}
			count.Out.Inc()
		}
		return nil
	}
}

// condemn sends env to the dead-letter stage with the reason Classify gives
// cause. A cause that is not poison is a programming error in the calling
// stage and stops the pipeline rather than losing or retrying the message
// silently.
func condemn[T any](ctx context.Context, dead chan<- Dead, env pipeline.Envelope[T], cause error, count StageCounters) error {
	reason, poison := Classify(cause)
	if !poison {
		return fmt.Errorf("dead-letter %s[%d]@%d: not a poison error: %w",
			env.Src.Topic, env.Src.Partition, env.Src.Offset, cause)
	}
	env.Weigh(rawSize(env.Src)) // a dead letter holds its message's bytes, nothing decoded
	markCondemned(env.Span(), reason)
	if err := pipeline.Send(ctx, dead, pipeline.Carry(env, deadletter.Poison{Reason: reason, Err: cause, FailedAt: time.Now()})); err != nil {
		return err
	}
	count.Dead.Inc()
	if reason == dlq.ReasonInternalError {
		count.Panics.Inc()
	}
	return nil
}

// rawSize is what a message's own bytes weigh.
func rawSize(src *pipeline.Source) int64 { return int64(len(src.Key) + len(src.Value)) }
