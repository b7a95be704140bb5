package orderfake

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/orderd/orderd/order"
)

// Kind is a way a message can fail to be a good order; each one must end up
// on the dead-letter topic.
type Kind int

// The kinds of broken message, from the least to the most order-like.
const (
	// NotJSON is not JSON at all: plain text, XML, or an empty payload
	// (a Kafka tombstone).
	NotJSON Kind = iota + 1
	// TrailingGarbage is a valid order followed by more bytes: a stray '}',
	// a word, or a second order.
	TrailingGarbage
	// Truncated is an order cut off part-way, as a producer that crashed
	// mid-write would leave it.
	Truncated
	// WrongType is well-formed JSON with a value of the wrong JSON type,
	// e.g. payment.amount as a string or delivery as null.
	WrongType
	// MissingField is well-formed JSON with one required key removed.
	MissingField
	// RuleViolation decodes fine but breaks exactly one business rule: bad
	// currency, amount mismatch, sale of 120%, bad email, transaction other
	// than order_uid, or no items.
	RuleViolation
)

// String returns the kind in words, e.g. "missing field", for test names
// and logs.
func (k Kind) String() string {
	switch k {
	case NotJSON:
		return "not JSON"
	case TrailingGarbage:
		return "trailing garbage"
	case Truncated:
		return "truncated"
	case WrongType:
		return "wrong type"
	case MissingField:
		return "missing field"
	case RuleViolation:
		return "rule violation"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Syntax reports whether the decoder rejects this kind as a
// *order.SyntaxError. WrongType and MissingField are *order.FieldError
// instead, and RuleViolation is a *order.ValidationError from order.Validate.
func (k Kind) Syntax() bool { return k == NotJSON || k == TrailingGarbage || k == Truncated }

// Broken returns a broken message of a random kind, and the kind.
func (g *Generator) Broken() (payload []byte, kind Kind) {
	kind = Kind(1 + g.f.IntN(int(RuleViolation)))
	return g.BrokenOf(kind), kind
}

// BrokenOf returns a broken message of the given kind. It panics on a Kind
// that is not one of the constants.
//
// Every payload but an empty NotJSON one still names a fresh order_uid
// somewhere in its text, as real broken messages usually do, so that logs
// and dead-letter headers have something to show.
func (g *Generator) BrokenOf(kind Kind) []byte {
	o := g.Order()
	f := g.f
	switch kind {
	case NotJSON:
		switch f.IntN(3) {
		case 0:
			return []byte("order " + o.OrderUID + " shipped to " + o.Delivery.City)
		case 1:
			return []byte(`<order id="` + o.OrderUID + `"><amount>` +
				strconv.FormatInt(o.Payment.Amount, 10) + `</amount></order>`)
		default:
			return []byte{}
		}
	case TrailingGarbage:
		data := order.AppendJSON(nil, &o)
		switch f.IntN(3) {
		case 0:
			return append(data, '}')
		case 1:
			return append(data, " garbage"...)
		default:
			return append(data, g.OrderJSON()...)
		}
	case Truncated:
		data := order.AppendJSON(nil, &o)
		// Any proper prefix of an object is incomplete JSON; cutting in the
		// middle half keeps the order_uid and lands anywhere in the body.
		return data[:len(data)/4+f.IntN(len(data)/2)]
	case WrongType:
		return g.edit(&o, g.wrongType)
	case MissingField:
		return g.edit(&o, g.missingField)
	case RuleViolation:
		g.breakRule(&o)
		return order.AppendJSON(nil, &o)
	}
	panic(fmt.Sprintf("orderfake: BrokenOf(%d): no such Kind", int(kind)))
}

// edit returns the JSON of o after change has edited its parsed tree.
func (g *Generator) edit(o *order.Order, change func(doc *fastjson.Value, o *order.Order)) []byte {
	v, err := g.parser.ParseBytes(order.AppendJSON(nil, o))
	if err != nil {
		panic(fmt.Sprintf("orderfake: parse own JSON: %v", err)) // AppendJSON is broken
	}
	g.arena.Reset()
	change(v, o)
	// MarshalTo writes the untouched strings back exactly as parsed: none of
	// them is ever read as a Go string here, which would make fastjson
	// re-quote it in Go syntax rather than JSON.
	return v.MarshalTo(nil)
}

func (g *Generator) wrongType(doc *fastjson.Value, o *order.Order) {
	a := &g.arena
	switch g.f.IntN(6) {
	case 0:
		doc.Get("payment").Set("amount", a.NewString(strconv.FormatInt(o.Payment.Amount, 10)))
	case 1:
		doc.Set("sm_id", a.NewNumberString(strconv.FormatInt(o.SmID, 10)+".5"))
	case 2:
		doc.Set("delivery", a.NewNull())
	case 3:
		doc.Set("items", a.NewObject())
	case 4:
		doc.Get("items", "0").Set("price", a.NewString(strconv.FormatInt(o.Items[0].Price, 10)))
	default:
		doc.Set("locale", a.NewTrue())
	}
}

// missingField removes one key from a random object of the order: the order
// itself, delivery, payment, or one of the items.
func (g *Generator) missingField(doc *fastjson.Value, o *order.Order) {
	obj := doc
	switch g.f.IntN(4) {
	case 1:
		obj = doc.Get("delivery")
	case 2:
		obj = doc.Get("payment")
	case 3:
		obj = doc.Get("items", strconv.Itoa(g.f.IntN(len(o.Items))))
	}
	var keys []string
	obj.GetObject().Visit(func(k []byte, _ *fastjson.Value) { keys = append(keys, string(k)) })
	obj.Del(pick(g.f, keys))
}

// breakRule makes o break exactly one business rule.
func (g *Generator) breakRule(o *order.Order) {
	p := &o.Payment
	switch g.f.IntN(6) {
	case 0:
		p.Currency = strings.ToLower(p.Currency)
	case 1:
		p.Amount++
	case 2:
		o.Items[0].Sale = 120
	case 3:
		o.Delivery.Email = strings.Replace(o.Delivery.Email, "@", "", 1)
	case 4:
		p.Transaction = g.uid()
	default:
		// Keep the sums right so that "no items" is the only violation.
		o.Items = []order.Item{}
		p.GoodsTotal = 0
		p.Amount = p.DeliveryCost + p.CustomFee
	}
}
