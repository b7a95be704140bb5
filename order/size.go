package order

import "unsafe"

// Footprint is about how many bytes of memory o holds: its structs, its
// items' backing array and the bytes of its strings. The in-flight bound
// counts it, so that a decoded order weighs what it costs, not what its JSON
// did: an item of a few bytes of JSON takes a whole Item struct.
func (o *Order) Footprint() int64 {
	n := int64(unsafe.Sizeof(*o)) + int64(cap(o.Items))*int64(unsafe.Sizeof(Item{}))
	n += int64(len(o.OrderUID) + len(o.TrackNumber) + len(o.Entry) + len(o.Locale) + len(o.InternalSignature) +
		len(o.CustomerID) + len(o.DeliveryService) + len(o.Shardkey) + len(o.DateCreated) + len(o.OofShard))
	d := &o.Delivery
	n += int64(len(d.Name) + len(d.Phone) + len(d.Zip) + len(d.City) + len(d.Address) + len(d.Region) + len(d.Email))
	p := &o.Payment
	n += int64(len(p.Transaction) + len(p.RequestID) + len(p.Currency) + len(p.Provider) + len(p.Bank))
	for i := range o.Items {
		it := &o.Items[i]
		n += int64(len(it.TrackNumber) + len(it.Rid) + len(it.Name) + len(it.Size) + len(it.Brand))
	}
	return n
}
