package stages

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/stages/internal/stagetest"
)

func TestDecode_RoutesEachMessage(t *testing.T) {
	const limit = 64 << 10
	f := func(payload []byte, wantReason dlq.Reason, wantInError string) {
		t.Helper()
		in := make(chan Message, 1)
		out := make(chan Decoded, 1)
		dead := make(chan Dead, 1)
		msg, a := stagetest.Message(7, []byte("key"), payload)
		in <- msg
		close(in)
		if err := Decode(limit, func() Decoder { return order.NewDecoder() }, dead, testMetrics().Decode, nil)(context.Background(), in, out); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if wantReason == "" {
			got := stagetest.Recv(t, (<-chan Decoded)(out))
			if got.Value.OrderUID == "" || got.Src.Offset != 7 {
				t.Fatalf("decoded %+v from offset %d", got.Value, got.Src.Offset)
			}
			stagetest.Quiet(t, (<-chan Dead)(dead), 0)
		} else {
			got := stagetest.Recv(t, (<-chan Dead)(dead))
			if got.Value.Reason != wantReason || !strings.Contains(got.Value.Err.Error(), wantInError) {
				t.Fatalf("dead-lettered as %s: %v; want %s mentioning %q", got.Value.Reason, got.Value.Err, wantReason, wantInError)
			}
			if !bytes.Equal(got.Src.Value, payload) || string(got.Src.Key) != "key" {
				t.Fatal("dead letter lost the original key or bytes")
			}
			stagetest.Quiet(t, (<-chan Decoded)(out), 0)
		}
		// Decode only routes: the stage that ends the journey acks.
		a.Assert(t, 0, 0)
	}
	model := orderfake.ModelJSON
	gen := orderfake.New(1)

	f(model, "", "")                                                     // the canonical order
	f(append([]byte("\xEF\xBB\xBF"), model...), "", "")                  // a leading BOM is tolerated
	f([]byte(`not json at all`), dlq.ReasonInvalidJSON, "invalid JSON")  // not JSON
	f(append(bytes.Clone(model), '}'), dlq.ReasonInvalidJSON, "")        // trailing garbage
	f(gen.BrokenOf(orderfake.Truncated), dlq.ReasonInvalidJSON, "")      // cut short
	f([]byte(`[]`), dlq.ReasonInvalidOrder, "")                          // JSON, not an object
	f(gen.BrokenOf(orderfake.MissingField), dlq.ReasonInvalidOrder, "")  // a required key missing
	f(gen.BrokenOf(orderfake.WrongType), dlq.ReasonInvalidOrder, "want") // a value of the wrong type
	f(bytes.Repeat([]byte(" "), limit+1), dlq.ReasonTooLarge, "MAX_MESSAGE_BYTES")
}
