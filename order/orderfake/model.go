package orderfake

import (
	_ "embed"
	"fmt"

	"github.com/orderd/orderd/order"
)

// ModelJSON is model.json as published: the canonical order
// b563feb7b2b84b6test, indented, exactly the bytes the project's docs and
// tests quote. Treat it as read-only; it is shared by every caller.
//
//go:embed model.json
var ModelJSON []byte

// Model returns the canonical order, decoded from ModelJSON. Each call
// returns a fresh copy that the caller may modify.
//
// It panics if ModelJSON does not decode or validate: the model is the
// reference every other test leans on, so a broken model (or a rule change
// that rejects it) must stop everything at once.
func Model() order.Order {
	var (
		d order.Decoder
		o order.Order
	)
	if err := d.Decode(ModelJSON, &o); err != nil {
		panic(fmt.Sprintf("orderfake: decode model.json: %v", err))
	}
	if err := order.Validate(&o); err != nil {
		panic(fmt.Sprintf("orderfake: validate model.json: %v", err))
	}
	return o
}
