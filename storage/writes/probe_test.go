package writes_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/postgres"
	"github.com/orderd/orderd/storage/writes"
)

func exec(t *testing.T, p *postgres.Store, sql string) {
	t.Helper()
	if _, err := p.Pool().Exec(storetest.Context(t), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func batch(t *testing.T, prefix string, n int) []storage.Record {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("%s-%02d", prefix, i), nil))
	}
	return recs
}

// A schema that refuses every order is nobody's order's fault: SaveOrders
// fails with writes.ErrSchema, naming what PostgreSQL said, condemns nothing and
// stores nothing; once the schema is fixed, the same batch is stored.
// Batches of one are judged alike, in an empty database (a sample order is
// the probe) and in a populated one (a copy of the newest order is).
func TestPostgres_SchemaThatRefusesEveryOrderIsNotBlamedOnThem(t *testing.T) {
	f := func(name, breakIt, fixIt, wantInErr string, stored int) {
		t.Run(name, func(t *testing.T) {
			p := openPostgres(t)
			if stored > 0 {
				storetest.Save(t, p, batch(t, "before", stored)...)
			}
			exec(t, p, breakIt)
			for _, n := range []int{10, 1} {
				recs := batch(t, fmt.Sprintf("during-%d", n), n)
				res, err := p.SaveOrders(storetest.Context(t), recs)
				if !errors.Is(err, writes.ErrSchema) || !strings.Contains(err.Error(), wantInErr) {
					t.Fatalf("batch of %d: SaveOrders = %v, %v; want writes.ErrSchema naming %q", n, res, err, wantInErr)
				}
			}
			if got := count(t, p, "SELECT count(*) FROM orders"); got != stored {
				t.Fatalf("%d orders stored while the schema refused them all, want %d", got, stored)
			}
			exec(t, p, fixIt)
			for i, r := range storetest.Save(t, p, batch(t, "during-10", 10)...) {
				if r.Outcome != storage.Inserted {
					t.Fatalf("after the fix, record %d: %+v", i, r)
				}
			}
		})
	}
	f("check that no item passes, empty database",
		`ALTER TABLE items ADD CONSTRAINT no_items CHECK (false) NOT VALID`,
		`ALTER TABLE items DROP CONSTRAINT no_items`, `constraint no_items`, 0)
	f("check that no item passes",
		`ALTER TABLE items ADD CONSTRAINT no_items CHECK (false) NOT VALID`,
		`ALTER TABLE items DROP CONSTRAINT no_items`, `constraint no_items`, 3)
	f("not null column without a default",
		`ALTER TABLE payments ADD COLUMN vat text NOT NULL DEFAULT 'x'; ALTER TABLE payments ALTER COLUMN vat DROP DEFAULT`,
		`ALTER TABLE payments DROP COLUMN vat`, `SQLSTATE 23502`, 3)
	f("trigger that raises for every row",
		`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'orders are frozen'; END $$;
		 CREATE TRIGGER frozen_orders BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse()`,
		`DROP TRIGGER frozen_orders ON deliveries`, `orders are frozen`, 3)
}

// A schema rule that only some orders break condemns those orders alone,
// even when several share a batch, and even when the rule is a uniqueness
// a copy of a stored order would break by construction.
func TestPostgres_SchemaRuleSomeOrdersBreakCondemnsOnlyThem(t *testing.T) {
	p := openPostgres(t)
	storetest.Save(t, p, batch(t, "before", 3)...)
	// The newest stored order, which the probe copies, has a value a new
	// unique index holds: the probe is refused by construction.
	taken := func(o *order.Order) { o.Delivery.Email = "taken@unique.test" }
	storetest.Save(t, p, storetest.Rec(t, storetest.OrderWith(t, "before-taken", taken)))
	exec(t, p, `CREATE UNIQUE INDEX one_order_per_email ON deliveries (email) WHERE email LIKE '%@unique.test'`)
	exec(t, p, `CREATE FUNCTION no_vip() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.name = 'VIP' THEN RAISE EXCEPTION 'no VIPs'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER no_vip BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION no_vip()`)

	recs := batch(t, "mixed", 6)
	vip := func(o *order.Order) { o.Delivery.Name = "VIP" }
	recs[1] = storetest.Rec(t, storetest.OrderWith(t, "mixed-vip-1", vip))
	recs[4] = storetest.Rec(t, storetest.OrderWith(t, "mixed-vip-4", vip))
	recs[5] = storetest.Rec(t, storetest.OrderWith(t, "mixed-taken", taken)) // unique_violation: this order's fault
	res := storetest.Save(t, p, recs...)
	for i, r := range res {
		switch i {
		case 1, 4:
			wantRefused(t, r, "P0001")
		case 5:
			wantRefused(t, r, "23505")
		default:
			if r.Outcome != storage.Inserted {
				t.Errorf("record %d: %+v, want inserted", i, r)
			}
		}
	}
}

// A newest stored order that no longer decodes (stored under other rules)
// must not fail the probe, or the batch would be retried for good: the
// built-in sample stands in for it.
func TestPostgres_ProbeFallsBackToTheSampleWhenTheStoredOrderDoesNotDecode(t *testing.T) {
	p := openPostgres(t)
	storetest.Save(t, p, batch(t, "before", 2)...)
	exec(t, p, `UPDATE orders SET doc = '{"order_uid": 1}' WHERE id = (SELECT max(id) FROM orders)`)
	exec(t, p, `CREATE FUNCTION no_vip() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.name = 'VIP' THEN RAISE EXCEPTION 'no VIPs'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER no_vip BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION no_vip()`)

	recs := batch(t, "after", 3)
	recs[1] = storetest.Rec(t, storetest.OrderWith(t, "after-vip", func(o *order.Order) { o.Delivery.Name = "VIP" }))
	res := storetest.Save(t, p, recs...)
	wantRefused(t, res[1], "P0001")
	for _, i := range []int{0, 2} {
		if res[i].Outcome != storage.Inserted {
			t.Errorf("record %d: %+v, want inserted", i, res[i])
		}
	}
}
