// Package orderfake makes orders for tests, demos and load tools: the
// canonical model order, any number of valid, realistic fake orders, and
// broken messages of every kind the dead-letter path must handle.
//
// Fake values come from github.com/brianvoe/gofakeit/v7 because its data
// sets give person names, cities, streets, product names and company names
// that look real in the UI and in the database, without a word list of our
// own to maintain, and it draws them from a seedable source, so a seed
// reproduces a run.
package orderfake

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v7"
	"github.com/valyala/fastjson"

	"github.com/orderd/orderd/order"
)

// Generator makes fake orders. The same seed and reference time give the
// same sequence of orders and broken messages.
//
// A Generator is not safe for concurrent use: give each goroutine its own,
// with its own seed.
type Generator struct {
	f    *gofakeit.Faker
	now  time.Time
	n    uint64 // orders made so far; part of every order_uid
	base uint64 // random start of the order count within uids

	// For editing an order's JSON into a broken message (see broken.go).
	parser fastjson.Parser
	arena  fastjson.Arena
}

// reference is the time New generates orders relative to. It is fixed so
// that a seed alone reproduces a run.
var reference = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// New returns a Generator seeded with seed whose orders were created in
// 2025, the year before 2026-01-01T00:00:00Z. Use NewAt for dates relative
// to the real clock.
func New(seed uint64) *Generator { return NewAt(seed, reference) }

// NewAt returns a Generator seeded with seed whose orders were created in
// the year before now, for demos that should look recent.
func NewAt(seed uint64, now time.Time) *Generator {
	// gofakeit.New treats seed 0 as "random"; a PCG source of our own keeps
	// every seed, 0 included, reproducible. The Faker needs no lock: the
	// Generator is single-goroutine.
	f := gofakeit.NewFaker(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15), false)
	return &Generator{f: f, now: now.UTC().Truncate(time.Second), base: f.Uint64() % uidSpace}
}

// Order returns a new valid order (it passes order.Validate) with realistic
// values and an order_uid no earlier order of this Generator has had.
func (g *Generator) Order() order.Order { return g.order(0) }

// OrderWithItems is Order with n items, each of its own: a large order whose
// bytes are all real content, for tests of memory.
func (g *Generator) OrderWithItems(n int) order.Order { return g.order(n) }

// order makes an order of n items, or of 1 to 10 when n is 0, drawn where
// Order always drew it, so that a seed makes the orders it always made.
func (g *Generator) order(n int) order.Order {
	f := g.f
	uid := g.uid()
	track := "WB" + g.chars(upperDigits, 10)
	created := g.now.Add(-time.Duration(1+f.IntN(365*24*3600)) * time.Second)

	if n <= 0 {
		n = 1 + f.IntN(10)
	}
	items := make([]order.Item, n)
	var goods int64
	for i := range items {
		items[i] = g.item(track)
		goods += items[i].TotalPrice
	}
	deliveryCost := int64(f.IntN(31)) * 100 // 0 to 30.00
	var fee int64
	if f.IntN(10) == 0 {
		fee = int64(1+f.IntN(20)) * 100 // customs duty, on one order in ten
	}

	o := order.Order{
		OrderUID:    uid,
		TrackNumber: track,
		Entry:       "WBIL",
		Delivery: order.Delivery{
			Name:    f.FirstName() + " " + f.LastName(),
			Phone:   "+" + strconv.Itoa(1+f.IntN(9)) + g.chars(digits, 9+f.IntN(3)),
			Zip:     f.Zip(),
			City:    f.City(),
			Address: f.Street(),
			Region:  f.State(),
			Email:   f.Email(),
		},
		Payment: order.Payment{
			Transaction:  uid,
			Currency:     pick(f, currencies),
			Provider:     pick(f, providers),
			Amount:       goods + deliveryCost + fee,
			PaymentDt:    created.Unix() + int64(f.IntN(600)), // paid within ten minutes
			Bank:         pick(f, banks),
			DeliveryCost: deliveryCost,
			GoodsTotal:   goods,
			CustomFee:    fee,
		},
		Items:           items,
		Locale:          pick(f, locales),
		CustomerID:      strings.ToLower(f.Username()),
		DeliveryService: pick(f, deliveryServices),
		Shardkey:        strconv.Itoa(f.IntN(10)),
		SmID:            int64(1 + f.IntN(100)),
		DateCreated:     created.Format(time.RFC3339),
		OofShard:        strconv.Itoa(1 + f.IntN(2)),
	}
	// Most producers leave these empty, as the model does.
	if f.IntN(10) == 0 {
		o.Payment.RequestID = f.UUID()
	}
	if f.IntN(20) == 0 {
		o.InternalSignature = g.chars(lowerHex, 32)
	}
	return o
}

