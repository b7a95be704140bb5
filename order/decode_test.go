package order_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

func TestDecode_ModelMatchesEncodingJSON(t *testing.T) {
	var o order.Order
	if err := order.NewDecoder().Decode(orderfake.ModelJSON, &o); err != nil {
		t.Fatal(err)
	}
	if want := unmarshal(t, orderfake.ModelJSON); !reflect.DeepEqual(o, want) {
		t.Fatalf("Decode(model.json) =\n%+v\njson.Unmarshal =\n%+v", o, want)
	}
}

func TestDecode_Accepts(t *testing.T) {
	var d order.Decoder
	f := func(data []byte) {
		t.Helper()
		var o order.Order
		if err := d.Decode(data, &o); err != nil {
			t.Fatalf("Decode(%.80q): %v", data, err)
		}
		// encoding/json rejects a BOM; compare with what it makes of the rest.
		if want := unmarshal(t, bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))); !reflect.DeepEqual(o, want) {
			t.Fatalf("Decode(%.80q) =\n%+v\njson.Unmarshal =\n%+v", data, o, want)
		}
	}
	model := orderfake.ModelJSON
	with := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(model, []byte(old)) {
			t.Fatalf("model.json has no %q", old)
		}
		return bytes.Replace(model, []byte(old), []byte(new), 1)
	}

	// model.json as published (indented, final newline)
	f(model)
	// a UTF-8 byte order mark in front
	f(append([]byte("\xef\xbb\xbf"), model...))
	// white space of every kind around the value
	f([]byte(" \t\r\n" + string(model) + "\n\t "))
	// compact, as AppendJSON writes it
	f(modelEdited(`"b563feb7b2b84b6test"`, "order_uid"))
	// unknown keys at every level, of every type, even repeated
	f(with(`"order_uid"`, `"extra": {"deep": [1, 2.5e3, null]}, "extra": true, "order_uid"`))
	f(with(`"name": "Test Testov"`, `"nickname": "tt", "name": "Test Testov"`))
	f(with(`"amount": 1817`, `"amount": 1817, "tip": 1.5`))
	f(with(`"chrt_id": 9934930`, `"chrt_id": 9934930, "color": null`))
	// keys in any order
	f(reversedKeys(model))
	// a key written with escapes is still that key
	f(with(`"order_uid"`, `"order\u005fuid"`))
	// every JSON escape, and non-ASCII text raw and escaped (a surrogate pair)
	f(with(`"Test Testov"`, `"q\" b\\ s\/ \b\f\n\r\t \u00e9 é \ud83d\ude00 😀 \u2028"`))
	// the extremes of int64
	f(with(`"amount": 1817`, `"amount": 9223372036854775807`))
	f(with(`"amount": 1817`, `"amount": -9223372036854775808`))
	// minus zero is zero
	f(with(`"custom_fee": 0`, `"custom_fee": -0`))
	// an empty items array is well-formed (Validate rejects it)
	f(modelEdited(`[]`, "items"))
}

