package order_test

import (
	"reflect"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// FuzzDecodeValidate feeds decode and validate anything at all. They never
// panic, and an order that decodes and validates re-encodes to canonical
// bytes that decode to the same order, and re-encode to the same bytes.
// The seed corpus is in testdata/fuzz/FuzzDecodeValidate, plus a generated
// order of every broken kind.
func FuzzDecodeValidate(f *testing.F) {
	f.Add(orderfake.ModelJSON)
	gen := orderfake.New(1)
	for kind := orderfake.NotJSON; kind <= orderfake.RuleViolation; kind++ {
		f.Add(gen.BrokenOf(kind))
	}
	var d order.Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		var o order.Order
		if err := d.Decode(data, &o); err != nil {
			return
		}
		if order.Validate(&o) != nil {
			return
		}
		doc := order.AppendJSON(nil, &o)
		var again order.Order
		if err := d.Decode(doc, &again); err != nil {
			t.Fatalf("the canonical form of a valid order does not decode: %v\n%s", err, doc)
		}
		if !reflect.DeepEqual(o, again) {
			t.Fatalf("decoded, encoded and decoded again, the order changed:\n%+v\n%+v", o, again)
		}
		if err := order.Validate(&again); err != nil {
			t.Fatalf("the canonical form of a valid order is not valid: %v", err)
		}
		if b := order.AppendJSON(nil, &again); string(b) != string(doc) {
			t.Fatalf("the canonical form is not stable:\n%s\n%s", doc, b)
		}
	})
}
