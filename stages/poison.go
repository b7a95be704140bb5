package stages

import (
	"errors"
	"fmt"
	"time"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
)

// Reason is the stable code a dead-lettered message carries in its
// dlq-reason header. Tools filter on it, so the codes never change.
type Reason string

// The reasons a message is dead-lettered.
const (
	ReasonInvalidJSON  Reason = "invalid_json"  // not JSON, or JSON followed by garbage
	ReasonInvalidOrder Reason = "invalid_order" // JSON, but not a valid order (shape or rule), or a value PostgreSQL refused
	ReasonTooLarge     Reason = "too_large"     // bigger than the configured limit; not parsed
	ReasonConflict     Reason = "conflict"      // its order_uid is stored with different content
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
	Reason   Reason
	Err      error
	FailedAt time.Time
}

// Classify decides whether err condemns the message that caused it (poison,
// dead-letter it now) or is transient (retry, the message itself is fine).
// Only the errors listed here are poison: anything unknown is retried, since
// dead-lettering a good order because of an outage loses it from the
// store, while retrying a bad one only delays its partition.
func Classify(err error) (Reason, bool) {
	var (
		tooLarge   *TooLargeError
		syntax     *order.SyntaxError
		field      *order.FieldError
		validation *order.ValidationError
	)
	switch {
	case errors.As(err, &tooLarge):
		return ReasonTooLarge, true
	case errors.As(err, &syntax):
		return ReasonInvalidJSON, true
	case errors.As(err, &field), errors.As(err, &validation), errors.Is(err, storage.ErrRefused):
		return ReasonInvalidOrder, true
	case errors.Is(err, storage.ErrConflict):
		return ReasonConflict, true
	default:
		return "", false
	}
}
