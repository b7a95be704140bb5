package writes_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/postgres"
)

func TestPostgres_SaveOrdersInsertsEveryTable(t *testing.T) {
	p := openPostgres(t)
	o := storetest.OrderWith(t, "b563feb7b2b84b6test", nil)
	r := storetest.Rec(t, o)
	if got := storetest.Outcomes(storetest.Save(t, p, r)); !slices.Equal(got, []storage.Outcome{storage.Inserted}) {
		t.Fatalf("outcomes %v, want [inserted]", got)
	}
	ctx := storetest.Context(t)

	var (
		got     order.Order
		created time.Time
		id      int64
		doc     []byte
	)
	err := p.Pool().QueryRow(ctx, `
SELECT order_uid, track_number, entry, locale, internal_signature, customer_id, delivery_service,
       shardkey, sm_id, date_created, oof_shard, id, doc FROM orders`).Scan(
		&got.OrderUID, &got.TrackNumber, &got.Entry, &got.Locale, &got.InternalSignature, &got.CustomerID,
		&got.DeliveryService, &got.Shardkey, &got.SmID, &created, &got.OofShard, &id, &doc)
	if err != nil {
		t.Fatalf("read orders row: %v", err)
	}
	got.DateCreated = o.DateCreated // checked as a time below
	err = p.Pool().QueryRow(ctx, `
SELECT name, phone, zip, city, address, region, email FROM deliveries WHERE order_uid = $1`, o.OrderUID).Scan(
		&got.Delivery.Name, &got.Delivery.Phone, &got.Delivery.Zip, &got.Delivery.City,
		&got.Delivery.Address, &got.Delivery.Region, &got.Delivery.Email)
	if err != nil {
		t.Fatalf("read deliveries row: %v", err)
	}
	err = p.Pool().QueryRow(ctx, `
SELECT transaction, request_id, currency, provider, amount, payment_dt, bank, delivery_cost, goods_total, custom_fee
FROM payments WHERE order_uid = $1`, o.OrderUID).Scan(
		&got.Payment.Transaction, &got.Payment.RequestID, &got.Payment.Currency, &got.Payment.Provider,
		&got.Payment.Amount, &got.Payment.PaymentDt, &got.Payment.Bank, &got.Payment.DeliveryCost,
		&got.Payment.GoodsTotal, &got.Payment.CustomFee)
	if err != nil {
		t.Fatalf("read payments row: %v", err)
	}
	rows, err := p.Pool().Query(ctx, `
SELECT position, chrt_id, track_number, price, rid, name, sale, size, total_price, nm_id, brand, status
FROM items WHERE order_uid = $1 ORDER BY position`, o.OrderUID)
	if err != nil {
		t.Fatalf("read items: %v", err)
	}
	for rows.Next() {
		var pos int
		var it order.Item
		if err := rows.Scan(&pos, &it.ChrtID, &it.TrackNumber, &it.Price, &it.Rid, &it.Name, &it.Sale,
			&it.Size, &it.TotalPrice, &it.NmID, &it.Brand, &it.Status); err != nil {
			t.Fatalf("scan item: %v", err)
		}
		if pos != len(got.Items) {
			t.Errorf("item position %d, want %d", pos, len(got.Items))
		}
		got.Items = append(got.Items, it)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read items: %v", err)
	}

	gotJSON := storetest.Rec(t, &got).JSON
	if !bytes.Equal(gotJSON, r.JSON) {
		t.Errorf("columns read back as\n%s\nwant\n%s", gotJSON, r.JSON)
	}
	if want := time.Date(2021, 11, 26, 6, 22, 19, 0, time.UTC); !created.Equal(want) {
		t.Errorf("date_created %v, want %v", created, want)
	}
	if !bytes.Equal(doc, r.JSON) {
		t.Errorf("doc\n%s\nwant byte-exact\n%s", doc, r.JSON)
	}
	if id <= 0 {
		t.Errorf("id %d, want a positive identity", id)
	}
	for table, want := range map[string]int{"orders": 1, "deliveries": 1, "payments": 1, "items": 1} {
		if n := count(t, p, "SELECT count(*) FROM "+table); n != want {
			t.Errorf("%s holds %d rows, want %d", table, n, want)
		}
	}
}

