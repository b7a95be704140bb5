package order

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/orderd/orderd/order/internal/fieldpath"
	"github.com/orderd/orderd/order/internal/formats"
	"github.com/orderd/orderd/order/internal/rfc3339"
)

// Validate returns nil if o obeys the business rules below, or a
// *ValidationError listing the violations in struct field order (the first
// MaxViolations of them, then a count of the rest). The rules:
//
//   - order_uid is 1 to 64 characters, each of A-Z a-z 0-9 _ - (ValidUID).
//   - Every string is valid UTF-8 without NUL (U+0000), which PostgreSQL
//     text cannot store, and at most 1024 bytes long (order_uid: 64).
//   - Every string is non-empty, except payment.request_id and
//     internal_signature.
//   - delivery.phone is an optional + and 7 to 15 digits, nothing else
//     (the E.164 shape).
//   - delivery.email has exactly one @, a non-empty local part, a domain of
//     at least two non-empty dot-separated labels, and no white space. This
//     is a pragmatic check that catches garbage; RFC 5322 allows more, and
//     whether the mailbox exists is for the mail server to say.
//   - payment.transaction equals order_uid.
//   - payment.currency is three upper-case ASCII letters (the ISO 4217 shape).
//   - These integers are not negative: sm_id; payment.amount, payment_dt,
//     delivery_cost, goods_total, custom_fee; items[i].chrt_id, price,
//     total_price, nm_id, status.
//   - payment.amount = goods_total + delivery_cost + custom_fee.
//   - payment.goods_total = the sum of items[i].total_price.
//   - Both sums are computed without wrapping: one that overflows int64 is
//     a violation.
//   - There is at least 1 item and at most 1000.
//   - items[i].track_number equals track_number.
//   - items[i].sale is between 0 and 100 (percent).
//   - date_created is an RFC 3339 timestamp such as 2021-11-26T06:22:19Z or
//     2021-11-26T09:22:19.5+03:00: upper-case T and Z, a fraction of at most
//     nine digits (see CreatedAt).
//
// Decode has already made sure that every key is present with the right JSON
// type; Validate does not repeat that, and it accepts any Order value.
//
// It does not allocate for a valid order: it runs once per message, and
// violation messages are built only when there is a violation.
func Validate(o *Order) error {
	var c checker
	if !ValidUID(o.OrderUID) {
		c.addf(fieldpath.TopLevel("order_uid"), "must be 1-%d characters of A-Z a-z 0-9 _ -, got %s",
			MaxUIDLen, quote(o.OrderUID))
	}
	c.text(fieldpath.TopLevel("track_number"), o.TrackNumber, required)
	c.text(fieldpath.TopLevel("entry"), o.Entry, required)
	c.delivery(&o.Delivery)
	c.payment(o)
	c.items(o)
	c.text(fieldpath.TopLevel("locale"), o.Locale, required)
	c.text(fieldpath.TopLevel("internal_signature"), o.InternalSignature, optional)
	c.text(fieldpath.TopLevel("customer_id"), o.CustomerID, required)
	c.text(fieldpath.TopLevel("delivery_service"), o.DeliveryService, required)
	c.text(fieldpath.TopLevel("shardkey"), o.Shardkey, required)
	c.nonNegative(fieldpath.TopLevel("sm_id"), o.SmID)
	if _, ok := rfc3339.Parse(o.DateCreated); !ok {
		c.addf(fieldpath.TopLevel("date_created"), "must be an RFC 3339 timestamp such as 2021-11-26T06:22:19Z, got %s",
			quote(o.DateCreated))
	}
	c.text(fieldpath.TopLevel("oof_shard"), o.OofShard, required)
	return c.result()
}

// Limits of the rules Validate enforces. They are part of the contract with
// producers.
const (
	// MaxUIDLen is the longest order_uid, in bytes.
	MaxUIDLen = 64
	// MaxStringLen is the longest any other string may be, in bytes.
	MaxStringLen = 1024
	// MaxItems is the most items an order may have.
	MaxItems = 1000
	// MaxViolations is the most violations a ValidationError lists before
	// one last entry that counts the rest.
	MaxViolations = 20
)

func (c *checker) delivery(d *Delivery) {
	at := func(key string) fieldpath.Path { return fieldpath.Nested("delivery", key) }
	c.text(at("name"), d.Name, required)
	if c.text(at("phone"), d.Phone, required) && !formats.Phone(d.Phone) {
		c.addf(at("phone"), "must be an optional + and 7-15 digits, got %s", quote(d.Phone))
	}
	c.text(at("zip"), d.Zip, required)
	c.text(at("city"), d.City, required)
	c.text(at("address"), d.Address, required)
	c.text(at("region"), d.Region, required)
	if c.text(at("email"), d.Email, required) && !formats.Email(d.Email) {
		c.addf(at("email"), "must be an email address like name@example.com, got %s", quote(d.Email))
	}
}