// OrderJSON returns the canonical JSON (order.AppendJSON) of a new Order.
func (g *Generator) OrderJSON() []byte {
	o := g.Order()
	return order.AppendJSON(nil, &o)
}

func (g *Generator) item(track string) order.Item {
	f := g.f
	price := int64(100 + f.IntN(500_000)) // 1.00 to 5000.99 in minor units
	var sale int64
	if f.IntN(5) < 3 {
		sale = int64(f.IntN(19)) * 5 // 0 to 90 percent, in steps of 5
	}
	brand, _, _ := strings.Cut(f.Company(), " (") // drop notes like "(Now part of X)"
	return order.Item{
		ChrtID:      int64(1_000_000 + f.IntN(9_000_000)),
		TrackNumber: track,
		Price:       price,
		Rid:         g.chars(lowerHex, 21),
		Name:        f.ProductName(),
		Sale:        sale,
		Size:        pick(f, sizes),
		TotalPrice:  price * (100 - sale) / 100,
		NmID:        int64(1_000_000 + f.IntN(9_000_000)),
		Brand:       brand,
		Status:      pick(f, statuses),
	}
}

// uidSpace is the number of distinct 6-digit base-36 suffixes of a uid.
const uidSpace = 36 * 36 * 36 * 36 * 36 * 36

// uid returns 20 to 32 characters of [a-z0-9]: a random part, then the
// Generator's order count as 6 base-36 digits. The count makes uids unique
// within a Generator for its first 36^6 (about 2.2 billion) orders; the
// random part, at least 14 characters (72 bits), keeps Generators with
// different seeds apart. The count goes through n -> (n*scramble + base) mod
// 36^6, a bijection because scramble is coprime to 36, so that consecutive
// uids do not end in 000000, 000001, ...
func (g *Generator) uid() string {
	const scramble = 1_568_397_607 // odd and not a multiple of 3: coprime to 36
	n := (g.n%uidSpace*scramble + g.base) % uidSpace
	g.n++
	b := []byte(g.chars(lowerDigits, 14+g.f.IntN(13)))
	for range 6 {
		b = append(b, lowerDigits[n%36])
		n /= 36
	}
	return string(b)
}

const (
	digits      = "0123456789"
	lowerHex    = "0123456789abcdef"
	lowerDigits = "0123456789abcdefghijklmnopqrstuvwxyz"
	upperDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// chars returns n characters drawn from alphabet.
func (g *Generator) chars(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.f.IntN(len(alphabet))]
	}
	return string(b)
}

var (
	currencies       = []string{"USD", "EUR", "RUB", "KZT", "BYN", "UZS", "GBP", "TRY", "PLN"}
	providers        = []string{"wbpay", "wbpay", "wbpay", "paypal", "stripe", "yookassa"}
	banks            = []string{"alpha", "sber", "tinkoff", "vtb", "raiffeisen", "kaspi", "halyk"}
	locales          = []string{"en", "en", "ru", "ru", "de", "fr", "es", "kk", "tr", "pl"}
	deliveryServices = []string{"meest", "cdek", "dhl", "dpd", "boxberry", "pochta"}
	sizes            = []string{"0", "0", "XS", "S", "M", "L", "XL", "XXL", "38", "40", "42", "44"}
	statuses         = []int64{202, 202, 202, 202, 200, 201, 203}
)

// pick returns a random element of s; repeat an element to weight it.
func pick[T any](f *gofakeit.Faker, s []T) T { return s[f.IntN(len(s))] }