func TestPostgres_SaveOrdersKeepsDocByteExact(t *testing.T) {
	p := openPostgres(t)
	// Not what encoding/json would write: spaces, key order, escapes. The doc
	// column must hand back exactly these bytes.
	o := storetest.OrderWith(t, "spaced", nil)
	doc := []byte(`{ "order_uid" : "spaced",  "name": "caf\u00e9",` + "\n" + `"z": 1, "a": 2 }`)
	storetest.Save(t, p, storage.Record{Order: o, JSON: doc})
	got, err := p.OrderJSON(storetest.Context(t), "spaced")
	if err != nil || !bytes.Equal(got, doc) {
		t.Errorf("OrderJSON = %q, %v; want %q", got, err, doc)
	}
}

// snapshot is what must not change when a save is a no-op.
type snapshot struct {
	rows     [4]int
	id       int64
	storedAt time.Time
	doc      string
	city     string
}

func takeSnapshot(t *testing.T, p *postgres.Store, uid string) snapshot {
	t.Helper()
	var s snapshot
	for i, table := range []string{"orders", "deliveries", "payments", "items"} {
		s.rows[i] = count(t, p, "SELECT count(*) FROM "+table)
	}
	err := p.Pool().QueryRow(storetest.Context(t), `
SELECT o.id, o.stored_at, o.doc, d.city FROM orders o JOIN deliveries d USING (order_uid) WHERE order_uid = $1`,
		uid).Scan(&s.id, &s.storedAt, &s.doc, &s.city)
	if err != nil {
		t.Fatalf("snapshot %q: %v", uid, err)
	}
	return s
}

func TestPostgres_SaveOrdersDuplicateChangesNothing(t *testing.T) {
	p := openPostgres(t)
	r := storetest.Rec(t, storetest.OrderWith(t, "dup", nil))
	storetest.Save(t, p, r)
	before := takeSnapshot(t, p, "dup")
	time.Sleep(10 * time.Millisecond) // a rewritten row would get a later stored_at
	res := storetest.Save(t, p, r)
	if res[0].Outcome != storage.Duplicate || res[0].Err != nil {
		t.Fatalf("second save: %+v, want duplicate", res[0])
	}
	if after := takeSnapshot(t, p, "dup"); after != before {
		t.Errorf("duplicate save changed the order:\n%+v\nwas\n%+v", after, before)
	}
}

func TestPostgres_SaveOrdersConflictAddsNoChildRows(t *testing.T) {
	p := openPostgres(t)
	storetest.Save(t, p, storetest.Rec(t, storetest.OrderWith(t, "conflict", nil)))
	before := takeSnapshot(t, p, "conflict")
	// Three items (the stored order has one) and another city: were the
	// child rows of the conflicting order inserted, items would grow to 3.
	other := storetest.Rec(t, storetest.OrderWith(t, "conflict", func(o *order.Order) {
		storetest.ThreeItems(o)
		o.Delivery.City = "Haifa"
	}))
	res := storetest.Save(t, p, other)
	if res[0].Outcome != storage.Conflict || !errors.Is(res[0].Err, storage.ErrConflict) {
		t.Fatalf("conflicting save: %+v, want conflict wrapping ErrConflict", res[0])
	}
	if after := takeSnapshot(t, p, "conflict"); after != before {
		t.Errorf("conflicting save changed the stored order:\n%+v\nwas\n%+v", after, before)
	}
	if n := count(t, p, "SELECT count(*) FROM items WHERE order_uid = 'conflict'"); n != 1 {
		t.Errorf("stored order has %d items, want 1", n)
	}

	// Amid new orders, the conflicting one adds no child rows either, and
	// the batch needs no bisection: all of it commits in one transaction.
	res = storetest.Save(t, p, storetest.Rec(t, storetest.OrderWith(t, "new-a", nil)), other, storetest.Rec(t, storetest.OrderWith(t, "new-b", nil)))
	if got := storetest.Outcomes(res); !slices.Equal(got, []storage.Outcome{storage.Inserted, storage.Conflict, storage.Inserted}) {
		t.Fatalf("mixed batch: %v, want [inserted conflict inserted]", got)
	}
	if n := count(t, p, "SELECT count(*) FROM items WHERE order_uid = 'conflict'"); n != 1 {
		t.Errorf("stored order has %d items after the mixed batch, want 1", n)
	}
	if n := count(t, p, "SELECT count(DISTINCT stored_at) FROM orders WHERE order_uid IN ('new-a', 'new-b')"); n != 1 {
		t.Errorf("the mixed batch was stored in %d transactions, want 1", n)
	}
}

