package order_test

import (
	"testing"
	"unsafe"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// An order's footprint counts its structs and every string byte, so an
// item whose JSON is a few bytes still weighs a whole Item.
func TestOrder_Footprint(t *testing.T) {
	var o order.Order
	if err := order.NewDecoder().Decode(orderfake.ModelJSON, &o); err != nil {
		t.Fatal(err)
	}
	strs := len(o.OrderUID) + len(o.TrackNumber) + len(o.Entry) + len(o.Locale) + len(o.InternalSignature) +
		len(o.CustomerID) + len(o.DeliveryService) + len(o.Shardkey) + len(o.DateCreated) + len(o.OofShard) +
		len(o.Delivery.Name) + len(o.Delivery.Phone) + len(o.Delivery.Zip) + len(o.Delivery.City) +
		len(o.Delivery.Address) + len(o.Delivery.Region) + len(o.Delivery.Email) +
		len(o.Payment.Transaction) + len(o.Payment.RequestID) + len(o.Payment.Currency) + len(o.Payment.Provider) + len(o.Payment.Bank)
	for _, it := range o.Items {
		strs += len(it.TrackNumber) + len(it.Rid) + len(it.Name) + len(it.Size) + len(it.Brand)
	}
	want := int64(unsafe.Sizeof(o)) + int64(cap(o.Items))*int64(unsafe.Sizeof(order.Item{})) + int64(strs)
	if got := o.Footprint(); got != want || strs == 0 {
		t.Fatalf("Footprint = %d, want %d (%d bytes of strings)", got, want, strs)
	}

	empty := order.Order{Items: make([]order.Item, 1000)}
	if got, min := empty.Footprint(), int64(1000*unsafe.Sizeof(order.Item{})); got < min {
		t.Fatalf("1000 empty items: Footprint %d, want at least %d", got, min)
	}
}
