package orderfake_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// TestModelJSON_Unchanged pins model.json: it is the project's reference
// data, quoted in docs and other tests, and must stay byte for byte as
// published. Change this hash only together with everything that quotes it.
func TestModelJSON_Unchanged(t *testing.T) {
	const want = "7e440a5cfa70911ed893eb7d6f068dca64d96dd7d1ecb7d809ac63ace1dcad09"
	sum := sha256.Sum256(orderfake.ModelJSON)
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("model.json has changed: sha256 %s, want %s", got, want)
	}
}

func TestModel(t *testing.T) {
	o := orderfake.Model() // panics if it does not decode and validate
	var want order.Order
	if err := json.Unmarshal(orderfake.ModelJSON, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("Model() =\n%+v\njson.Unmarshal =\n%+v", o, want)
	}
	if o.OrderUID != "b563feb7b2b84b6test" {
		t.Fatalf("Model().OrderUID = %q", o.OrderUID)
	}
	// Each call is a fresh copy.
	o.Items[0].Name = "changed"
	if orderfake.Model().Items[0].Name != "Mascaras" {
		t.Fatal("Model() shares its items between calls")
	}
}

// TestGenerator_Orders checks 10,000 orders: all valid, all uids distinct,
// and every value in the shape the generator promises.
func TestGenerator_Orders(t *testing.T) {
	var (
		uidRe   = regexp.MustCompile(`^[a-z0-9]{20,32}$`)
		trackRe = regexp.MustCompile(`^WB[A-Z0-9]{10}$`)
		phoneRe = regexp.MustCompile(`^\+[0-9]{10,12}$`)
		digitRe = regexp.MustCompile(`^[0-9]+$`)
		from    = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		to      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	g := orderfake.New(1)
	seen := make(map[string]bool)
	var sawSale, sawFee, sawRequestID bool
	for i := range 10_000 {
		o := g.Order()
		if err := order.Validate(&o); err != nil {
			t.Fatalf("order %d: %v\n%s", i, err, order.AppendJSON(nil, &o))
		}
		if seen[o.OrderUID] {
			t.Fatalf("order %d: order_uid %q repeats", i, o.OrderUID)
		}
		seen[o.OrderUID] = true

		check := func(what string, ok bool) {
			t.Helper()
			if !ok {
				t.Fatalf("order %d: %s wrong:\n%s", i, what, order.AppendJSON(nil, &o))
			}
		}
		check("order_uid", uidRe.MatchString(o.OrderUID))
		check("track_number", trackRe.MatchString(o.TrackNumber))
		check("phone", phoneRe.MatchString(o.Delivery.Phone))
		check("shardkey", digitRe.MatchString(o.Shardkey) && len(o.Shardkey) <= 2)
		check("oof_shard", digitRe.MatchString(o.OofShard) && len(o.OofShard) <= 2)
		check("items count", 1 <= len(o.Items) && len(o.Items) <= 10)
		created, err := order.CreatedAt(&o)
		check("date_created", err == nil && !created.Before(from) && created.Before(to) &&
			created.Format(time.RFC3339) == o.DateCreated)
		paid := time.Unix(o.Payment.PaymentDt, 0)
		check("payment_dt", !paid.Before(created) && paid.Sub(created) < time.Hour)
		for _, it := range o.Items {
			check("sale", 0 <= it.Sale && it.Sale <= 90)
			check("total_price", it.TotalPrice == it.Price*(100-it.Sale)/100)
			check("item text", it.Name != "" && it.Brand != "" && it.Rid != "")
			sawSale = sawSale || it.Sale > 0
		}
		sawFee = sawFee || o.Payment.CustomFee > 0
		sawRequestID = sawRequestID || o.Payment.RequestID != ""
	}
	if !sawSale || !sawFee || !sawRequestID {
		t.Fatalf("10,000 orders never had: a sale %v, a custom fee %v, a request_id %v", sawSale, sawFee, sawRequestID)
	}
}

func TestGenerator_Deterministic(t *testing.T) {
	f := func(a, b *orderfake.Generator, same bool) {
		t.Helper()
		for i := range 100 {
			ja, jb := a.OrderJSON(), b.OrderJSON()
			pa, ka := a.Broken()
			pb, kb := b.Broken()
			if got := bytes.Equal(ja, jb) && bytes.Equal(pa, pb) && ka == kb; got != same {
				t.Fatalf("message %d: equal = %v, want %v:\n%s\n%s", i, got, same, ja, jb)
			}
		}
	}
	// the same seed, the same sequence; seed 0 included
	f(orderfake.New(9), orderfake.New(9), true)
	f(orderfake.New(0), orderfake.New(0), true)
	// other seeds, other sequences
	f(orderfake.New(9), orderfake.New(10), false)
	// NewAt moves the dates, so the sequences differ
	f(orderfake.New(9), orderfake.NewAt(9, time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)), false)
}

func TestGenerator_UIDsDistinctAcrossSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("a hundred thousand generated orders: skipped under -short")
	}
	seen := make(map[string]bool)
	for seed := range uint64(20) {
		g := orderfake.New(seed)
		for range 5_000 {
			uid := g.Order().OrderUID
			if seen[uid] {
				t.Fatalf("seed %d: order_uid %q already made by another seed", seed, uid)
			}
			seen[uid] = true
		}
	}
}

func TestNewAt(t *testing.T) {
	now := time.Now()
	o := orderfake.NewAt(1, now).Order()
	created, err := order.CreatedAt(&o)
	if err != nil {
		t.Fatal(err)
	}
	if created.After(now) || now.Sub(created) > 366*24*time.Hour {
		t.Fatalf("date_created %v is not within the year before %v", created, now)
	}
}

func TestOrderJSON(t *testing.T) {
	var d order.Decoder
	g := orderfake.New(2)
	for range 100 {
		data := g.OrderJSON()
		var o order.Order
		if err := d.Decode(data, &o); err != nil {
			t.Fatalf("Decode(OrderJSON()): %v", err)
		}
		if err := order.Validate(&o); err != nil {
			t.Fatalf("Validate(OrderJSON()): %v", err)
		}
		if !bytes.Equal(order.AppendJSON(nil, &o), data) {
			t.Fatalf("OrderJSON() is not canonical:\n%s", data)
		}
	}
}

// TestBrokenOf checks that every kind of broken message fails the way its
// Kind says, many times over so that every variant of each kind shows up.
func TestBrokenOf(t *testing.T) {
	var d order.Decoder
	g := orderfake.New(3)
	f := func(kind orderfake.Kind) {
		t.Helper()
		for range 300 {
			payload := g.BrokenOf(kind)
			var o order.Order
			err := d.Decode(payload, &o)
			var (
				syntax *order.SyntaxError
				field  *order.FieldError
			)
			switch {
			case kind.Syntax():
				if !errors.As(err, &syntax) {
					t.Fatalf("%v: Decode = %v, want a SyntaxError\n%.200q", kind, err, payload)
				}
			case kind == orderfake.WrongType || kind == orderfake.MissingField:
				if !errors.As(err, &field) {
					t.Fatalf("%v: Decode = %v, want a FieldError\n%.200q", kind, err, payload)
				}
				if missing := field.Problem == "missing"; missing != (kind == orderfake.MissingField) {
					t.Fatalf("%v: Decode = %v\n%.200q", kind, err, payload)
				}
			case kind == orderfake.RuleViolation:
				if err != nil {
					t.Fatalf("%v: Decode = %v, want it to decode\n%.200q", kind, err, payload)
				}
				var ve *order.ValidationError
				if err := order.Validate(&o); !errors.As(err, &ve) || len(ve.Violations) != 1 {
					t.Fatalf("%v: Validate = %v, want exactly one violation\n%s", kind, err, payload)
				}
			default:
				t.Fatalf("unexpected kind %v", kind)
			}
		}
	}
	for kind := orderfake.NotJSON; kind <= orderfake.RuleViolation; kind++ {
		f(kind)
	}
}

func TestBroken_CoversEveryKind(t *testing.T) {
	g := orderfake.New(4)
	count := make(map[orderfake.Kind]int)
	for range 600 {
		payload, kind := g.Broken()
		count[kind]++
		var o order.Order
		err := new(order.Decoder).Decode(payload, &o)
		var syntax *order.SyntaxError
		if errors.As(err, &syntax) != kind.Syntax() {
			t.Fatalf("%v: Decode = %v, but Syntax() = %v", kind, err, kind.Syntax())
		}
	}
	for kind := orderfake.NotJSON; kind <= orderfake.RuleViolation; kind++ {
		if count[kind] < 50 {
			t.Fatalf("kind %v came up %d times in 600", kind, count[kind])
		}
	}
	if len(count) != 6 {
		t.Fatalf("Broken returned kinds %v", count)
	}
}

func TestKind_String(t *testing.T) {
	f := func(k orderfake.Kind, want string) {
		t.Helper()
		if got := k.String(); got != want {
			t.Fatalf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
	f(orderfake.NotJSON, "not JSON")
	f(orderfake.TrailingGarbage, "trailing garbage")
	f(orderfake.Truncated, "truncated")
	f(orderfake.WrongType, "wrong type")
	f(orderfake.MissingField, "missing field")
	f(orderfake.RuleViolation, "rule violation")
	f(0, "Kind(0)")
	f(99, "Kind(99)")
}

func TestBrokenOf_UnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("BrokenOf(0) did not panic")
		}
	}()
	orderfake.New(1).BrokenOf(0)
}
