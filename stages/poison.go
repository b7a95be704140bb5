package stages

import (
	"errors"
	"fmt"
	"time"

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

// Poison is why a message can never be processed.
type Poison struct {
	Reason   dlq.Reason
	Err      error
	FailedAt time.Time
}

// Classify decides whether err condemns the message that caused it (poison,
// dead-letter it now) or is transient (retry, the message itself is fine).
// Only the errors listed here are poison: anything unknown is retried, since
// dead-lettering a good order because of an outage loses it from the
// store, while retrying a bad one only delays its partition.
func Classify(err error) (dlq.Reason, bool) {
	var (
		tooLarge   *TooLargeError
		syntax     *order.SyntaxError
		field      *order.FieldError
		validation *order.ValidationError
		panicked   *pipeline.PanicError
	)
	switch {
	case errors.As(err, &panicked):
		return dlq.ReasonInternalError, true
	case errors.As(err, &tooLarge):
		return dlq.ReasonTooLarge, true
	case errors.As(err, &syntax):
		return dlq.ReasonInvalidJSON, true
	case errors.As(err, &field), errors.As(err, &validation), errors.Is(err, storage.ErrRefused):
		return dlq.ReasonInvalidOrder, true
	case errors.Is(err, storage.ErrConflict):
		return dlq.ReasonConflict, true
	default:
		return "", false
	}
}