func TestDecode_SyntaxErrors(t *testing.T) {
	var d order.Decoder
	f := func(data, wantDetail string) {
		t.Helper()
		var o order.Order
		err := d.Decode([]byte(data), &o)
		se := asSyntaxError(t, err)
		if !strings.Contains(se.Detail, wantDetail) {
			t.Fatalf("Decode(%.60q) = %q, want the detail to contain %q", data, se.Detail, wantDetail)
		}
	}
	model := string(orderfake.ModelJSON)

	// nothing at all, e.g. a Kafka tombstone
	f("", "empty input")
	// only white space
	f(" \r\n\t", "empty input")
	// only a byte order mark
	f("\xef\xbb\xbf", "empty input")
	// plain text
	f("order b563feb7b2b84b6test shipped", `unexpected char: "o"`)
	// XML
	f(`<order id="1"/>`, `unexpected char: "<"`)
	// a stray closing brace after the order
	f(model+"}", `unexpected tail: "}"`)
	// two orders back to back
	f(model+model, "unexpected tail")
	// a word after the order
	f(model+" garbage", `unexpected tail: "garbage"`)
	// cut off in the middle
	f(model[:len(model)/2], "cannot parse")
	// a missing closing brace
	f(strings.TrimSpace(model)[:len(strings.TrimSpace(model))-1], "unexpected end of object")
	// a trailing comma
	f(`{"a":1,}`, "cannot find opening")
	// single quotes
	f(`{'order_uid':'x'}`, "cannot find opening")
	// the leniencies of fastjson's parser that strict JSON forbids:
	// NaN, Inf, leading zeros, a leading plus, bad escapes, raw control characters
	f(`{"a":NaN}`, "cannot parse number")
	f(`{"a":-Inf}`, "cannot parse number")
	f(`{"a":0123}`, "unexpected number starting from 0")
	f(`{"a":+1}`, "cannot parse number")
	f(`{"a":1.}`, "expecting 0..9 digit in fractional part")
	f(`{"a":"\x41"}`, `unknown escape sequence \x`)
	f(`{"a":"\u12"}`, `too short escape sequence`)
	f(`{"a":"\u12zz"}`, `invalid escape sequence`)
	f("{\"a\":\"tab\there\"}", "control char 0x09")
	f("{\"k\x01\":1}", "control char 0x01")
	// an unpaired UTF-16 surrogate escape, in a value or a key, wherever it is
	f(`{"a":"x\ud800"}`, `unpaired UTF-16 surrogate escape \ud800 at offset 7`)
	f(`{"a":"\ud800\u0041"}`, `\ud800 at offset 6`)
	f(`{"a":"\udc00\ud800"}`, `\udc00 at offset 6`)
	f(`{"\uDFFF":1}`, `\uDFFF at offset 2`)
	f("\xef\xbb\xbf"+`{"a":"\ud800"}`, "at offset 9")
	// an escaped backslash before "ud800" is not an escape
	if err := d.Decode([]byte(`{"a":"\\ud800"}`), new(order.Order)); asFieldError(t, err).Problem != "missing" {
		t.Fatalf(`\\ud800 was read as an escape: %v`, err)
	}
	// nesting beyond fastjson.MaxDepth: rejected without a deep recursion
	f(strings.Repeat("[", 1_000_000), "too big depth")
	f(`{"x":`+strings.Repeat("[", fastjson.MaxDepth)+strings.Repeat("]", fastjson.MaxDepth)+`}`, "too big depth")
}

