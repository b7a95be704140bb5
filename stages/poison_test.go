package stages

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/internal/stagetest"
	"github.com/orderd/orderd/storage"
)

func TestClassify_PoisonOnlyForTheMessagesOwnFaults(t *testing.T) {
	f := func(err error, wantReason dlq.Reason, wantPoison bool) {
		t.Helper()
		reason, poison := Classify(err)
		if reason != wantReason || poison != wantPoison {
			t.Errorf("Classify(%v) = %q, %v; want %q, %v", err, reason, poison, wantReason, wantPoison)
		}
	}
	f(&TooLargeError{Size: 10, Limit: 5}, dlq.ReasonTooLarge, true)
	f(&order.SyntaxError{Detail: "x"}, dlq.ReasonInvalidJSON, true)
	f(&order.FieldError{Field: "payment.amount", Problem: "missing"}, dlq.ReasonInvalidOrder, true)
	f(&order.ValidationError{Violations: []order.Violation{{Field: "order_uid", Rule: "r"}}}, dlq.ReasonInvalidOrder, true)
	f(fmt.Errorf("order x: %w: value", storage.ErrRefused), dlq.ReasonInvalidOrder, true) // PostgreSQL refused a value
	f(fmt.Errorf("order x: %w", storage.ErrConflict), dlq.ReasonConflict, true)
	f(&pipeline.PanicError{Value: "index out of range"}, dlq.ReasonInternalError, true) // a panic the message triggered
	// Everything else is transient: never dead-letter a good order because
	// of an outage.
	f(errors.New("dial tcp 127.0.0.1:5432: connection refused"), "", false)
	f(context.DeadlineExceeded, "", false)
	f(storage.ErrBusy, "", false)
}

func TestCondemn_RefusesATransientError(t *testing.T) {
	dead := make(chan Dead, 1)
	msg, a := stagetest.Message(3, nil, []byte("{}"))
	if err := condemn(context.Background(), dead, msg, errors.New("connection reset"), testMetrics().Decode); err == nil {
		t.Fatal("condemn dead-lettered a message for a transient error")
	}
	stagetest.Quiet(t, (<-chan Dead)(dead), 0)
	a.Assert(t, 0, 0)
}
