package order_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// sameAsMarshal fails the test unless AppendJSON(o) is byte for byte what
// json.Marshal(o) makes.
func sameAsMarshal(t *testing.T, o *order.Order) []byte {
	t.Helper()
	want, err := json.Marshal(o)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	got := order.AppendJSON(nil, o)
	if !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("AppendJSON differs from json.Marshal at byte %d:\n got: %q\nwant: %q",
			i, got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
	}
	return got
}

// roundTrips fails the test unless Decode(AppendJSON(o)) gives o back.
func roundTrips(t *testing.T, d *order.Decoder, o *order.Order) {
	t.Helper()
	var back order.Order
	if err := d.Decode(order.AppendJSON(nil, o), &back); err != nil {
		t.Fatalf("Decode(AppendJSON(o)): %v", err)
	}
	if !reflect.DeepEqual(&back, o) {
		t.Fatalf("Decode(AppendJSON(o)) =\n%+v\nwant\n%+v", back, *o)
	}
}

func TestAppendJSON_Model(t *testing.T) {
	o := orderfake.Model()
	got := sameAsMarshal(t, &o)
	// The canonical form of model.json is model.json without white space.
	var compact bytes.Buffer
	if err := json.Compact(&compact, orderfake.ModelJSON); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, compact.Bytes()) {
		t.Fatalf("AppendJSON(model) =\n%s\nwant model.json compacted:\n%s", got, compact.Bytes())
	}
}

func TestAppendJSON_GeneratedOrders(t *testing.T) {
	var d order.Decoder
	g := orderfake.New(42)
	for range 10_000 {
		o := g.Order()
		sameAsMarshal(t, &o)
		roundTrips(t, &d, &o)
	}
}

func TestAppendJSON_NastyStrings(t *testing.T) {
	var d order.Decoder
	f := func(s string) {
		t.Helper()
		o := orderfake.Model()
		o.Delivery.Name, o.Items[0].Name, o.InternalSignature = s, s, s
		sameAsMarshal(t, &o)
		if order.Validate(&o) == nil {
			roundTrips(t, &d, &o)
		}
	}
	// quotes and backslashes
	f(`say "hi" \ bye \\ \" \u0041`)
	// every ASCII control character, DEL, and a space
	var ctl []byte
	for c := range 0x20 {
		ctl = append(ctl, byte(c))
	}
	f(string(ctl) + "\x7f ")
	// the short escapes on their own
	f("\b\f\n\r\t")
	// HTML-sensitive characters
	f(`<script>alert("x")</script> & &amp; >`)
	// the JavaScript line terminators, alone and next to their neighbours
	f("a\u2028b\u2029c\u2027\u202a")
	// emoji, a ZWJ sequence, a flag
	f("😀 👩‍👩‍👧 🇰🇿")
	// non-ASCII scripts and combining marks
	f("Кирьят-Моцкин · 東京 · עברית · é = e\u0301")
	// U+FFFD itself, which is valid UTF-8 and stays raw
	f("\ufffd")
	// invalid UTF-8: a stray continuation byte, a truncated sequence, an
	// encoded surrogate, an overlong encoding (Validate rejects these, but
	// AppendJSON still agrees with json.Marshal)
	f("a\x80b")
	f("\xe2\x82")
	f("\xed\xa0\x80")
	f("\xc0\xaf")
	// a string that ends in the middle of a rune
	f("abc\xf0\x9f\x98")
	// NUL
	f("a\x00b")
	// empty
	f("")
}

func TestAppendJSON_Integers(t *testing.T) {
	o := orderfake.Model()
	o.SmID, o.Payment.Amount, o.Items[0].Price = math.MaxInt64, math.MinInt64, 0
	sameAsMarshal(t, &o)
}

func TestAppendJSON_Items(t *testing.T) {
	o := orderfake.Model()
	// nil items encode as null, like json.Marshal
	o.Items = nil
	sameAsMarshal(t, &o)
	// empty items as []
	o.Items = []order.Item{}
	sameAsMarshal(t, &o)
	// several items, separated by commas
	o.Items = append(o.Items, orderfake.Model().Items[0], orderfake.Model().Items[0], order.Item{})
	sameAsMarshal(t, &o)
	// the zero Order
	sameAsMarshal(t, &order.Order{})
}

func TestAppendJSON_DoesNotAllocate(t *testing.T) {
	o := orderfake.New(5).Order()
	o.Delivery.Name = "<Nasty> \"name\"\u2028\x01 😀"
	buf := make([]byte, 0, 64<<10)
	if allocs := testing.AllocsPerRun(100, func() { buf = order.AppendJSON(buf[:0], &o) }); allocs != 0 {
		t.Fatalf("AppendJSON into a large enough buffer: %v allocations, want 0", allocs)
	}
	// It appends: what was in dst stays.
	out := order.AppendJSON([]byte("prefix:"), &o)
	if !bytes.HasPrefix(out, []byte("prefix:{")) {
		t.Fatalf("AppendJSON did not append: %.20q", out)
	}
}

// FuzzAppendJSON builds orders from fuzzed strings and integers and holds
// AppendJSON to json.Marshal on all of them, and to the round trip through
// Decode on those that pass Validate. `go test` runs the seeds.
func FuzzAppendJSON(f *testing.F) {
	f.Add("Test Testov", "Ploshad Mira 15", "Mascaras", "", int64(453), int64(30), int64(1500))
	f.Add(`"quoted" \back\slash`, "<b>&amp;</b>", "\u2028\u2029", "\x00\x01\x1f\x7f", int64(0), int64(0), int64(0))
	f.Add("Кирьят-Моцкин", "😀👩‍👩‍👧", "\ufffd", "\xff\xfe", int64(math.MaxInt64), int64(100), int64(math.MaxInt64))
	f.Add("\b\f\n\r\t", "a\x80b", "\xed\xa0\x80", "\\u0041", int64(-1), int64(-1), int64(-1))
	f.Add("", "", "", "", int64(1), int64(101), int64(math.MinInt64))

	var d order.Decoder
	f.Fuzz(func(t *testing.T, name, address, product, signature string, price, sale, deliveryCost int64) {
		o := orderfake.Model()
		o.Delivery.Name, o.Delivery.Address, o.Items[0].Name, o.InternalSignature = name, address, product, signature
		o.Items[0].Brand = product + signature
		it := &o.Items[0]
		it.Price, it.Sale = price, sale
		if 0 <= sale && sale <= 100 && 0 <= price && price <= math.MaxInt64/100 {
			it.TotalPrice = price * (100 - sale) / 100
		}
		o.Payment.GoodsTotal, o.Payment.DeliveryCost = it.TotalPrice, deliveryCost
		o.Payment.Amount = o.Payment.GoodsTotal + deliveryCost // may wrap: Validate's job

		sameAsMarshal(t, &o)
		if order.Validate(&o) != nil {
			return
		}
		roundTrips(t, &d, &o)
	})
}