func TestDecode_FieldErrors(t *testing.T) {
	var d order.Decoder
	f := func(data []byte, field, problem string) {
		t.Helper()
		var o order.Order
		fe := asFieldError(t, d.Decode(data, &o))
		if fe.Field != field || fe.Problem != problem {
			t.Fatalf("Decode(%.60q) = {%q, %q}, want {%q, %q}", data, fe.Field, fe.Problem, field, problem)
		}
		if want := field + ": " + problem; field != "" && fe.Error() != want {
			t.Fatalf("Error() = %q, want %q", fe.Error(), want)
		}
	}
	s := func(s string) []byte { return []byte(s) }
	model := orderfake.ModelJSON

	// a document that is valid JSON but not an object
	f(s("null"), "", "want object, got null")
	f(s("[]"), "", "want object, got array")
	f(s(`[{"order_uid":"x"}]`), "", "want object, got array")
	f(s(`"order"`), "", "want object, got string")
	f(s("42"), "", "want object, got number")
	f(s("false"), "", "want object, got boolean")
	// an empty object: the first key is missing
	f(s("{}"), "order_uid", "missing")
	// keys are case-sensitive: Order_UID is an unknown key
	f(bytes.Replace(model, s(`"order_uid"`), s(`"Order_UID"`), 1), "order_uid", "missing")
	// a repeated key: encoding/json would silently keep the last one
	f(bytes.Replace(model, s(`"order_uid"`), s(`"order_uid": "other", "order_uid"`), 1), "order_uid", "duplicate key")
	f(bytes.Replace(model, s(`"amount": 1817,`), s(`"amount": 1817, "amount": 1,`), 1), "payment.amount", "duplicate key")
	f(bytes.Replace(model, s(`"sale": 30,`), s(`"sale": 30, "sale": 30,`), 1), "items[0].sale", "duplicate key")
	// an item that is not an object
	f(modelEdited(`[{}, "item"]`, "items"), "items[0].chrt_id", "missing")
	f(modelEdited(`"item"`, "items", "0"), "items[0]", "want object, got string")
	f(modelEdited(`null`, "items", "0"), "items[0]", "want object, got null")
	// numbers that are not integers
	f(modelEdited(`18.5`, "payment", "amount"), "payment.amount", "want integer, got 18.5")
	f(modelEdited(`1.0`, "payment", "amount"), "payment.amount", "want integer, got 1.0")
	f(modelEdited(`1e3`, "payment", "amount"), "payment.amount", "want integer, got 1e3")
	f(modelEdited(`1E+3`, "sm_id"), "sm_id", "want integer, got 1E+3")
	f(modelEdited(`-4.53e2`, "items", "0", "price"), "items[0].price", "want integer, got -4.53e2")
	// integers beyond int64, such as 1e30 written out
	f(modelEdited(`1000000000000000000000000000000`, "payment", "amount"), "payment.amount",
		"want integer in int64 range, got 1000000000000000000000000000000")
	f(modelEdited(`9223372036854775808`, "sm_id"), "sm_id", "want integer in int64 range, got 9223372036854775808")
	f(modelEdited(`-9223372036854775809`, "sm_id"), "sm_id", "want integer in int64 range, got -9223372036854775809")
	// a very long number is cut short in the message
	f(modelEdited("1"+strings.Repeat("0", 100), "sm_id"), "sm_id",
		"want integer in int64 range, got 1"+strings.Repeat("0", 39)+"...")
	// the first problem in field order wins: order_uid before payment.amount
	f(bytes.Replace(modelEdited(`"1817"`, "payment", "amount"), s(`"b563feb7b2b84b6test"`), s(`7`), 1),
		"order_uid", "want string, got number")
	// ... and items[0] before items[1]
	f(modelEdited(`[{"chrt_id":"x"},{}]`, "items"), "items[0].chrt_id", "want integer, got string")
}

// TestDecode_EveryKeyRequired removes each key of model.json in turn, the
// nested ones too, and checks that the error names exactly that key.
func TestDecode_EveryKeyRequired(t *testing.T) {
	var d order.Decoder
	f := func(v modelValue) {
		t.Helper()
		var o order.Order
		fe := asFieldError(t, d.Decode(modelEdited("", v.keys...), &o))
		if fe.Field != v.field || fe.Problem != "missing" {
			t.Fatalf("without %s: got {%q, %q}, want {%q, \"missing\"}", v.field, fe.Field, fe.Problem, v.field)
		}
	}
	n := 0
	for _, v := range modelValues() {
		if v.isKey {
			f(v)
			n++
		}
	}
	// 14 order keys, 7 of delivery, 10 of payment, 11 of the one item.
	if n != 42 {
		t.Fatalf("model.json has %d keys, want 42: has the model changed?", n)
	}
}

