package stages

import (
	"context"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/stages/internal/stagetest"
)

// A message weighs against MAX_IN_FLIGHT_MB what it holds at each step:
// decoded, its raw bytes, the order and its JSON to come (counted at the
// raw size); validated, the raw bytes, the order and its canonical JSON;
// condemned, only its raw bytes.
func TestStages_WeighWhatTheMessageHolds(t *testing.T) {
	ctx := context.Background()
	m := testMetrics()
	run := func(payload []byte) (Decoded, Dead, *stagetest.Acks, bool) {
		t.Helper()
		in, out, dead := make(chan Message, 1), make(chan Decoded, 1), make(chan Dead, 1)
		msg, a := stagetest.Message(1, []byte("key"), payload)
		in <- msg
		close(in)
		if err := Decode(1<<20, func() Decoder { return order.NewDecoder() }, dead, m.Decode, nil)(ctx, in, out); err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-out:
			return d, Dead{}, a, true
		default:
			return Decoded{}, stagetest.Recv(t, (<-chan Dead)(dead)), a, false
		}
	}
	raw := int64(len("key") + len(orderfake.ModelJSON))

	decoded, _, a, ok := run(orderfake.ModelJSON)
	if !ok {
		t.Fatal("the canonical order was condemned")
	}
	if got, want := a.Weight.Load(), 2*raw+decoded.Value.Footprint(); got != want {
		t.Fatalf("decoded: weighs %d, want %d (raw %d twice and the order's %d)", got, want, raw, decoded.Value.Footprint())
	}

	in, out, dead := make(chan Decoded, 1), make(chan Valid, 1), make(chan Dead, 1)
	in <- decoded
	close(in)
	if err := Validate(dead, m.Validate, nil)(ctx, in, out); err != nil {
		t.Fatal(err)
	}
	valid := stagetest.Recv(t, (<-chan Valid)(out))
	if got, want := a.Weight.Load(), raw+valid.Value.Order.Footprint()+int64(cap(valid.Value.JSON)); got != want {
		t.Fatalf("validated: weighs %d, want %d", got, want)
	}

	_, _, a, ok = run([]byte(`{"not": "an order"}`))
	if ok {
		t.Fatal("a broken message was decoded")
	}
	if got, want := a.Weight.Load(), int64(len("key")+len(`{"not": "an order"}`)); got != want {
		t.Fatalf("condemned: weighs %d, want its raw %d", got, want)
	}
}
