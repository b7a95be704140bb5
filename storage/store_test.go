package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/orderd/orderd/order"
)

// eachStore runs f against every Store implementation; each Postgres run
// gets a fresh database of its own.
func eachStore(t *testing.T, f func(t *testing.T, s Store)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, openPostgres(t))
	})
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, NewMemory())
	})
}

func TestOutcome_String(t *testing.T) {
	f := func(o Outcome, want string) {
		t.Helper()
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", uint8(o), got, want)
		}
	}
	f(Inserted, "inserted")
	f(Duplicate, "duplicate")
	f(Conflict, "conflict")
	f(Refused, "refused")
	f(0, "outcome(0)") // never filled in: must not read as a success
}

func TestStore_SaveOrdersContract(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		n := 0
		// f saves setup, then batch, and checks batch's outcomes and what
		// ends up stored. Every case works on uids of its own.
		f := func(setup func(uid string) []Record, batch func(uid string) []Record, want []Outcome, stored func(uid string) Record) {
			t.Helper()
			n++
			uid := fmt.Sprintf("case-%d", n)
			if setup != nil {
				for _, r := range save(t, s, setup(uid)...) {
					if r.Outcome != Inserted {
						t.Fatalf("case %d setup: %v, want inserted", n, r.Outcome)
					}
				}
			}
			recs := batch(uid)
			res := save(t, s, recs...)
			if got := outcomes(res); !slices.Equal(got, want) {
				t.Errorf("case %d: outcomes %v, want %v", n, got, want)
			}
			for i, r := range res {
				switch r.Outcome {
				case Conflict:
					if !errors.Is(r.Err, ErrConflict) {
						t.Errorf("case %d: result %d: Err = %v, want ErrConflict", n, i, r.Err)
					}
				default:
					if r.Err != nil {
						t.Errorf("case %d: result %d (%v): Err = %v, want nil", n, i, r.Outcome, r.Err)
					}
				}
			}
			if stored != nil {
				want := stored(uid)
				got, err := s.OrderJSON(testContext(t), want.Order.OrderUID)
				if err != nil {
					t.Fatalf("case %d: OrderJSON: %v", n, err)
				}
				if !bytes.Equal(got, want.JSON) {
					t.Errorf("case %d: stored JSON\n%s\nwant\n%s", n, got, want.JSON)
				}
			}
		}
		model := func(uid string) Record { return rec(t, orderWith(t, uid, nil)) }
		other := func(uid string) Record { return rec(t, orderWith(t, uid, threeItems)) }
		third := func(uid string) Record {
			return rec(t, orderWith(t, uid, func(o *order.Order) { o.Delivery.City = "Haifa" }))
		}
		one := func(r func(string) Record) func(string) []Record {
			return func(uid string) []Record { return []Record{r(uid)} }
		}
		list := func(rs ...func(string) Record) func(string) []Record {
			return func(uid string) []Record {
				out := make([]Record, len(rs))
				for i, r := range rs {
					out[i] = r(uid)
				}
				return out
			}
		}

		// A new order is stored as given.
		f(nil, one(model), []Outcome{Inserted}, model)
		// Redelivery of a stored order changes nothing.
		f(one(model), one(model), []Outcome{Duplicate}, model)
		// A different order under a stored uid is not applied.
		f(one(model), one(other), []Outcome{Conflict}, model)
		// The same order twice in one batch: the second is a duplicate.
		f(nil, list(model, model), []Outcome{Inserted, Duplicate}, model)
		// Two versions in one batch: the first wins.
		f(nil, list(model, other), []Outcome{Inserted, Conflict}, model)
		// Later occurrences are judged against what is stored.
		f(nil, list(model, other, model, third), []Outcome{Inserted, Conflict, Duplicate, Conflict}, model)
		// The stored version reappearing after a conflicting one is a duplicate.
		f(one(model), list(other, model), []Outcome{Conflict, Duplicate}, model)
		// Two conflicting versions of a stored order.
		f(one(model), list(other, third, other), []Outcome{Conflict, Conflict, Conflict}, model)
		// New, stored-identical and stored-different orders mixed.
		f(one(model), func(uid string) []Record {
			return []Record{model(uid + "-new"), model(uid), other(uid), model(uid + "-new")}
		}, []Outcome{Inserted, Duplicate, Conflict, Duplicate}, func(uid string) Record { return model(uid + "-new") })
		// An empty batch is no error.
		f(nil, func(string) []Record { return nil }, []Outcome{}, nil)
	})
}

func TestStore_SaveOrdersCancelledStoresNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := s.SaveOrders(ctx, []Record{rec(t, orderWith(t, "cancelled", nil))})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("SaveOrders with a cancelled context: err = %v, want context.Canceled", err)
		}
		if res != nil {
			t.Errorf("SaveOrders with a cancelled context: results %v, want none", res)
		}
		if _, err := s.OrderJSON(testContext(t), "cancelled"); !errors.Is(err, ErrNotFound) {
			t.Errorf("OrderJSON after a cancelled save: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStore_OrderJSONNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		save(t, s, rec(t, orderWith(t, "present", nil)))
		got, err := s.OrderJSON(testContext(t), "absent")
		if !errors.Is(err, ErrNotFound) || got != nil {
			t.Errorf("OrderJSON(absent) = %q, %v; want nil, ErrNotFound", got, err)
		}
	})
}

func TestStore_EachOrderJSONInInsertionOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		// Insertion order, not uid order; duplicates and conflicts add nothing.
		var want []Record
		for _, batch := range [][]string{{"c", "a", "b"}, {"a", "e", "d"}, {"b"}} {
			var recs []Record
			for _, uid := range batch {
				r := rec(t, orderWith(t, uid, nil))
				recs = append(recs, r)
				if !slices.ContainsFunc(want, func(w Record) bool { return w.Order.OrderUID == uid }) {
					want = append(want, r)
				}
			}
			save(t, s, recs...)
		}

		var got []string
		err := s.EachOrderJSON(testContext(t), func(uid string, json []byte) error {
			i := len(got)
			got = append(got, uid)
			if i < len(want) && !bytes.Equal(json, want[i].JSON) {
				t.Errorf("order %q: JSON\n%s\nwant\n%s", uid, json, want[i].JSON)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("EachOrderJSON: %v", err)
		}
		if !slices.Equal(got, []string{"c", "a", "b", "e", "d"}) {
			t.Errorf("EachOrderJSON visited %v, want [c a b e d]", got)
		}

		// fn's error stops the iteration and is returned as is.
		stop := errors.New("stop")
		calls := 0
		err = s.EachOrderJSON(testContext(t), func(string, []byte) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 2 {
			t.Errorf("EachOrderJSON with fn failing on call 2: err %v after %d calls, want %v after 2", err, calls, stop)
		}
	})
}

func TestStore_Ping(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		if err := s.Ping(testContext(t)); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}
