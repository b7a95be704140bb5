package order

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the canonical JSON of o to dst and returns the extended
// buffer. The canonical form is exactly what json.Marshal(o) produces (keys in
// struct field order, no whitespace, encoding/json's escaping, nil Items as
// null), byte for byte, for every Order, valid or not; the tests hold it to
// that. It is written by hand because it runs for every accepted order and
// every cache fill, and it does not allocate when dst has room.
func AppendJSON(dst []byte, o *Order) []byte {
	dst = append(dst, `{"order_uid":`...)
	dst = appendString(dst, o.OrderUID)
	dst = append(dst, `,"track_number":`...)
	dst = appendString(dst, o.TrackNumber)
	dst = append(dst, `,"entry":`...)
	dst = appendString(dst, o.Entry)

	dl := &o.Delivery
	dst = append(dst, `,"delivery":{"name":`...)
	dst = appendString(dst, dl.Name)
	dst = append(dst, `,"phone":`...)
	dst = appendString(dst, dl.Phone)
	dst = append(dst, `,"zip":`...)
	dst = appendString(dst, dl.Zip)
	dst = append(dst, `,"city":`...)
	dst = appendString(dst, dl.City)
	dst = append(dst, `,"address":`...)
	dst = appendString(dst, dl.Address)
	dst = append(dst, `,"region":`...)
	dst = appendString(dst, dl.Region)
	dst = append(dst, `,"email":`...)
	dst = appendString(dst, dl.Email)

	p := &o.Payment
	dst = append(dst, `},"payment":{"transaction":`...)
	dst = appendString(dst, p.Transaction)
	dst = append(dst, `,"request_id":`...)
	dst = appendString(dst, p.RequestID)
	dst = append(dst, `,"currency":`...)
	dst = appendString(dst, p.Currency)
	dst = append(dst, `,"provider":`...)
	dst = appendString(dst, p.Provider)
	dst = append(dst, `,"amount":`...)
	dst = strconv.AppendInt(dst, p.Amount, 10)
	dst = append(dst, `,"payment_dt":`...)
	dst = strconv.AppendInt(dst, p.PaymentDt, 10)
	dst = append(dst, `,"bank":`...)
	dst = appendString(dst, p.Bank)
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
	dst = appendString(dst, o.Locale)
	dst = append(dst, `,"internal_signature":`...)
	dst = appendString(dst, o.InternalSignature)
	dst = append(dst, `,"customer_id":`...)
	dst = appendString(dst, o.CustomerID)
	dst = append(dst, `,"delivery_service":`...)
	dst = appendString(dst, o.DeliveryService)
	dst = append(dst, `,"shardkey":`...)
	dst = appendString(dst, o.Shardkey)
	dst = append(dst, `,"sm_id":`...)
	dst = strconv.AppendInt(dst, o.SmID, 10)
	dst = append(dst, `,"date_created":`...)
	dst = appendString(dst, o.DateCreated)
	dst = append(dst, `,"oof_shard":`...)
	dst = appendString(dst, o.OofShard)
	return append(dst, '}')
}

func appendItem(dst []byte, it *Item) []byte {
	dst = append(dst, `{"chrt_id":`...)
	dst = strconv.AppendInt(dst, it.ChrtID, 10)
	dst = append(dst, `,"track_number":`...)
	dst = appendString(dst, it.TrackNumber)
	dst = append(dst, `,"price":`...)
	dst = strconv.AppendInt(dst, it.Price, 10)
	dst = append(dst, `,"rid":`...)
	dst = appendString(dst, it.Rid)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, it.Name)
	dst = append(dst, `,"sale":`...)
	dst = strconv.AppendInt(dst, it.Sale, 10)
	dst = append(dst, `,"size":`...)
	dst = appendString(dst, it.Size)
	dst = append(dst, `,"total_price":`...)
	dst = strconv.AppendInt(dst, it.TotalPrice, 10)
	dst = append(dst, `,"nm_id":`...)
	dst = strconv.AppendInt(dst, it.NmID, 10)
	dst = append(dst, `,"brand":`...)
	dst = appendString(dst, it.Brand)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, it.Status, 10)
	return append(dst, '}')
}

// appendString appends s as a JSON string escaped exactly as encoding/json
// escapes it with its default HTML escaping (see appendString in
// encoding/json/encode.go):
//
//   - `"` and `\` get a backslash; \b \f \n \r \t their short escapes;
//     other control characters \u00XX with lower-case hex;
//   - <, > and & become \u003c, \u003e, \u0026, so the JSON is safe to embed
//     in HTML;
//   - U+2028 and U+2029 become \u2028 and \u2029, which JavaScript
//     (JSONP) would otherwise read as line breaks;
//   - each byte of invalid UTF-8 becomes \ufffd (Validate rejects such
//     strings, but the encoder still agrees with encoding/json on them).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending: it needs no escaping
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safeASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control characters, <, >, &
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// safeASCII[b] reports whether ASCII byte b stands for itself inside an
// encoding/json string: printable, and not one of " \ < > &.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return t
}()
