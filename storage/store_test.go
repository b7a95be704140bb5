package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
		err := s.EachOrderJSON(testContext(t), 1, func(uid string, json []byte) error {
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
		err = s.EachOrderJSON(testContext(t), 1, func(string, []byte) error {
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

// Read by several streams at once, every order is visited once, and each
// stream visits its own orders oldest first.
func TestStore_EachOrderJSONInStreams(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		var recs []Record
		for i := range 301 {
			recs = append(recs, rec(t, orderWith(t, fmt.Sprintf("stream-%03d", i), nil)))
		}
		save(t, s, recs...)
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			runs [][]int // each stream's indexes into recs, in the order visited
			last = map[int]int{}
		)
		err := s.EachOrderJSON(testContext(t), WarmUpStreams, func(uid string, json []byte) error {
			var i int
			if _, err := fmt.Sscanf(uid, "stream-%d", &i); err != nil {
				return err
			}
			if !bytes.Equal(json, recs[i].JSON) {
				t.Errorf("order %s: the wrong JSON", uid)
			}
			mu.Lock()
			defer mu.Unlock()
			seen[uid]++
			// A stream's next order is the one after its last.
			r, ok := last[i-1]
			if !ok {
				r = len(runs)
				runs = append(runs, nil)
			}
			delete(last, i-1)
			last[i] = r
			runs[r] = append(runs[r], i)
			return nil
		})
		if err != nil {
			t.Fatalf("EachOrderJSON: %v", err)
		}
		for _, r := range recs {
			if n := seen[r.Order.OrderUID]; n != 1 {
				t.Errorf("order %s visited %d times, want once", r.Order.OrderUID, n)
			}
		}
		if len(runs) > WarmUpStreams {
			t.Errorf("orders came in %d ascending runs, want at most %d (one per stream)", len(runs), WarmUpStreams)
		}
	})
}

// The estimate of an empty store is zero; of a full one, its orders and
// their bytes, before and after the planner has statistics.
func TestStore_EstimateOrders(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store) {
		if e, err := s.EstimateOrders(testContext(t)); err != nil || e != (Estimate{}) {
			t.Fatalf("EstimateOrders of an empty store = %+v, %v; want zero", e, err)
		}
		var (
			recs []Record
			want Estimate
		)
		for i := range 500 {
			r := rec(t, orderWith(t, fmt.Sprintf("estimate-%03d", i), nil))
			recs = append(recs, r)
			want.Orders++
			want.Bytes += int64(len(r.Order.OrderUID) + len(r.JSON))
		}
		save(t, s, recs...)
		check := func(when string) {
			t.Helper()
			e, err := s.EstimateOrders(testContext(t))
			if err != nil {
				t.Fatalf("EstimateOrders %s: %v", when, err)
			}
			// The newest thousand are all of them, so the size is exact
			// but for rounding.
			if e.Orders != want.Orders || e.Bytes < want.Bytes || e.Bytes > want.Bytes+want.Orders {
				t.Errorf("EstimateOrders %s = %+v, want %+v", when, e, want)
			}
		}
		check("before ANALYZE")
		if p, ok := s.(*Postgres); ok {
			if _, err := p.bulk.Exec(testContext(t), "ANALYZE orders"); err != nil {
				t.Fatal(err)
			}
			check("after ANALYZE")
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
