package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/memory"
)

// eachStore runs f against every Store implementation; each Postgres run
// gets a fresh database of its own.
func eachStore(t *testing.T, f func(t *testing.T, s storage.Store)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, openPostgres(t))
	})
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, memory.New())
	})
}

func TestOutcome_String(t *testing.T) {
	f := func(o storage.Outcome, want string) {
		t.Helper()
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", uint8(o), got, want)
		}
	}
	f(storage.Inserted, "inserted")
	f(storage.Duplicate, "duplicate")
	f(storage.Conflict, "conflict")
	f(storage.Refused, "refused")
	f(0, "outcome(0)") // never filled in: must not read as a success
}

func TestStore_SaveOrdersContract(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		n := 0
		// f saves setup, then batch, and checks batch's outcomes and what
		// ends up stored. Every case works on uids of its own.
		f := func(setup func(uid string) []storage.Record, batch func(uid string) []storage.Record, want []storage.Outcome, stored func(uid string) storage.Record) {
			t.Helper()
			n++
			uid := fmt.Sprintf("case-%d", n)
			if setup != nil {
				for _, r := range storetest.Save(t, s, setup(uid)...) {
					if r.Outcome != storage.Inserted {
						t.Fatalf("case %d setup: %v, want inserted", n, r.Outcome)
					}
				}
			}
			recs := batch(uid)
			res := storetest.Save(t, s, recs...)
			if got := storetest.Outcomes(res); !slices.Equal(got, want) {
				t.Errorf("case %d: outcomes %v, want %v", n, got, want)
			}
			for i, r := range res {
				switch r.Outcome {
				case storage.Conflict:
					if !errors.Is(r.Err, storage.ErrConflict) {
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
				got, err := s.OrderJSON(storetest.Context(t), want.Order.OrderUID)
				if err != nil {
					t.Fatalf("case %d: OrderJSON: %v", n, err)
				}
				if !bytes.Equal(got, want.JSON) {
					t.Errorf("case %d: stored JSON\n%s\nwant\n%s", n, got, want.JSON)
				}
			}
		}
		model := func(uid string) storage.Record { return storetest.Rec(t, storetest.OrderWith(t, uid, nil)) }
		other := func(uid string) storage.Record {
			return storetest.Rec(t, storetest.OrderWith(t, uid, storetest.ThreeItems))
		}
		third := func(uid string) storage.Record {
			return storetest.Rec(t, storetest.OrderWith(t, uid, func(o *order.Order) { o.Delivery.City = "Haifa" }))
		}
		one := func(r func(string) storage.Record) func(string) []storage.Record {
			return func(uid string) []storage.Record { return []storage.Record{r(uid)} }
		}
		list := func(rs ...func(string) storage.Record) func(string) []storage.Record {
			return func(uid string) []storage.Record {
				out := make([]storage.Record, len(rs))
				for i, r := range rs {
					out[i] = r(uid)
				}
				return out
			}
		}

		// A new order is stored as given.
		f(nil, one(model), []storage.Outcome{storage.Inserted}, model)
		// Redelivery of a stored order changes nothing.
		f(one(model), one(model), []storage.Outcome{storage.Duplicate}, model)
		// A different order under a stored uid is not applied.
		f(one(model), one(other), []storage.Outcome{storage.Conflict}, model)
		// The same order twice in one batch: the second is a duplicate.
		f(nil, list(model, model), []storage.Outcome{storage.Inserted, storage.Duplicate}, model)
		// Two versions in one batch: the first wins.
		f(nil, list(model, other), []storage.Outcome{storage.Inserted, storage.Conflict}, model)
		// Later occurrences are judged against what is stored.
		f(nil, list(model, other, model, third), []storage.Outcome{storage.Inserted, storage.Conflict, storage.Duplicate, storage.Conflict}, model)
		// The stored version reappearing after a conflicting one is a duplicate.
		f(one(model), list(other, model), []storage.Outcome{storage.Conflict, storage.Duplicate}, model)
		// Two conflicting versions of a stored order.
		f(one(model), list(other, third, other), []storage.Outcome{storage.Conflict, storage.Conflict, storage.Conflict}, model)
		// New, stored-identical and stored-different orders mixed.
		f(one(model), func(uid string) []storage.Record {
			return []storage.Record{model(uid + "-new"), model(uid), other(uid), model(uid + "-new")}
		}, []storage.Outcome{storage.Inserted, storage.Duplicate, storage.Conflict, storage.Duplicate}, func(uid string) storage.Record { return model(uid + "-new") })
		// An empty batch is no error.
		f(nil, func(string) []storage.Record { return nil }, []storage.Outcome{}, nil)
	})
}

func TestStore_SaveOrdersCancelledStoresNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := s.SaveOrders(ctx, []storage.Record{storetest.Rec(t, storetest.OrderWith(t, "cancelled", nil))})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("SaveOrders with a cancelled context: err = %v, want context.Canceled", err)
		}
		if res != nil {
			t.Errorf("SaveOrders with a cancelled context: results %v, want none", res)
		}
		if _, err := s.OrderJSON(storetest.Context(t), "cancelled"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OrderJSON after a cancelled save: err = %v, want ErrNotFound", err)
		}
	})
}

func TestStore_OrderJSONNotFound(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		storetest.Save(t, s, storetest.Rec(t, storetest.OrderWith(t, "present", nil)))
		got, err := s.OrderJSON(storetest.Context(t), "absent")
		if !errors.Is(err, storage.ErrNotFound) || got != nil {
			t.Errorf("OrderJSON(absent) = %q, %v; want nil, ErrNotFound", got, err)
		}
	})
}

func TestStore_EachOrderJSONInInsertionOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		// Insertion order, not uid order; duplicates and conflicts add nothing.
		var want []storage.Record
		for _, batch := range [][]string{{"c", "a", "b"}, {"a", "e", "d"}, {"b"}} {
			var recs []storage.Record
			for _, uid := range batch {
				r := storetest.Rec(t, storetest.OrderWith(t, uid, nil))
				recs = append(recs, r)
				if !slices.ContainsFunc(want, func(w storage.Record) bool { return w.Order.OrderUID == uid }) {
					want = append(want, r)
				}
			}
			storetest.Save(t, s, recs...)
		}

		var got []string
		err := s.EachOrderJSON(storetest.Context(t), 1, func(uid string, json []byte) error {
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
		err = s.EachOrderJSON(storetest.Context(t), 1, func(string, []byte) error {
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
	eachStore(t, func(t *testing.T, s storage.Store) {
		var recs []storage.Record
		for i := range 301 {
			recs = append(recs, storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("stream-%03d", i), nil)))
		}
		storetest.Save(t, s, recs...)
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			runs [][]int // each stream's indexes into recs, in the order visited
			last = map[int]int{}
		)
		err := s.EachOrderJSON(storetest.Context(t), storage.WarmUpStreams, func(uid string, json []byte) error {
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
		if len(runs) > storage.WarmUpStreams {
			t.Errorf("orders came in %d ascending runs, want at most %d (one per stream)", len(runs), storage.WarmUpStreams)
		}
	})
}

// The estimate of an empty store is zero; of a full one, its orders and
// their bytes, before and after the planner has statistics.
func TestStore_EstimateOrders(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		if e, err := s.EstimateOrders(storetest.Context(t)); err != nil || e != (storage.Estimate{}) {
			t.Fatalf("EstimateOrders of an empty store = %+v, %v; want zero", e, err)
		}
		var (
			recs []storage.Record
			want storage.Estimate
		)
		for i := range 500 {
			r := storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("estimate-%03d", i), nil))
			recs = append(recs, r)
			want.Orders++
			want.Bytes += int64(len(r.Order.OrderUID) + len(r.JSON))
		}
		storetest.Save(t, s, recs...)
		check := func(when string) {
			t.Helper()
			e, err := s.EstimateOrders(storetest.Context(t))
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
		if p, ok := s.(*Store); ok {
			if _, err := p.bulk.Exec(storetest.Context(t), "ANALYZE orders"); err != nil {
				t.Fatal(err)
			}
			check("after ANALYZE")
		}
	})
}

func TestStore_Ping(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		if err := s.Ping(storetest.Context(t)); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}