// TestDecode_EveryWrongType puts a value of each other JSON type in place of
// every value of model.json in turn.
func TestDecode_EveryWrongType(t *testing.T) {
	var d order.Decoder
	f := func(v modelValue, raw, want, got string) {
		t.Helper()
		var o order.Order
		fe := asFieldError(t, d.Decode(modelEdited(raw, v.keys...), &o))
		if problem := "want " + want + ", got " + got; fe.Field != v.field || fe.Problem != problem {
			t.Fatalf("%s = %s: got {%q, %q}, want {%q, %q}", v.field, raw, fe.Field, fe.Problem, v.field, problem)
		}
	}
	// What Decode wants for each type in the model ("number" is always an
	// integer there).
	wantOf := map[fastjson.Type]string{
		fastjson.TypeString: "string",
		fastjson.TypeNumber: "integer",
		fastjson.TypeObject: "object",
		fastjson.TypeArray:  "array",
	}
	values := []struct {
		raw string
		typ fastjson.Type
		got string
	}{
		{`null`, fastjson.TypeNull, "null"},
		{`true`, fastjson.TypeTrue, "boolean"},
		{`false`, fastjson.TypeFalse, "boolean"},
		{`0`, fastjson.TypeNumber, "number"},
		{`""`, fastjson.TypeString, "string"},
		{`"1817"`, fastjson.TypeString, "string"},
		{`[]`, fastjson.TypeArray, "array"},
		{`{}`, fastjson.TypeObject, "object"},
	}
	n := 0
	for _, v := range modelValues() {
		for _, other := range values {
			if other.typ != v.typ {
				f(v, other.raw, wantOf[v.typ], other.got)
				n++
			}
		}
	}
	if n < 42*6 {
		t.Fatalf("only %d cases: has the model changed?", n)
	}
}

func TestDecode_IntegerRange(t *testing.T) {
	var d order.Decoder
	f := func(raw string, want int64) {
		t.Helper()
		var o order.Order
		if err := d.Decode(modelEdited(raw, "sm_id"), &o); err != nil {
			t.Fatalf("sm_id %s: %v", raw, err)
		}
		if o.SmID != want {
			t.Fatalf("sm_id %s decoded as %d", raw, o.SmID)
		}
	}
	// zero, and minus zero
	f("0", 0)
	f("-0", 0)
	// the largest and smallest int64
	f("9223372036854775807", 9223372036854775807)
	f("-9223372036854775808", -9223372036854775808)
	// nineteen digits, where fastfloat switches to strconv
	f("1234567890123456789", 1234567890123456789)
}

// TestDecode_IntoUsedOrder checks that Decode leaves nothing of the previous
// order behind, and reuses the items array when it is large enough.
func TestDecode_IntoUsedOrder(t *testing.T) {
	var d order.Decoder
	g := orderfake.New(7)
	big := g.Order()
	big.Items = append(big.Items, big.Items[0], big.Items[0]) // at least 3 items

	o := big
	o.Items = append([]order.Item(nil), big.Items...)
	firstItem := &o.Items[0]
	if err := d.Decode(orderfake.ModelJSON, &o); err != nil {
		t.Fatal(err)
	}
	if want := orderfake.Model(); !reflect.DeepEqual(o, want) {
		t.Fatalf("decoded into a used Order:\n%+v\nwant\n%+v", o, want)
	}
	if &o.Items[0] != firstItem {
		t.Fatal("items array not reused although it was large enough")
	}
	// The array was cleared: the items beyond the new length are gone too.
	if rest := o.Items[1:cap(o.Items)][:len(big.Items)-1]; rest[0] != (order.Item{}) {
		t.Fatalf("stale item left in the backing array: %+v", rest[0])
	}
}

// TestDecode_StringsOutliveInput checks that decoded strings share nothing
// with the input or the Decoder's buffers.
func TestDecode_StringsOutliveInput(t *testing.T) {
	var d order.Decoder
	data := bytes.Clone(orderfake.ModelJSON)
	var o order.Order
	if err := d.Decode(data, &o); err != nil {
		t.Fatal(err)
	}
	// Scribble over the input and reuse every buffer of the Decoder.
	for i := range data {
		if data[i] >= 'a' && data[i] <= 'z' {
			data[i] = 'x'
		}
	}
	g := orderfake.New(1)
	for range 10 {
		var other order.Order
		if err := d.Decode(g.OrderJSON(), &other); err != nil {
			t.Fatal(err)
		}
	}
	if want := orderfake.Model(); !reflect.DeepEqual(o, want) {
		t.Fatalf("decoded order changed after its input was reused:\n%+v", o)
	}
}

