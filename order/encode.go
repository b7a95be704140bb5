package order

import (
	"strconv"

	"github.com/orderd/orderd/order/internal/jsonsyntax"
)

// AppendJSON appends the canonical JSON of o to dst and returns the extended
// buffer. The canonical form is exactly what json.Marshal(o) produces (keys in
// struct field order, no whitespace, encoding/json's escaping, nil Items as
// null), byte for byte, for every Order, valid or not; the tests hold it to
// that. It is written by hand because it runs for every accepted order and
// every cache fill, and it does not allocate when dst has room.
func AppendJSON(dst []byte, o *Order) []byte {
	dst = append(dst, `{"order_uid":`...)
	dst = jsonsyntax.AppendString(dst, o.OrderUID)
	dst = append(dst, `,"track_number":`...)
	dst = jsonsyntax.AppendString(dst, o.TrackNumber)
	dst = append(dst, `,"entry":`...)
	dst = jsonsyntax.AppendString(dst, o.Entry)

	dl := &o.Delivery
	dst = append(dst, `,"delivery":{"name":`...)
	dst = jsonsyntax.AppendString(dst, dl.Name)
	dst = append(dst, `,"phone":`...)
	dst = jsonsyntax.AppendString(dst, dl.Phone)
	dst = append(dst, `,"zip":`...)
	dst = jsonsyntax.AppendString(dst, dl.Zip)
	dst = append(dst, `,"city":`...)
	dst = jsonsyntax.AppendString(dst, dl.City)
	dst = append(dst, `,"address":`...)
	dst = jsonsyntax.AppendString(dst, dl.Address)
	dst = append(dst, `,"region":`...)
	dst = jsonsyntax.AppendString(dst, dl.Region)
	dst = append(dst, `,"email":`...)
	dst = jsonsyntax.AppendString(dst, dl.Email)

	p := &o.Payment
	dst = append(dst, `},"payment":{"transaction":`...)
	dst = jsonsyntax.AppendString(dst, p.Transaction)
	dst = append(dst, `,"request_id":`...)
	dst = jsonsyntax.AppendString(dst, p.RequestID)
	dst = append(dst, `,"currency":`...)
	dst = jsonsyntax.AppendString(dst, p.Currency)
	dst = append(dst, `,"provider":`...)
	dst = jsonsyntax.AppendString(dst, p.Provider)
	dst = append(dst, `,"amount":`...)
	dst = strconv.AppendInt(dst, p.Amount, 10)
	dst = append(dst, `,"payment_dt":`...)
	dst = strconv.AppendInt(dst, p.PaymentDt, 10)
	dst = append(dst, `,"bank":`...)
	dst = jsonsyntax.AppendString(dst, p.Bank)
	dst = append(dst, `,"delivery_cost":`...)
	dst = strconv.AppendInt(dst, p.DeliveryCost, 10)
	dst = append(dst, `,"goods_total":`...)
	dst = strconv.AppendInt(dst, p.GoodsTotal, 10)
	dst = append(dst, `,"custom_fee":`...)
	dst = strconv.AppendInt(dst, p.CustomFee, 10)

	dst = append(dst, `},"items":`...)
	if o.Items == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range o.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendItem(dst, &o.Items[i])
		}
		dst = append(dst, ']')
	}

	dst = append(dst, `,"locale":`...)
	dst = jsonsyntax.AppendString(dst, o.Locale)
	dst = append(dst, `,"internal_signature":`...)
	dst = jsonsyntax.AppendString(dst, o.InternalSignature)
	dst = append(dst, `,"customer_id":`...)
	dst = jsonsyntax.AppendString(dst, o.CustomerID)
	dst = append(dst, `,"delivery_service":`...)
	dst = jsonsyntax.AppendString(dst, o.DeliveryService)
	dst = append(dst, `,"shardkey":`...)
	dst = jsonsyntax.AppendString(dst, o.Shardkey)
	dst = append(dst, `,"sm_id":`...)
	dst = strconv.AppendInt(dst, o.SmID, 10)
	dst = append(dst, `,"date_created":`...)
	dst = jsonsyntax.AppendString(dst, o.DateCreated)
	dst = append(dst, `,"oof_shard":`...)
	dst = jsonsyntax.AppendString(dst, o.OofShard)
	return append(dst, '}')
}

func appendItem(dst []byte, it *Item) []byte {
	dst = append(dst, `{"chrt_id":`...)
	dst = strconv.AppendInt(dst, it.ChrtID, 10)
	dst = append(dst, `,"track_number":`...)
	dst = jsonsyntax.AppendString(dst, it.TrackNumber)
	dst = append(dst, `,"price":`...)
	dst = strconv.AppendInt(dst, it.Price, 10)
	dst = append(dst, `,"rid":`...)
	dst = jsonsyntax.AppendString(dst, it.Rid)
	dst = append(dst, `,"name":`...)
	dst = jsonsyntax.AppendString(dst, it.Name)
	dst = append(dst, `,"sale":`...)
	dst = strconv.AppendInt(dst, it.Sale, 10)
	dst = append(dst, `,"size":`...)
	dst = jsonsyntax.AppendString(dst, it.Size)
	dst = append(dst, `,"total_price":`...)
	dst = strconv.AppendInt(dst, it.TotalPrice, 10)
	dst = append(dst, `,"nm_id":`...)
	dst = strconv.AppendInt(dst, it.NmID, 10)
	dst = append(dst, `,"brand":`...)
	dst = jsonsyntax.AppendString(dst, it.Brand)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, it.Status, 10)
	return append(dst, '}')
}