// wantRefused checks that r is Refused with a PostgreSQL error of code.
func wantRefused(t *testing.T, r storage.Result, code string) {
	t.Helper()
	var pgErr *pgconn.PgError
	switch {
	case r.Outcome != storage.Refused:
		t.Errorf("outcome %v (%v), want refused", r.Outcome, r.Err)
	case !errors.Is(r.Err, storage.ErrRefused):
		t.Errorf("Err %v does not wrap ErrRefused", r.Err)
	case !errors.As(r.Err, &pgErr) || pgErr.Code != code:
		t.Errorf("Err %v: want a PgError with SQLSTATE %s", r.Err, code)
	case !strings.Contains(r.Err.Error(), code):
		t.Errorf("Err %q does not name SQLSTATE %s", r.Err, code)
	}
}

// storedUIDs returns the order_uids present in table.
func storedUIDs(t *testing.T, p *postgres.Store, table string) []string {
	t.Helper()
	rows, err := p.Pool().Query(storetest.Context(t), "SELECT DISTINCT order_uid FROM "+table+" ORDER BY 1")
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	var uids []string
	for rows.Next() {
		var uid string
		if err := rows.Scan(&uid); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		uids = append(uids, uid)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	return uids
}

func TestPostgres_SaveOrdersIsolatesRefusedRecords(t *testing.T) {
	p := openPostgres(t)
	recs := make([]storage.Record, 100)
	var want []string
	for i := range recs {
		uid := fmt.Sprintf("order-%03d", i)
		recs[i] = storetest.Rec(t, storetest.OrderWith(t, uid, func(o *order.Order) {
			switch i {
			case 37:
				o.Delivery.City = "Kiryat\x00Mozkin" // 22021: text cannot hold NUL
			case 80:
				o.Items[0].Sale = 101 // 23514: items_sale_check
			}
		}))
		if i != 37 && i != 80 {
			want = append(want, uid)
		}
	}
	res := storetest.Save(t, p, recs...)
	for i, r := range res {
		switch i {
		case 37:
			wantRefused(t, r, "22021")
		case 80:
			wantRefused(t, r, "23514")
			if !strings.Contains(r.Err.Error(), "items_sale_check") {
				t.Errorf("record 80: Err %q does not name the constraint", r.Err)
			}
		default:
			if r.Outcome != storage.Inserted || r.Err != nil {
				t.Errorf("record %d: %+v, want inserted", i, r)
			}
		}
	}
	for _, table := range []string{"orders", "deliveries", "payments", "items"} {
		if got := storedUIDs(t, p, table); !slices.Equal(got, want) {
			t.Errorf("%s holds %d orders, want the 98 accepted ones (%v)", table, len(got), got)
		}
	}
}

func TestPostgres_SaveOrdersAllRefused(t *testing.T) {
	p := openPostgres(t)
	f := func(edit func(o *order.Order), code string) {
		t.Helper()
		uid := fmt.Sprintf("refused-%s-%d", code, count(t, p, "SELECT 0"))
		r := storetest.Rec(t, storetest.OrderWith(t, uid, edit))
		res := storetest.Save(t, p, r, r) // the later identical copy shares the verdict
		wantRefused(t, res[0], code)
		wantRefused(t, res[1], code)
	}
	// NUL in a column of orders itself (the first statement).
	f(func(o *order.Order) { o.TrackNumber = "WB\x00" }, "22021")
	// Invalid UTF-8.
	f(func(o *order.Order) { o.Items[0].Name = "\xff\xfe" }, "22021")
	// CHECK constraints of payments and items.
	f(func(o *order.Order) { o.Payment.Amount = -1 }, "23514")
	f(func(o *order.Order) { o.Items[0].Price = -5 }, "23514")
	// An order_uid too large (and too random to compress) for the primary
	// key's index: 54000, this order's fault.
	f(func(o *order.Order) {
		rnd := rand.New(rand.NewPCG(1, 2))
		uid := make([]byte, 9000)
		for i := range uid {
			uid[i] = 'a' + byte(rnd.IntN(26))
		}
		o.OrderUID = string(uid)
	}, "54000")

	// A whole batch of refused records: bisection ends with each alone.
	var recs []storage.Record
	for i := range 9 {
		recs = append(recs, storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("bad-%d", i), func(o *order.Order) {
			o.Payment.CustomFee = -int64(i) - 1
		})))
	}
	for i, r := range storetest.Save(t, p, recs...) {
		if r.Outcome != storage.Refused {
			t.Errorf("record %d: %v, want refused", i, r.Outcome)
		}
	}
	for _, table := range []string{"orders", "deliveries", "payments", "items"} {
		if n := count(t, p, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%s holds %d rows after only refused records, want 0", table, n)
		}
	}
}

