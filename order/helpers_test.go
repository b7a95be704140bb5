package order_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// modelEdited returns model.json with the value at keys (fastjson's Get
// path: "payment", "amount" or "items", "0", "price") replaced by the JSON
// text raw, or with that key removed when raw is "". The result is compact.
func modelEdited(raw string, keys ...string) []byte {
	doc := fastjson.MustParseBytes(orderfake.ModelJSON)
	parent := doc.Get(keys[:len(keys)-1]...)
	last := keys[len(keys)-1]
	switch {
	case raw == "":
		parent.Del(last)
	case parent.Type() == fastjson.TypeArray:
		i, err := strconv.Atoi(last)
		if err != nil {
			panic(err)
		}
		parent.SetArrayItem(i, fastjson.MustParse(raw))
	default:
		parent.Set(last, fastjson.MustParse(raw))
	}
	return doc.MarshalTo(nil)
}

// reversedKeys returns the JSON object data with its top-level keys in
// reverse order.
func reversedKeys(data []byte) []byte {
	var kvs [][]byte
	fastjson.MustParseBytes(data).GetObject().Visit(func(k []byte, v *fastjson.Value) {
		kv := strconv.AppendQuote(nil, string(k))
		kv = append(kv, ':')
		kvs = append(kvs, v.MarshalTo(kv))
	})
	out := []byte{'{'}
	for i := len(kvs) - 1; i >= 0; i-- {
		out = append(out, kvs[i]...)
		if i > 0 {
			out = append(out, ',')
		}
	}
	return append(out, '}')
}

// modelValue is one value in model.json: where it is as a fastjson Get path
// and as the field path errors name, and its JSON type.
type modelValue struct {
	keys  []string
	field string
	typ   fastjson.Type
	isKey bool // a key of an object, as opposed to an element of items
}

// modelValues lists every value of model.json below the top level, walking
// the document rather than a hand-written list, so a key added to the model
// is covered by every test built on this.
func modelValues() []modelValue {
	var out []modelValue
	var walk func(v *fastjson.Value, keys []string, field string)
	walk = func(v *fastjson.Value, keys []string, field string) {
		switch v.Type() {
		case fastjson.TypeObject:
			v.GetObject().Visit(func(k []byte, child *fastjson.Value) {
				f := string(k)
				if field != "" {
					f = field + "." + f
				}
				ks := append(append([]string(nil), keys...), string(k))
				out = append(out, modelValue{keys: ks, field: f, typ: child.Type(), isKey: true})
				walk(child, ks, f)
			})
		case fastjson.TypeArray:
			for i, child := range v.GetArray() {
				ks := append(append([]string(nil), keys...), strconv.Itoa(i))
				f := field + "[" + strconv.Itoa(i) + "]"
				out = append(out, modelValue{keys: ks, field: f, typ: child.Type()})
				walk(child, ks, f)
			}
		}
	}
	walk(fastjson.MustParseBytes(orderfake.ModelJSON), nil, "")
	return out
}

// unmarshal is what encoding/json makes of data: the reference Decode is
// held to wherever both accept the input.
func unmarshal(t *testing.T, data []byte) order.Order {
	t.Helper()
	var o order.Order
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	return o
}

func asFieldError(t *testing.T, err error) *order.FieldError {
	t.Helper()
	var fe *order.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v (%T), want *order.FieldError", err, err)
	}
	return fe
}

func asSyntaxError(t *testing.T, err error) *order.SyntaxError {
	t.Helper()
	var se *order.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want *order.SyntaxError", err, err)
	}
	if !strings.HasPrefix(se.Error(), "invalid JSON: ") {
		t.Fatalf("SyntaxError text %q does not start with %q", se.Error(), "invalid JSON: ")
	}
	return se
}

func asValidationError(t *testing.T, err error) *order.ValidationError {
	t.Helper()
	var ve *order.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want *order.ValidationError", err, err)
	}
	return ve
}
