package order

import (
	"bytes"
	"strconv"

	"github.com/valyala/fastjson"

	"github.com/orderd/orderd/order/internal/fieldpath"
	"github.com/orderd/orderd/order/internal/jsonsyntax"
	"github.com/orderd/orderd/order/internal/textarena"
)

// Decoder turns untrusted bytes into an Order. It is strict where
// encoding/json is lenient, because what it accepts is stored and served
// for good:
//
//   - the input must be one strict RFC 8259 value (a leading UTF-8 BOM is
//     skipped); anything else is a *SyntaxError;
//   - every key of the canonical model is required, at every level, and JSON
//     null is a wrong type rather than a missing value;
//   - keys match exactly (encoding/json also matches them case-insensitively)
//     and a known key may appear only once (encoding/json keeps the last);
//   - integers must be written as integers: 1.0 and 1e3 are rejected;
//   - unknown keys are ignored at every level.
//
// Anything well-formed that is not an order is a *FieldError naming the first
// offending value. Business rules are Validate's job, not Decode's.
//
// A Decoder reuses its buffers from one message to the next, so it is not
// safe for concurrent use: give each worker goroutine its own. The zero value
// is ready to use.
type Decoder struct {
	p fastjson.Parser

	// err is the first problem found in the current message. Once set, the
	// decoding helpers do nothing, so the walk over the order reads straight
	// down without an error check after every field.
	err error

	// text collects the bytes of every non-empty string of the current
	// message. When the message has decoded, they become one Go string that
	// all string fields slice: one allocation per order rather than one per
	// field, and nothing points into the parser's buffer, which the next
	// Decode overwrites.
	text textarena.Arena
}

// maxRetainedParse is the largest message after which a Decoder keeps its
// parser. fastjson's parser keeps the values of the largest tree it has
// built for reuse; after a message of a million tiny values that is tens of
// megabytes per worker, held for good. Orders are a few KB; the parser of a
// larger message is dropped.
const maxRetainedParse = 256 << 10

// NewDecoder returns a Decoder. It is the same as new(Decoder).
func NewDecoder() *Decoder { return new(Decoder) }

// Decode fills *o from the JSON order in data. It resets *o first, reusing
// o.Items' backing array when it is large enough, so an Order whose items are
// still in use elsewhere must not be passed in again.
//
// The error, if any, is a *SyntaxError or a *FieldError, and *o then holds
// an unspecified mix of zero and decoded values. On success every string in
// *o is a fresh copy: nothing in *o aliases data or the Decoder.
func (d *Decoder) Decode(data []byte, o *Order) error {
	if len(data) > maxRetainedParse {
		defer func() { d.p = fastjson.Parser{} }()
	}
	v, err := d.parse(data)
	if err != nil {
		return err
	}
	// Clearing the old items, not just truncating them, keeps their strings
	// from being pinned by a backing array that outlives them.
	clear(o.Items)
	*o = Order{Items: o.Items[:0]}
	d.order(v, o)
	if d.err == nil {
		d.text.Commit()
	}
	err = d.err
	d.reset()
	return err
}

// reset forgets the current message, dropping pointers into the caller's
// Order so the Decoder does not keep it alive.
func (d *Decoder) reset() {
	d.err = nil
	d.text.Reset()
}

// object is one JSON object of the order with its known keys picked out in a
// single pass, which is also what notices a key given twice.
type object struct {
	at   fieldpath.Path // where the object is, for naming its keys
	keys []string       // the known keys, in struct field order
	vals [maxKeys]*fastjson.Value
	dup  uint32 // bit i is set when keys[i] appears more than once
	next int    // index in keys of the key the decoder is expected to read next
}

// maxKeys is the most keys any object of the order has (the order itself).
const maxKeys = len(orderKeys)

// object checks that v is a JSON object and picks out its known keys into f.
func (d *Decoder) object(v *fastjson.Value, at fieldpath.Path, keys []string, f *object) bool {
	if d.err != nil {
		return false
	}
	if v.Type() != fastjson.TypeObject {
		d.wrongType(at, "object", v)
		return false
	}
	obj, _ := v.Object() // cannot fail: the type is checked above
	*f = object{at: at, keys: keys}
	obj.Visit(func(k []byte, val *fastjson.Value) {
		for i, key := range keys {
			if string(k) == key {
				if f.vals[i] != nil {
					f.dup |= 1 << i
				}
				f.vals[i] = val
				return
			}
		}
	})
	return true
}

// value returns the value of a required key of f, or nil when it is absent
// or repeated (which it records as the message's error).
func (d *Decoder) value(f *object, key string) *fastjson.Value {
	if d.err != nil {
		return nil
	}
	// The decode functions read keys in table order, so the key is the next
	// one and no search is needed; indexOf keeps any other order correct.
	i := f.next
	if i >= len(f.keys) || f.keys[i] != key {
		i = indexOf(f.keys, key)
	}
	f.next = i + 1
	switch {
	case f.vals[i] == nil:
		d.fail(f.at.Child(key), "missing")
	case f.dup&(1<<i) != 0:
		d.fail(f.at.Child(key), "duplicate key")
	default:
		return f.vals[i]
	}
	return nil
}

