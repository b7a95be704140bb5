package order

import (
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/orderd/orderd/order/internal/fieldpath"
)

// The known keys of each object, in struct field order. Each decode function
// below reads its keys in exactly this order, so an error names the first
// offending field in the order the struct (and the canonical JSON) lists them.
var (
	orderKeys = [...]string{
		"order_uid", "track_number", "entry", "delivery", "payment", "items",
		"locale", "internal_signature", "customer_id", "delivery_service",
		"shardkey", "sm_id", "date_created", "oof_shard",
	}
	deliveryKeys = [...]string{"name", "phone", "zip", "city", "address", "region", "email"}
	paymentKeys  = [...]string{
		"transaction", "request_id", "currency", "provider", "amount",
		"payment_dt", "bank", "delivery_cost", "goods_total", "custom_fee",
	}
	itemKeys = [...]string{
		"chrt_id", "track_number", "price", "rid", "name", "sale", "size",
		"total_price", "nm_id", "brand", "status",
	}
)

func (d *Decoder) order(v *fastjson.Value, o *Order) {
	var f object
	if !d.object(v, fieldpath.Document(), orderKeys[:], &f) {
		return
	}
	d.scalars(&f, &o.OrderUID, &o.TrackNumber, &o.Entry)
	dl := &o.Delivery
	d.flat(d.value(&f, "delivery"), fieldpath.TopLevel("delivery"), deliveryKeys[:],
		&dl.Name, &dl.Phone, &dl.Zip, &dl.City, &dl.Address, &dl.Region, &dl.Email)
	p := &o.Payment
	d.flat(d.value(&f, "payment"), fieldpath.TopLevel("payment"), paymentKeys[:],
		&p.Transaction, &p.RequestID, &p.Currency, &p.Provider, &p.Amount,
		&p.PaymentDt, &p.Bank, &p.DeliveryCost, &p.GoodsTotal, &p.CustomFee)
	d.items(&f, o)
	d.scalars(&f, &o.Locale, &o.InternalSignature, &o.CustomerID, &o.DeliveryService,
		&o.Shardkey, &o.SmID, &o.DateCreated, &o.OofShard)
}

// flat decodes v, an object at at whose keys are all strings and integers,
// into dsts: one per key of keys, in the same order.
func (d *Decoder) flat(v *fastjson.Value, at fieldpath.Path, keys []string, dsts ...any) {
	var f object
	if d.object(v, at, keys, &f) {
		d.scalars(&f, dsts...)
	}
}

// scalars decodes the next len(dsts) keys of f, in table order, into dsts,
// each a *string or an *int64. The keys come from the table rather than
// from the caller, so a field list cannot name a key out of its place.
func (d *Decoder) scalars(f *object, dsts ...any) {
	for _, dst := range dsts {
		if d.err != nil {
			return
		}
		key := f.keys[f.next]
		switch dst := dst.(type) {
		case *string:
			d.str(f, key, dst)
		case *int64:
			d.int(f, key, dst)
		default:
			panic(fmt.Sprintf("order: decoder field %s is a %T, not a *string or *int64", key, dst))
		}
	}
}

// items decodes the items array into o.Items, reusing its backing array
// when it is large enough.
func (d *Decoder) items(parent *object, o *Order) {
	v := d.value(parent, "items")
	if v == nil {
		return
	}
	if v.Type() != fastjson.TypeArray {
		d.wrongType(fieldpath.TopLevel("items"), "array", v)
		return
	}
	vs, _ := v.Array() // cannot fail: the type is checked above
	// Counted before anything is built: half a million zeros in a 1 MB
	// message would otherwise cost a 64 MB slice of Items (128 bytes
	// each) before validation said no.
	if len(vs) > MaxItems {
		d.fail(fieldpath.TopLevel("items"), tooManyItems(len(vs)))
		return
	}
	// make also covers a nil o.Items and an empty array: [] must decode to
	// an empty slice, not nil, or it would encode back as null.
	if o.Items == nil || cap(o.Items) < len(vs) {
		o.Items = make([]Item, len(vs))
	} else {
		o.Items = o.Items[:len(vs)]
		clear(o.Items)
	}
	for i, iv := range vs {
		it := &o.Items[i]
		d.flat(iv, fieldpath.Item(i), itemKeys[:],
			&it.ChrtID, &it.TrackNumber, &it.Price, &it.Rid, &it.Name, &it.Sale,
			&it.Size, &it.TotalPrice, &it.NmID, &it.Brand, &it.Status)
	}
}