// TestDecode_AfterError checks that a failed Decode leaves nothing in the
// Decoder that could leak into the next one.
func TestDecode_AfterError(t *testing.T) {
	var d order.Decoder
	var o order.Order
	bad := [][]byte{
		modelEdited(`"x"`, "sm_id"),  // fails late, after most strings
		[]byte(`{"order_uid":`),      // syntax
		modelEdited("", "oof_shard"), // the very last key
	}
	for _, data := range bad {
		if err := d.Decode(data, &o); err == nil {
			t.Fatalf("Decode(%.60q) succeeded", data)
		}
		var got order.Order
		if err := d.Decode(orderfake.ModelJSON, &got); err != nil {
			t.Fatal(err)
		}
		if want := orderfake.Model(); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a failed Decode:\n%+v\nwant\n%+v", got, want)
		}
	}
}

// TestDecode_AllocatesOnce pins the cost of a decode into a reused Order:
// one allocation, the string that all of the order's strings share.
func TestDecode_AllocatesOnce(t *testing.T) {
	var d order.Decoder
	var o order.Order
	g := orderfake.New(8)
	data := g.OrderJSON()
	for len(data) < 2000 { // several items
		data = g.OrderJSON()
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if err := d.Decode(data, &o); err != nil {
			t.Fatal(err)
		}
	}); allocs != 1 {
		t.Fatalf("Decode into a reused Order: %v allocations, want 1", allocs)
	}
}

func TestFieldError_Document(t *testing.T) {
	err := &order.FieldError{Problem: "want object, got null"}
	if got, want := err.Error(), "document: want object, got null"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func ExampleDecoder_Decode() {
	var (
		d order.Decoder // one per worker goroutine
		o order.Order
	)
	err := d.Decode([]byte(`{"order_uid": 42}`), &o)
	fmt.Println(err)
	// Output: order_uid: want string, got number
}

// A message with more values than any order has is refused before the
// parser builds a tree of them, and an items array longer than MaxItems
// before its items are built: neither costs memory in proportion to what
// the message claims.
func TestDecode_CountsBeforeItBuilds(t *testing.T) {
	f := func(zeros int, wantErr string, maxAllocs float64) {
		t.Helper()
		data := hostileItems(zeros)
		var d order.Decoder
		var o order.Order
		var err error
		allocs := testing.AllocsPerRun(3, func() { err = d.Decode(data, &o) })
		var fe *order.FieldError
		if !errors.As(err, &fe) || err.Error() != wantErr {
			t.Fatalf("Decode of %d zeros = %v, want %q", zeros, err, wantErr)
		}
		if cap(o.Items) > order.MaxItems {
			t.Fatalf("an items slice of %d was built for a refused message", cap(o.Items))
		}
		if allocs > maxAllocs {
			t.Fatalf("%v allocations per decode of %d zeros, want at most %v", allocs, zeros, maxAllocs)
		}
	}
	// 1 MB: counted in the raw bytes, never parsed.
	f(500_000, "document: holds more than 50000 JSON values; no order has that many (at most 1000 items)", 8)
	// 10 KB: parsed (a small tree), refused when the items are counted.
	f(5_000, "items: must have at most 1000 items, got 5000", 16)
}

// hostileItems is a valid order but for an items array of n zeros: about
// 2n bytes.
func hostileItems(n int) []byte {
	doc := string(orderfake.ModelJSON)
	i := strings.Index(doc, `"items"`)
	j := strings.Index(doc, `"locale"`)
	zeros := strings.TrimSuffix(strings.Repeat("0,", n), ",")
	return []byte(doc[:i] + `"items": [` + zeros + `],` + "\n  " + doc[j:])
}
