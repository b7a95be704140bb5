package order

import (
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
	d.str(&f, "order_uid", &o.OrderUID)
	d.str(&f, "track_number", &o.TrackNumber)
	d.str(&f, "entry", &o.Entry)
	d.delivery(&f, &o.Delivery)
	d.payment(&f, &o.Payment)
	d.items(&f, o)
	d.str(&f, "locale", &o.Locale)
	d.str(&f, "internal_signature", &o.InternalSignature)
	d.str(&f, "customer_id", &o.CustomerID)
	d.str(&f, "delivery_service", &o.DeliveryService)
	d.str(&f, "shardkey", &o.Shardkey)
	d.int(&f, "sm_id", &o.SmID)
	d.str(&f, "date_created", &o.DateCreated)
	d.str(&f, "oof_shard", &o.OofShard)
}

func (d *Decoder) delivery(parent *object, dl *Delivery) {
	var f object
	if !d.object(d.value(parent, "delivery"), fieldpath.TopLevel("delivery"), deliveryKeys[:], &f) {
		return
	}
	d.str(&f, "name", &dl.Name)
	d.str(&f, "phone", &dl.Phone)
	d.str(&f, "zip", &dl.Zip)
	d.str(&f, "city", &dl.City)
	d.str(&f, "address", &dl.Address)
	d.str(&f, "region", &dl.Region)
	d.str(&f, "email", &dl.Email)
}

func (d *Decoder) payment(parent *object, p *Payment) {
	var f object
	if !d.object(d.value(parent, "payment"), fieldpath.TopLevel("payment"), paymentKeys[:], &f) {
		return
	}
	d.str(&f, "transaction", &p.Transaction)
	d.str(&f, "request_id", &p.RequestID)
	d.str(&f, "currency", &p.Currency)
	d.str(&f, "provider", &p.Provider)
	d.int(&f, "amount", &p.Amount)
	d.int(&f, "payment_dt", &p.PaymentDt)
	d.str(&f, "bank", &p.Bank)
	d.int(&f, "delivery_cost", &p.DeliveryCost)
	d.int(&f, "goods_total", &p.GoodsTotal)
	d.int(&f, "custom_fee", &p.CustomFee)
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
		d.item(iv, i, &o.Items[i])
	}
}

func (d *Decoder) item(v *fastjson.Value, i int, it *Item) {
	var f object
	if !d.object(v, fieldpath.Item(i), itemKeys[:], &f) {
		return
	}
	d.int(&f, "chrt_id", &it.ChrtID)
	d.str(&f, "track_number", &it.TrackNumber)
	d.int(&f, "price", &it.Price)
	d.str(&f, "rid", &it.Rid)
	d.str(&f, "name", &it.Name)
	d.int(&f, "sale", &it.Sale)
	d.str(&f, "size", &it.Size)
	d.int(&f, "total_price", &it.TotalPrice)
	d.int(&f, "nm_id", &it.NmID)
	d.str(&f, "brand", &it.Brand)
	d.int(&f, "status", &it.Status)
}
