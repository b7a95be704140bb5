package reads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/memory"
	"github.com/orderd/orderd/storage/postgres"
)

// countingStore counts OrderJSON calls and delegates them to the real store;
// hold, if set, is how long each call keeps its read slot before asking, so
// concurrent calls overlap for sure.
type countingStore struct {
	storage.Store
	calls atomic.Int64
	hold  time.Duration
}

func (s *countingStore) OrderJSON(ctx context.Context, uid string) ([]byte, error) {
	s.calls.Add(1)
	time.Sleep(s.hold)
	return s.Store.OrderJSON(ctx, uid)
}

// readPath returns an Orders over a fresh Postgres database holding the
// given records, and the counting store beneath it.
func readPath(t *testing.T, opts OrdersOptions, recs ...storage.Record) (*Orders, *countingStore) {
	t.Helper()
	p := storetest.Open(t, postgres.Open)
	if len(recs) > 0 {
		storetest.Save(t, p, recs...)
	}
	s := &countingStore{Store: p}
	return NewOrders(s, newTestCache(t, 16<<20), opts), s
}

// hammer runs f from n goroutines released together and waits for them.
func hammer(n int, f func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Go(func() {
			<-start
			f(g)
		})
	}
	close(start)
	wg.Wait()
}

func TestOrders_HitDoesNotTouchStore(t *testing.T) {
	o, s := readPath(t, OrdersOptions{})
	doc := []byte(`{"order_uid":"cached"}`)
	o.Put("cached", doc)
	got, err := o.Get(storetest.Context(t), "cached")
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("Get = %q, %v; want the cached JSON", got, err)
	}
	if n := s.calls.Load(); n != 0 {
		t.Errorf("a cache hit queried the store %d times", n)
	}
}

func TestOrders_MissReadsThroughAndFillsCache(t *testing.T) {
	r := storetest.Rec(t, storetest.OrderWith(t, "stored", nil))
	o, s := readPath(t, OrdersOptions{}, r)
	for i := range 3 {
		got, err := o.Get(storetest.Context(t), "stored")
		if err != nil || !bytes.Equal(got, r.JSON) {
			t.Fatalf("Get #%d = %q, %v; want the stored JSON", i, got, err)
		}
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("3 Gets queried the store %d times, want 1", n)
	}
	st := o.Stats()
	if st.Queries != 1 || st.Cache.Entries != 1 || st.Cache.Hits != 2 || st.Cache.Misses != 1 {
		t.Errorf("Stats() = %+v; want 1 query, 1 cached entry, 2 hits, 1 miss", st)
	}
}

func TestOrders_ConcurrentMissesShareOneQuery(t *testing.T) {
	r := storetest.Rec(t, storetest.OrderWith(t, "popular", nil))
	o, s := readPath(t, OrdersOptions{}, r)
	s.hold = 20 * time.Millisecond // let the misses pile up behind the first query
	var failures atomic.Int64
	hammer(64, func(int) {
		// The uid a caller passes may alias a buffer it reuses at once.
		buf := []byte("popular")
		for range 50 {
			got, err := o.Get(storetest.Context(t), string(buf))
			if err != nil || !bytes.Equal(got, r.JSON) {
				failures.Add(1)
			}
		}
	})
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of 3200 Gets failed", n)
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("64 goroutines x 50 Gets of one uncached order queried the store %d times, want 1", n)
	}
}

func TestOrders_NegativeCacheAbsorbsFloodOfMissingIDs(t *testing.T) {
	// The read-through queue's timeout is not what this test is about
	// (TestOrders_LimitsConcurrentReadThrough is): 64 goroutines on a busy
	// 2-core machine can wait past its default 100ms for a slot, and their
	// ErrBusy would hide whether the negative cache answered.
	o, s := readPath(t, OrdersOptions{NegativeTTL: time.Minute, ReadQueueTimeout: time.Minute})
	ids := make([]string, 10)
	slots := map[int]bool{}
	for i := range ids {
		ids[i] = fmt.Sprintf("missing-%d", i)
		slots[o.negative.slot(ids[i])] = true
	}
	if len(slots) != len(ids) {
		t.Fatalf("the test ids share negative slots (%d slots for %d ids); pick others", len(slots), len(ids))
	}
	var wrong atomic.Int64
	hammer(64, func(g int) {
		for i := range 100 {
			if _, err := o.Get(storetest.Context(t), ids[(g+i)%len(ids)]); !errors.Is(err, storage.ErrNotFound) {
				wrong.Add(1)
			}
		}
	})
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d Gets of missing ids did not answer ErrNotFound", n)
	}
	if n := s.calls.Load(); n != 10 {
		t.Errorf("6400 Gets of 10 missing ids queried the store %d times, want 10", n)
	}
	if st := o.Stats(); st.NegativeHits == 0 || st.Queries != 10 {
		t.Errorf("Stats() = %+v; want negative hits and 10 queries", st)
	}
}