func (c *checker) payment(o *Order) {
	p := &o.Payment
	at := func(key string) fieldpath.Path { return fieldpath.Nested("payment", key) }
	if c.text(at("transaction"), p.Transaction, required) && p.Transaction != o.OrderUID {
		c.addf(at("transaction"), "must equal order_uid %s, got %s", quote(o.OrderUID), quote(p.Transaction))
	}
	c.text(at("request_id"), p.RequestID, optional)
	if c.text(at("currency"), p.Currency, required) && !formats.Currency(p.Currency) {
		c.addf(at("currency"), "must be three upper-case letters (ISO 4217), got %s", quote(p.Currency))
	}
	c.text(at("provider"), p.Provider, required)
	if c.nonNegative(at("amount"), p.Amount) {
		sum, ok := checkedAdd(p.GoodsTotal, p.DeliveryCost)
		if ok {
			sum, ok = checkedAdd(sum, p.CustomFee)
		}
		c.equalSum(at("amount"), p.Amount, sum, ok, "goods_total + delivery_cost + custom_fee")
	}
	c.nonNegative(at("payment_dt"), p.PaymentDt)
	c.text(at("bank"), p.Bank, required)
	c.nonNegative(at("delivery_cost"), p.DeliveryCost)
	if c.nonNegative(at("goods_total"), p.GoodsTotal) {
		var sum int64
		ok := true
		for i := 0; i < len(o.Items) && ok; i++ {
			sum, ok = checkedAdd(sum, o.Items[i].TotalPrice)
		}
		c.equalSum(at("goods_total"), p.GoodsTotal, sum, ok, "the sum of items[].total_price")
	}
	c.nonNegative(at("custom_fee"), p.CustomFee)
}

// tooManyItems is the problem of an order of n items, n > MaxItems: the
// decoder says it too, before it builds them.
func tooManyItems(n int) string {
	return "must have at most " + strconv.Itoa(MaxItems) + " items, got " + strconv.Itoa(n)
}

func (c *checker) items(o *Order) {
	switch n := len(o.Items); {
	case n == 0:
		c.add(fieldpath.TopLevel("items"), "must have at least 1 item")
	case n > MaxItems:
		c.add(fieldpath.TopLevel("items"), tooManyItems(n))
	}
	for i := range o.Items {
		it := &o.Items[i]
		at := func(key string) fieldpath.Path { return fieldpath.ItemKey(i, key) }
		c.nonNegative(at("chrt_id"), it.ChrtID)
		if c.text(at("track_number"), it.TrackNumber, required) && it.TrackNumber != o.TrackNumber {
			c.addf(at("track_number"), "must equal track_number %s, got %s", quote(o.TrackNumber), quote(it.TrackNumber))
		}
		c.nonNegative(at("price"), it.Price)
		c.text(at("rid"), it.Rid, required)
		c.text(at("name"), it.Name, required)
		if it.Sale < 0 || it.Sale > 100 {
			c.addf(at("sale"), "must be between 0 and 100, got %d", it.Sale)
		}
		c.text(at("size"), it.Size, required)
		c.nonNegative(at("total_price"), it.TotalPrice)
		c.nonNegative(at("nm_id"), it.NmID)
		c.text(at("brand"), it.Brand, required)
		c.nonNegative(at("status"), it.Status)
	}
}

// checker collects violations. It allocates nothing until the first one.
type checker struct {
	err  *ValidationError
	more int // violations found after the first MaxViolations
}

const (
	required = true
	optional = false
)

// text applies the rules every string obeys, and with nonEmpty (required)
// forbids "". It reports whether s passed, so that a format rule runs only
// on a string worth quoting.
func (c *checker) text(at fieldpath.Path, s string, nonEmpty bool) bool {
	switch {
	case s == "":
		if !nonEmpty {
			return true
		}
		c.add(at, "must not be empty")
	case len(s) > MaxStringLen:
		c.addf(at, "must be at most %d bytes, got %d", MaxStringLen, len(s))
	case !utf8.ValidString(s):
		c.add(at, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		c.add(at, "must not contain NUL (U+0000)")
	default:
		return true
	}
	return false
}

// equalSum checks that got equals sum, the sum named by what, computed with
// checkedAdd: ok is false when it overflowed, which no value can match.
func (c *checker) equalSum(at fieldpath.Path, got, sum int64, ok bool, what string) {
	switch {
	case !ok:
		c.add(at, "must equal "+what+", which overflows int64")
	case got != sum:
		c.addf(at, "must equal %s = %d, got %d", what, sum, got)
	}
}

func (c *checker) nonNegative(at fieldpath.Path, n int64) bool {
	if n < 0 {
		c.addf(at, "must not be negative, got %d", n)
		return false
	}
	return true
}

// addf adds a violation whose rule is formatted, formatting it only if it
// will be listed: an order with a million bad items must not cost a
// million messages.
func (c *checker) addf(at fieldpath.Path, format string, args ...any) {
	if c.full() {
		c.more++
		return
	}
	c.add(at, fmt.Sprintf(format, args...))
}

func (c *checker) add(at fieldpath.Path, rule string) {
	if c.full() {
		c.more++
		return
	}
	if c.err == nil {
		c.err = &ValidationError{}
	}
	c.err.Violations = append(c.err.Violations, Violation{Field: at.String(), Rule: rule})
}

func (c *checker) full() bool { return c.err != nil && len(c.err.Violations) == MaxViolations }

func (c *checker) result() error {
	if c.err == nil {
		return nil
	}
	if c.more > 0 {
		c.err.Violations = append(c.err.Violations, Violation{
			Field: "...", Rule: strconv.Itoa(c.more) + " more violations",
		})
	}
	return c.err
}

// quote quotes a value for a violation message, cut to 64 bytes so a
// megabyte-long field does not end up in every log line and DLQ header.
func quote(s string) string {
	const limit = 64
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// ValidUID reports whether s can be an order_uid: 1 to MaxUIDLen characters,
// each an ASCII letter, a digit, '_' or '-'.
//
// The HTTP layer calls it on every request to turn away ids that cannot
// name an order before they reach the cache or the database, so it neither
// allocates nor uses regexp.
func ValidUID(s string) bool {
	if len(s) == 0 || len(s) > MaxUIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkedAdd returns a+b and whether it did not overflow int64. Money sums
// use it so that a hostile order cannot make a wrapped total match.
func checkedAdd(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened if a and b have the same sign and s has the other.
	return s, (a^s)&(b^s) >= 0
}