func TestPostgres_SaveOrdersRefusedFirstOccurrence(t *testing.T) {
	p := openPostgres(t)
	bad := storetest.Rec(t, storetest.OrderWith(t, "twice", func(o *order.Order) { o.Delivery.Email = "a\x00b" }))
	good := storetest.Rec(t, storetest.OrderWith(t, "twice", nil))
	// The first occurrence cannot be stored, so nothing is stored under its
	// uid when the next one comes: that one is stored.
	res := storetest.Save(t, p, bad, good, good)
	wantRefused(t, res[0], "22021")
	if got := storetest.Outcomes(res[1:]); !slices.Equal(got, []storage.Outcome{storage.Inserted, storage.Duplicate}) {
		t.Errorf("later occurrences: %v, want [inserted duplicate]", got)
	}
	if doc, err := p.OrderJSON(storetest.Context(t), "twice"); err != nil || !bytes.Equal(doc, good.JSON) {
		t.Errorf("stored %q, %v; want the valid occurrence", doc, err)
	}
}

func TestPostgres_SaveOrdersRefusesUnparsableDate(t *testing.T) {
	p := openPostgres(t)
	bad := storetest.Rec(t, storetest.OrderWith(t, "bad-date", func(o *order.Order) { o.DateCreated = "26.11.2021" }))
	good := storetest.Rec(t, storetest.OrderWith(t, "good-date", func(o *order.Order) { o.DateCreated = "2021-11-26T09:22:19.123456+03:00" }))
	res := storetest.Save(t, p, bad, good)
	if res[0].Outcome != storage.Refused || !errors.Is(res[0].Err, storage.ErrRefused) || !strings.Contains(res[0].Err.Error(), "date_created") {
		t.Errorf("unparsable date: %+v, want refused naming date_created", res[0])
	}
	if res[1].Outcome != storage.Inserted {
		t.Errorf("valid neighbour: %+v, want inserted", res[1])
	}
	var created time.Time
	if err := p.Pool().QueryRow(storetest.Context(t), "SELECT date_created FROM orders WHERE order_uid = 'good-date'").Scan(&created); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2021, 11, 26, 6, 22, 19, 123456000, time.UTC); !created.Equal(want) {
		t.Errorf("date_created %v, want %v", created, want)
	}
	if n := count(t, p, "SELECT count(*) FROM orders"); n != 1 {
		t.Errorf("orders holds %d rows, want 1", n)
	}
}

func TestPostgres_SaveOrdersTransientFailureReturnsError(t *testing.T) {
	p := openPostgres(t)
	// An operator problem, no order's fault: it must fail the whole batch,
	// never refuse (and so dead-letter) good orders.
	if _, err := p.Pool().Exec(storetest.Context(t), "DROP TABLE items"); err != nil {
		t.Fatal(err)
	}
	res, err := p.SaveOrders(storetest.Context(t), []storage.Record{storetest.Rec(t, storetest.OrderWith(t, "a", nil)), storetest.Rec(t, storetest.OrderWith(t, "b", nil))})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" {
		t.Errorf("SaveOrders without the items table: err = %v, want SQLSTATE 42P01", err)
	}
	if res != nil {
		t.Errorf("SaveOrders failed but returned results %v", res)
	}
	if n := count(t, p, "SELECT count(*) FROM orders"); n != 0 {
		t.Errorf("orders holds %d rows after a failed batch, want 0", n)
	}
}