func TestOrders_LimitsConcurrentReadThrough(t *testing.T) {
	f := func(queueTimeout time.Duration, wantBusy bool) {
		t.Helper()
		o, s := readPath(t, OrdersOptions{MaxConcurrentReads: 4, ReadQueueTimeout: queueTimeout})
		s.hold = 2 * time.Millisecond
		var notFound, busy, other atomic.Int64
		var otherErr atomic.Value
		hammer(64, func(g int) {
			for i := g; i < 500; i += 64 {
				_, err := o.Get(storetest.Context(t), fmt.Sprintf("absent-%d", i))
				switch {
				case errors.Is(err, storage.ErrNotFound):
					notFound.Add(1)
				case errors.Is(err, storage.ErrBusy):
					busy.Add(1)
					if !strings.Contains(err.Error(), "MaxConcurrentReads") {
						otherErr.Store(err)
					}
				default:
					other.Add(1)
					otherErr.Store(fmt.Errorf("%v", err))
				}
			}
		})
		st := o.Stats()
		if st.PeakConcurrentQueries > 4 || st.PeakConcurrentQueries < 1 {
			t.Errorf("peak of %d concurrent read-through queries, want 1..4", st.PeakConcurrentQueries)
		}
		if other.Load() != 0 || otherErr.Load() != nil {
			t.Errorf("%d unexpected errors, e.g. %v", other.Load(), otherErr.Load())
		}
		if notFound.Load()+busy.Load() != 500 || uint64(busy.Load()) != st.Busy {
			t.Errorf("%d not found + %d busy of 500 Gets, Stats().Busy = %d", notFound.Load(), busy.Load(), st.Busy)
		}
		if got := busy.Load() > 0; got != wantBusy {
			t.Errorf("ReadQueueTimeout %v: %d ErrBusy, want some: %v", queueTimeout, busy.Load(), wantBusy)
		}
		if uint64(s.calls.Load()) != st.Queries || st.Queries != uint64(notFound.Load()) {
			t.Errorf("%d store calls, Stats().Queries = %d, %d not found; want all equal", s.calls.Load(), st.Queries, notFound.Load())
		}
	}
	f(time.Nanosecond, true) // no waiting: the flood is shed
	f(time.Minute, false)    // everyone waits their turn, four at a time
}

func TestOrders_PutClearsNegativeEntry(t *testing.T) {
	o, s := readPath(t, OrdersOptions{NegativeTTL: time.Minute})
	ctx := storetest.Context(t)
	if _, err := o.Get(ctx, "late"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get before the order exists: %v, want ErrNotFound", err)
	}
	// Stored, but not yet announced: "not found" is still remembered.
	r := storetest.Rec(t, storetest.OrderWith(t, "late", nil))
	storetest.Save(t, s.Store, r)
	if _, err := o.Get(ctx, "late"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get within NegativeTTL: %v, want the remembered ErrNotFound", err)
	}
	o.Put("late", r.JSON)
	got, err := o.Get(ctx, "late")
	if err != nil || !bytes.Equal(got, r.JSON) {
		t.Fatalf("Get after Put = %q, %v; want the order", got, err)
	}
	// Evicted from the cache, it must still not be "not found".
	o.cache.bc.Delete("late")
	if got, err := o.Get(ctx, "late"); err != nil || !bytes.Equal(got, r.JSON) {
		t.Errorf("Get after eviction = %q, %v; want the order from the store", got, err)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("store queried %d times, want 2 (first miss, after eviction)", n)
	}
}

func TestOrders_NegativeEntryExpires(t *testing.T) {
	o, s := readPath(t, OrdersOptions{NegativeTTL: 50 * time.Millisecond})
	ctx := storetest.Context(t)
	if _, err := o.Get(ctx, "later"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get: %v, want ErrNotFound", err)
	}
	// Stored by another replica: no Put here, so visible after the TTL.
	r := storetest.Rec(t, storetest.OrderWith(t, "later", nil))
	storetest.Save(t, s.Store, r)
	time.Sleep(60 * time.Millisecond)
	if got, err := o.Get(ctx, "later"); err != nil || !bytes.Equal(got, r.JSON) {
		t.Errorf("Get after NegativeTTL = %q, %v; want the order", got, err)
	}
}

