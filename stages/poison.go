package stages

import (
	"errors"
	"fmt"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
)

// TooLargeError says a message exceeded the size limit.
type TooLargeError struct {
	Size, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message is %d bytes, more than the %d-byte limit (MAX_MESSAGE_BYTES)", e.Size, e.Limit)
}

// Classify decides whether err condemns the message that caused it (poison,
// dead-letter it now) or is transient (retry, the message itself is fine).
// Only the errors listed here are poison: anything unknown is retried, since
// dead-lettering a good order because of an outage loses it from the
// store, while retrying a bad one only delays its partition.
func Classify(err error) (dlq.Reason, bool) {
	switch {
	case is[*pipeline.PanicError](err):
		return dlq.ReasonInternalError, true
	case is[*TooLargeError](err):
		return dlq.ReasonTooLarge, true
	case is[*order.SyntaxError](err):
		return dlq.ReasonInvalidJSON, true
	case is[*order.FieldError](err), is[*order.ValidationError](err), errors.Is(err, storage.ErrRefused):
		return dlq.ReasonInvalidOrder, true
	case errors.Is(err, storage.ErrConflict):
		return dlq.ReasonConflict, true
	default:
		return "", false
	}
}

// is reports whether err's chain holds an E. errors.AsType keeps its target
// off the heap, where errors.As with five targets cost five allocations per
// condemned message.
func is[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}
