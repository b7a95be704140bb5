package order_test

import (
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

func TestValidate_ModelPasses(t *testing.T) {
	o := orderfake.Model()
	if err := order.Validate(&o); err != nil {
		t.Fatal(err)
	}
}

// TestValidate_Rules breaks (or stretches) each rule once on the model and
// checks the complete list of violations, message for message.
func TestValidate_Rules(t *testing.T) {
	f := func(edit func(o *order.Order), want ...string) {
		t.Helper()
		o := orderfake.Model()
		edit(&o)
		err := order.Validate(&o)
		if len(want) == 0 {
			if err != nil {
				t.Fatalf("want valid, got %v", err)
			}
			return
		}
		var got []string
		for _, v := range asValidationError(t, err).Violations {
			got = append(got, v.Field+": "+v.Rule)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("violations:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		if err.Error() != strings.Join(want, "; ") {
			t.Fatalf("Error() = %q", err.Error())
		}
	}
	setUID := func(uid string) func(o *order.Order) {
		return func(o *order.Order) { o.OrderUID, o.Payment.Transaction = uid, uid }
	}
	setItems := func(n int) func(o *order.Order) {
		return func(o *order.Order) {
			o.Items = slices.Repeat(o.Items[:1], n)
			o.Payment.GoodsTotal = o.Items[0].TotalPrice * int64(n)
			o.Payment.Amount = o.Payment.GoodsTotal + o.Payment.DeliveryCost
		}
	}

	// order_uid: the longest, the shortest, every allowed character
	f(setUID(strings.Repeat("a", 64)))
	f(setUID("x"))
	f(setUID("AZaz09_-"))
	// order_uid: too long, empty, a space, non-ASCII
	f(setUID(strings.Repeat("a", 65)),
		`order_uid: must be 1-64 characters of A-Z a-z 0-9 _ -, got "`+strings.Repeat("a", 64)+`"...`)
	f(setUID(""), `order_uid: must be 1-64 characters of A-Z a-z 0-9 _ -, got ""`,
		"payment.transaction: must not be empty")
	f(setUID("b563 test"), `order_uid: must be 1-64 characters of A-Z a-z 0-9 _ -, got "b563 test"`)
	f(setUID("заказ"), `order_uid: must be 1-64 characters of A-Z a-z 0-9 _ -, got "заказ"`)

	// strings: the longest allowed, non-ASCII text, the optional ones filled in
	f(func(o *order.Order) { o.Delivery.Address = strings.Repeat("й", 512) })
	f(func(o *order.Order) { o.Delivery.Name = "Тест Тестов 😀" })
	f(func(o *order.Order) { o.Payment.RequestID, o.InternalSignature = "req-1", "sig" })
	// strings: empty, too long, not UTF-8, with NUL; the optional ones too
	f(func(o *order.Order) { o.Entry = "" }, "entry: must not be empty")
	f(func(o *order.Order) { o.Delivery.Address = strings.Repeat("й", 512) + "x" },
		"delivery.address: must be at most 1024 bytes, got 1025")
	f(func(o *order.Order) { o.Delivery.Name = "Test \xff" }, "delivery.name: must be valid UTF-8")
	f(func(o *order.Order) { o.Delivery.City = "Kiryat\x00Mozkin" }, "delivery.city: must not contain NUL (U+0000)")
	f(func(o *order.Order) { o.Payment.RequestID = "\x00" }, "payment.request_id: must not contain NUL (U+0000)")
	f(func(o *order.Order) { o.InternalSignature = "\xc3" }, "internal_signature: must be valid UTF-8")

	// delivery.phone: with and without +, the shortest and longest
	f(func(o *order.Order) { o.Delivery.Phone = "9720000000" })
	f(func(o *order.Order) { o.Delivery.Phone = "+1234567" })
	f(func(o *order.Order) { o.Delivery.Phone = "+123456789012345" })
	// delivery.phone: too short, too long, spaces, dashes, two +, only +
	for _, bad := range []string{"+123456", "+1234567890123456", "+972 000 0000", "972-000-0000", "++9720000000", "+", "+972000000a"} {
		f(func(o *order.Order) { o.Delivery.Phone = bad },
			"delivery.phone: must be an optional + and 7-15 digits, got "+strconv.Quote(bad))
	}

	// delivery.email: the plain shape and a few legal variations
	f(func(o *order.Order) { o.Delivery.Email = "a@b.co" })
	f(func(o *order.Order) { o.Delivery.Email = "first.last+tag@mail.example.com" })
	f(func(o *order.Order) { o.Delivery.Email = "тест@пример.рф" })
	// delivery.email: no @, two @, empty local part, undotted or badly
	// dotted domain, white space
	for _, bad := range []string{"test.gmail.com", "a@b@gmail.com", "@gmail.com", "test@", "test@gmail",
		"test@.gmail.com", "test@gmail.com.", "test@gmail..com", "te st@gmail.com", "test@gmail.com\t"} {
		f(func(o *order.Order) { o.Delivery.Email = bad },
			"delivery.email: must be an email address like name@example.com, got "+strconv.Quote(bad))
	}

	// payment.transaction differs from order_uid
	f(func(o *order.Order) { o.Payment.Transaction = "other" },
		`payment.transaction: must equal order_uid "b563feb7b2b84b6test", got "other"`)

	// payment.currency: another valid code; lower case, too short, too long, not letters
	f(func(o *order.Order) { o.Payment.Currency = "KZT" })
	for _, bad := range []string{"usd", "US", "USDT", "U$D", "ÜSD"} {
		f(func(o *order.Order) { o.Payment.Currency = bad },
			"payment.currency: must be three upper-case letters (ISO 4217), got "+strconv.Quote(bad))
	}

	// payment.amount does not add up
	f(func(o *order.Order) { o.Payment.Amount = 1818 },
		"payment.amount: must equal goods_total + delivery_cost + custom_fee = 1817, got 1818")
	// ... counting custom_fee too
	f(func(o *order.Order) { o.Payment.CustomFee = 100 },
		"payment.amount: must equal goods_total + delivery_cost + custom_fee = 1917, got 1817")
	f(func(o *order.Order) { o.Payment.CustomFee, o.Payment.Amount = 100, 1917 })
	// payment.goods_total does not add up
	f(func(o *order.Order) { o.Payment.GoodsTotal, o.Payment.Amount = 300, 1800 },
		"payment.goods_total: must equal the sum of items[].total_price = 317, got 300")
	// the sums overflow int64 instead of wrapping round to a match:
	// MaxInt64 + MaxInt64 + 319 wraps to exactly 317
	f(func(o *order.Order) {
		o.Items = slices.Repeat(o.Items[:1], 3)
		o.Items[0].TotalPrice, o.Items[1].TotalPrice, o.Items[2].TotalPrice = math.MaxInt64, math.MaxInt64, 319
	}, "payment.goods_total: must equal the sum of items[].total_price, which overflows int64")
	f(func(o *order.Order) { o.Payment.DeliveryCost = math.MaxInt64 },
		"payment.amount: must equal goods_total + delivery_cost + custom_fee, which overflows int64")
	f(func(o *order.Order) { o.Payment.DeliveryCost, o.Payment.CustomFee = math.MaxInt64-100, 200 },
		"payment.amount: must equal goods_total + delivery_cost + custom_fee, which overflows int64")

	// items: one and a thousand are fine
	f(setItems(1))
	f(setItems(1000))
	// items: none (nil or empty), or too many
	f(func(o *order.Order) { o.Items, o.Payment.GoodsTotal, o.Payment.Amount = nil, 0, 1500 },
		"items: must have at least 1 item")
	f(func(o *order.Order) { o.Items, o.Payment.GoodsTotal, o.Payment.Amount = []order.Item{}, 0, 1500 },
		"items: must have at least 1 item")
	f(setItems(1001), "items: must have at most 1000 items, got 1001")
	// items[i].track_number differs from the order's
	f(func(o *order.Order) { o.Items[0].TrackNumber = "WBILMOTHER" },
		`items[0].track_number: must equal track_number "WBILMTESTTRACK", got "WBILMOTHER"`)
	// items[i].sale: the bounds, and beyond them
	f(func(o *order.Order) { o.Items[0].Sale = 0 })
	f(func(o *order.Order) { o.Items[0].Sale = 100 })
	f(func(o *order.Order) { o.Items[0].Sale = 120 }, "items[0].sale: must be between 0 and 100, got 120")
	f(func(o *order.Order) { o.Items[0].Sale = -1 }, "items[0].sale: must be between 0 and 100, got -1")
	// the index in the path is the item's
	f(func(o *order.Order) {
		setItems(3)(o)
		o.Items[2].Sale = 101
	}, "items[2].sale: must be between 0 and 100, got 101")

	// non-negative integers: zero is fine, -1 is not
	f(func(o *order.Order) { o.SmID, o.Items[0].ChrtID, o.Items[0].Status = 0, 0, 0 })
	f(func(o *order.Order) { o.SmID = -1 }, "sm_id: must not be negative, got -1")
	f(func(o *order.Order) { o.Payment.PaymentDt = -1 }, "payment.payment_dt: must not be negative, got -1")
	f(func(o *order.Order) { o.Items[0].NmID = -5 }, "items[0].nm_id: must not be negative, got -5")
	// a negative amount is reported once, not also as a wrong sum
	f(func(o *order.Order) { o.Payment.Amount = -1817 }, "payment.amount: must not be negative, got -1817")

	// date_created: with a fraction, with an offset
	f(func(o *order.Order) { o.DateCreated = "2021-11-26T06:22:19.123456789Z" })
	f(func(o *order.Order) { o.DateCreated = "2021-11-26T09:22:19+03:00" })
	// date_created: no zone, a space for T, another format, empty
	for _, bad := range []string{"2021-11-26T06:22:19", "2021-11-26 06:22:19Z", "26.11.2021", ""} {
		f(func(o *order.Order) { o.DateCreated = bad },
			"date_created: must be an RFC 3339 timestamp such as 2021-11-26T06:22:19Z, got "+strconv.Quote(bad))
	}
}

// TestValidate_CollectsAllInFieldOrder breaks several rules at once.
func TestValidate_CollectsAllInFieldOrder(t *testing.T) {
	o := orderfake.Model()
	o.OofShard = ""
	o.Items[0].Sale = 120
	o.Payment.Currency = "usd"
	o.Delivery.Email = "nobody"
	o.OrderUID = "bad uid"
	ve := asValidationError(t, order.Validate(&o))
	var got []string
	for _, v := range ve.Violations {
		got = append(got, v.Field)
	}
	want := []string{"order_uid", "delivery.email", "payment.transaction", "payment.currency", "items[0].sale", "oof_shard"}
	if !slices.Equal(got, want) {
		t.Fatalf("violations in order %q, want %q", got, want)
	}
}

func TestValidate_CapsViolations(t *testing.T) {
	f := func(n, wantLen int, wantLast string) {
		t.Helper()
		o := orderfake.Model()
		o.Items = slices.Repeat(o.Items[:1], n)
		o.Payment.GoodsTotal = o.Items[0].TotalPrice * int64(n)
		o.Payment.Amount = o.Payment.GoodsTotal + o.Payment.DeliveryCost
		for i := range o.Items {
			o.Items[i].Sale = 120 // one violation per item
		}
		vs := asValidationError(t, order.Validate(&o)).Violations
		if len(vs) != wantLen {
			t.Fatalf("%d violations: got %d entries, want %d", n, len(vs), wantLen)
		}
		if last := vs[len(vs)-1]; last.Field+": "+last.Rule != wantLast {
			t.Fatalf("%d violations: last entry %q, want %q", n, last.Field+": "+last.Rule, wantLast)
		}
	}
	// exactly the cap: all listed
	f(20, 20, "items[19].sale: must be between 0 and 100, got 120")
	// one over: the first 20, then a count of the rest
	f(21, 21, "...: 1 more violations")
	// a thousand: still 21 entries
	f(1000, 21, "...: 980 more violations")
}

// TestValidate_EveryStringChecked sets every string of the order, found by
// reflection, to an empty, an overlong, a non-UTF-8 and a NUL-carrying
// value, and checks that a violation names it.
func TestValidate_EveryStringChecked(t *testing.T) {
	f := func(field string, value string, wantRule string) {
		t.Helper()
		o := orderfake.Model()
		setString(t, &o, field, value)
		err := order.Validate(&o)
		if wantRule == "" {
			if err != nil {
				t.Fatalf("%s = %.20q: %v", field, value, err)
			}
			return
		}
		for _, v := range asValidationError(t, err).Violations {
			if v.Field == field && strings.HasPrefix(v.Rule, wantRule) {
				return
			}
		}
		t.Fatalf("%s = %.20q: got %v, want a violation %q", field, value, err, field+": "+wantRule)
	}
	ruleFor := map[string]string{
		"order_uid":    "must be 1-64 characters",
		"date_created": "must be an RFC 3339 timestamp",
	}
	n := 0
	for _, field := range stringFields() {
		n++
		if rule, ok := ruleFor[field]; ok {
			for _, bad := range []string{"", strings.Repeat("a", 1025), "\xff", "\x00"} {
				f(field, bad, rule)
			}
			continue
		}
		if field == "payment.request_id" || field == "internal_signature" {
			f(field, "", "") // may be empty
		} else {
			f(field, "", "must not be empty")
		}
		f(field, strings.Repeat("a", 1025), "must be at most 1024 bytes, got 1025")
		f(field, "\xff", "must be valid UTF-8")
		f(field, "a\x00", "must not contain NUL (U+0000)")
	}
	if n != 27 { // 10 in the order, 7 in delivery, 5 in payment, 5 in the item
		t.Fatalf("found %d string fields, want 27: has the Order type changed?", n)
	}
}

// TestValidate_EveryIntegerChecked sets every integer of the order, found by
// reflection, to -1 and checks that a violation names it.
func TestValidate_EveryIntegerChecked(t *testing.T) {
	n := 0
	for _, field := range intFields() {
		n++
		o := orderfake.Model()
		setInt(t, &o, field, -1)
		want := field + ": must not be negative, got -1"
		if field == "items[0].sale" {
			want = field + ": must be between 0 and 100, got -1"
		}
		err := order.Validate(&o)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s = -1: got %v, want a violation %q", field, err, want)
		}
	}
	if n != 12 { // sm_id, 5 in payment, 6 in the item
		t.Fatalf("found %d integer fields, want 12: has the Order type changed?", n)
	}
}

func TestValidate_DoesNotAllocate(t *testing.T) {
	f := func(o order.Order) {
		t.Helper()
		if allocs := testing.AllocsPerRun(100, func() {
			if err := order.Validate(&o); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Fatalf("Validate of a valid order: %v allocations, want 0", allocs)
		}
	}
	// the model
	f(orderfake.Model())
	// a generated order, non-UTC offset and fraction included
	o := orderfake.New(3).Order()
	o.DateCreated = "2025-06-01T12:00:00.5+05:30"
	f(o)
}

func TestValidUID(t *testing.T) {
	f := func(s string, want bool) {
		t.Helper()
		if got := order.ValidUID(s); got != want {
			t.Fatalf("ValidUID(%q) = %v, want %v", s, got, want)
		}
	}
	// the model's
	f("b563feb7b2b84b6test", true)
	// every allowed character class
	f("AZaz09_-", true)
	// one and 64 characters
	f("a", true)
	f(strings.Repeat("Z", 64), true)
	// empty, and 65 characters
	f("", false)
	f(strings.Repeat("Z", 65), false)
	// characters a URL path or a SQL string could misread
	for _, c := range []string{" ", "/", ".", "%", "'", `"`, "\\", "?", "#", "\x00", "é", "+", ":"} {
		f("ab"+c+"cd", false)
	}
	if allocs := testing.AllocsPerRun(100, func() { validSink = order.ValidUID("b563feb7b2b84b6test") }); allocs != 0 {
		t.Fatalf("ValidUID allocates %v times", allocs)
	}
}

// validSink keeps ValidUID's result used, so the compiler cannot drop the
// call the allocation check measures.
var validSink bool

func TestValidationError_Error(t *testing.T) {
	err := &order.ValidationError{Violations: []order.Violation{
		{Field: "a", Rule: "must be x"},
		{Field: "items[0].b", Rule: "must be y, got 1"},
	}}
	if got, want := err.Error(), "a: must be x; items[0].b: must be y, got 1"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

// stringFields and intFields list the fields of an order by the paths
// errors name them with, found by reflection over the json tags of the
// model, which has one item.
func stringFields() []string { return fieldsOfKind(reflect.String) }
func intFields() []string    { return fieldsOfKind(reflect.Int64) }

func fieldsOfKind(kind reflect.Kind) []string {
	var out []string
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
				if prefix != "" {
					name = prefix + "." + name
				}
				walk(v.Field(i), name)
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), prefix+"["+strconv.Itoa(i)+"]")
			}
		case kind:
			out = append(out, prefix)
		}
	}
	o := orderfake.Model()
	walk(reflect.ValueOf(o), "")
	return out
}

// fieldByPath finds a field of o by its error path, e.g. "items[0].sale".
func fieldByPath(t *testing.T, o *order.Order, path string) reflect.Value {
	t.Helper()
	v := reflect.ValueOf(o).Elem()
	for part := range strings.SplitSeq(path, ".") {
		name, index, hasIndex := strings.Cut(strings.TrimSuffix(part, "]"), "[")
		found := false
		for i := range v.NumField() {
			if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); tag == name {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			t.Fatalf("no field %q in %s", name, path)
		}
		if hasIndex {
			i, err := strconv.Atoi(index)
			if err != nil {
				t.Fatal(err)
			}
			v = v.Index(i)
		}
	}
	return v
}

func setString(t *testing.T, o *order.Order, path, s string) { fieldByPath(t, o, path).SetString(s) }
func setInt(t *testing.T, o *order.Order, path string, n int64) {
	fieldByPath(t, o, path).SetInt(n)
}