func TestOrders_WaitEndsWithCallerContext(t *testing.T) {
	r := storetest.Rec(t, storetest.OrderWith(t, "slow", nil))
	o, s := readPath(t, OrdersOptions{}, r)
	s.hold = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(storetest.Context(t), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := o.Get(ctx, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with a 20ms context on a 300ms query: %v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("Get returned after %v, want right after its context ended", took)
	}
	// The shared query was not cancelled with that caller: it completes
	// and fills the cache for everyone else.
	deadline := time.Now().Add(5 * time.Second)
	for o.cache.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := o.Get(storetest.Context(t), "slow"); err != nil || !bytes.Equal(got, r.JSON) || s.calls.Load() != 1 {
		t.Errorf("Get after the abandoned query = %q, %v with %d store calls; want the order, 1 call", got, err, s.calls.Load())
	}
}

func TestOrders_StoreErrorIsReturned(t *testing.T) {
	o, s := readPath(t, OrdersOptions{})
	s.Store.Close() // the pool is closed: every query fails
	_, err := o.Get(storetest.Context(t), "any")
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrBusy) {
		t.Errorf("Get with a closed store: %v, want the store's error", err)
	}
	if o.negative.has("any", time.Now().UnixNano()) {
		t.Error("a failed query was remembered as not found")
	}
}

func TestOrders_WarmUpLoadsEverything(t *testing.T) {
	var recs []storage.Record
	for i := range 50 {
		recs = append(recs, storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("warm-%02d", i), nil)))
	}
	o, s := readPath(t, OrdersOptions{}, recs...)
	expect, err := s.EstimateOrders(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := o.WarmUp(storetest.Context(t), expect)
	var bytes50 int64
	for _, r := range recs {
		bytes50 += int64(len(r.Order.OrderUID) + len(r.JSON))
	}
	if err != nil || rep.Read != 50 || rep.Cached != 50 || rep.ReadBytes != bytes50 || rep.CachedBytes != bytes50 ||
		!rep.Complete() || rep.Streams != storage.WarmUpStreams {
		t.Fatalf("WarmUp = %+v, %v; want all 50 orders (%d bytes) read and cached, by %d streams", rep, err, bytes50, storage.WarmUpStreams)
	}
	for _, r := range recs {
		got, err := o.Get(storetest.Context(t), r.Order.OrderUID)
		if err != nil || !bytes.Equal(got, r.JSON) {
			t.Errorf("Get(%s) after warm-up = %q, %v", r.Order.OrderUID, got, err)
		}
	}
	if c := s.calls.Load(); c != 0 {
		t.Errorf("Gets after warm-up queried the store %d times, want 0", c)
	}
}

// When the orders do not fit, the warm-up says how many it kept, reads in
// one stream, oldest first, and so keeps the newest.
func TestOrders_WarmUpIntoATooSmallCacheKeepsTheNewest(t *testing.T) {
	var recs []storage.Record
	for i := range 2000 { // about 2.6 MB of JSON for a 1 MiB cache
		recs = append(recs, storetest.Rec(t, storetest.OrderWith(t, fmt.Sprintf("small-%04d", i), nil)))
	}
	p := storetest.Open(t, postgres.Open)
	storetest.Save(t, p, recs...)
	s := &countingStore{Store: p}
	c := newTestCache(t, 1<<20)
	o := NewOrders(s, c, OrdersOptions{})
	expect, err := s.EstimateOrders(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Holds(expect) {
		t.Fatalf("a 1 MiB cache holds %+v", expect)
	}
	rep, err := o.WarmUp(storetest.Context(t), expect)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Read != 2000 || rep.Complete() || rep.Cached != c.Len() || rep.Streams != 1 || rep.CachedBytes >= rep.ReadBytes {
		t.Fatalf("WarmUp = %+v with %d orders cached; want 2000 read, the %d cached counted, one stream", rep, c.Len(), c.Len())
	}
	if _, ok := c.Get(recs[0].Order.OrderUID); ok {
		t.Error("the oldest order is cached, and so newer ones were evicted")
	}
	if _, ok := c.Get(recs[len(recs)-1].Order.OrderUID); !ok {
		t.Error("the newest order is not cached")
	}
	if mb := rep.FitsInMB(); mb <= 1 {
		t.Errorf("FitsInMB = %d MiB, want more than the 1 MiB that did not hold it", mb)
	}
}

func BenchmarkOrders_GetHit(b *testing.B) {
	c := newTestCache(b, 64<<20)
	o := NewOrders(memory.New(), c, OrdersOptions{})
	doc := storetest.Rec(b, storetest.OrderWith(b, "b563feb7b2b84b6test", nil)).JSON
	o.Put("b563feb7b2b84b6test", doc)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := o.Get(ctx, "b563feb7b2b84b6test"); err != nil {
			b.Fatal(err)
		}
	}
}
