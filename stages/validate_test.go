package stages

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/internal/stagetest"
)

func TestValidate_EncodesValidOrdersAndCondemnsInvalidOnes(t *testing.T) {
	in := make(chan Decoded, 2)
	out := make(chan Valid, 2)
	dead := make(chan Dead, 2)

	good := orderfake.Model()
	bad := orderfake.Model()
	bad.Payment.Amount++ // breaks amount = goods_total + delivery_cost + custom_fee
	bad.Payment.Currency = "usd"

	m1, a1 := stagetest.Message(1, nil, orderfake.ModelJSON)
	m2, a2 := stagetest.Message(2, nil, orderfake.ModelJSON)
	in <- pipeline.Carry(m1, &good)
	in <- pipeline.Carry(m2, &bad)
	close(in)
	if err := Validate(dead, testMetrics().Validate, nil)(context.Background(), in, out); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	v := stagetest.Recv(t, (<-chan Valid)(out))
	if want := order.AppendJSON(nil, &good); !bytes.Equal(v.Value.JSON, want) {
		t.Fatalf("canonical JSON\n got %s\nwant %s", v.Value.JSON, want)
	}
	if v.Value.Order != &good || v.Src.Offset != 1 {
		t.Fatal("the record does not carry the decoded order and its source")
	}

	d := stagetest.Recv(t, (<-chan Dead)(dead))
	msg := d.Value.Err.Error()
	if d.Value.Reason != dlq.ReasonInvalidOrder || d.Src.Offset != 2 ||
		!strings.Contains(msg, "payment.amount") || !strings.Contains(msg, "payment.currency") {
		t.Fatalf("dead letter %s at %d: %q; want invalid_order naming both broken rules", d.Value.Reason, d.Src.Offset, msg)
	}
	a1.Assert(t, 0, 0)
	a2.Assert(t, 0, 0)
}