func indexOf(keys []string, key string) int {
	for i, k := range keys {
		if k == key {
			return i
		}
	}
	panic("order: decoder reads key " + key + ", which is not in its table")
}

// str decodes the string at key into *dst.
func (d *Decoder) str(f *object, key string, dst *string) {
	v := d.value(f, key)
	if v == nil {
		return
	}
	if v.Type() != fastjson.TypeString {
		d.wrongType(f.at.Child(key), "string", v)
		return
	}
	b, _ := v.StringBytes() // cannot fail: the type is checked above
	if len(b) == 0 {
		return // *dst is already "", and "" needs no bytes
	}
	d.text.Add(dst, b)
}

// int decodes the integer at key into *dst.
func (d *Decoder) int(f *object, key string, dst *int64) {
	v := d.value(f, key)
	if v == nil {
		return
	}
	if v.Type() != fastjson.TypeNumber {
		d.wrongType(f.at.Child(key), "integer", v)
		return
	}
	// Int64 accepts exactly an optional minus and digits within int64 range;
	// the input is already strict JSON, so anything else is a fraction, an
	// exponent or too many digits.
	n, err := v.Int64()
	if err != nil {
		raw := v.MarshalTo(nil) // a number marshals as written
		if bytes.ContainsAny(raw, ".eE") {
			d.fail(f.at.Child(key), "want integer, got "+shorten(raw))
		} else {
			d.fail(f.at.Child(key), "want integer in int64 range, got "+shorten(raw))
		}
		return
	}
	*dst = n
}

func (d *Decoder) wrongType(at fieldpath.Path, want string, v *fastjson.Value) {
	got := "boolean"
	if t := v.Type(); t != fastjson.TypeTrue && t != fastjson.TypeFalse {
		got = t.String() // object, array, string, number, null
	}
	d.fail(at, "want "+want+", got "+got)
}

func (d *Decoder) fail(at fieldpath.Path, problem string) {
	d.err = &FieldError{Field: at.String(), Problem: problem}
}

// shorten quotes at most 40 bytes of b in an error message: enough to
// recognise a number, not enough to echo a megabyte of digits into logs.
func shorten(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// bom is the UTF-8 byte order mark some producers (mostly on Windows)
// put in front of their JSON. RFC 8259 lets a parser ignore it, and we do.
const bom = "\xef\xbb\xbf"

// parse turns data into a fastjson tree, or explains why data is not one
// strict RFC 8259 JSON value.
//
// The tree is valid until the next parse and its strings point into the
// parser's buffer.
func (d *Decoder) parse(data []byte) (*fastjson.Value, error) {
	offset := 0 // of data within the caller's bytes, for error positions
	if len(data) >= len(bom) && string(data[:len(bom)]) == bom {
		data = data[len(bom):]
		offset = len(bom)
	}
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return nil, &SyntaxError{Detail: "empty input"}
	}
	// Counted before the parser builds a tree: a megabyte of "0," is half
	// a million values, tens of megabytes of parse tree for one message.
	// Each value takes two bytes at least, so only a large message can hold
	// too many.
	if len(data) > 2*MaxValues {
		if jsonsyntax.Separators(data, MaxValues) >= MaxValues {
			return nil, &FieldError{Problem: "holds more than " + strconv.Itoa(MaxValues) +
				" JSON values; no order has that many (at most " + strconv.Itoa(MaxItems) + " items)"}
		}
	}
	// Parse runs first because it bounds nesting depth (fastjson.MaxDepth),
	// while ValidateBytes recurses without limit: a megabyte of '[' must not
	// become a million nested calls. Parse is lenient (NaN, 01, bad escapes,
	// raw control characters), so what it accepts is then checked strictly.
	v, err := d.p.ParseBytes(data)
	if err != nil {
		return nil, &SyntaxError{Detail: jsonsyntax.Detail(err)}
	}
	if err := fastjson.ValidateBytes(data); err != nil {
		return nil, &SyntaxError{Detail: jsonsyntax.Detail(err)}
	}
	if at := jsonsyntax.UnpairedSurrogate(data); at >= 0 {
		return nil, &SyntaxError{Detail: "unpaired UTF-16 surrogate escape " + string(data[at:at+6]) +
			" at offset " + strconv.Itoa(offset+at)}
	}
	return v, nil
}

// MaxValues bounds the JSON values a message may hold, unknown keys
// included: an order of MaxItems items has about 11,000, so this leaves room
// for what a producer adds, and keeps a parse tree to a few megabytes.
const MaxValues = 50_000
