package reads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/orderd/orderd/storage"
)

// Orders is the read path: a Cache in front of a Store. Get reads the cache,
// then the store, then fills the cache; the pipeline writes the store first
// and then calls Put. Orders are immutable, so a cached order never goes
// stale and nothing is ever invalidated.
//
// The store is protected three ways: concurrent misses on one id share a
// single query (singleflight), ids the store did not have are remembered for
// NegativeTTL, and at most MaxConcurrentReads queries run at once, further
// misses waiting at most ReadQueueTimeout before ErrBusy. It is safe for
// concurrent use.
type Orders struct {
	store        storage.Store
	cache        *Cache
	negative     *negativeCache
	flights      singleflight.Group
	slots        chan struct{}
	queueTimeout time.Duration
	queryTimeout time.Duration

	queries      atomic.Uint64
	negativeHits atomic.Uint64
	// rechecks found and missed: readThrough's second look at the cache,
	// taken out of the cache's counters so they count requests.
	recheckHits   atomic.Uint64
	recheckMisses atomic.Uint64
	busy          atomic.Uint64
	inFlight      atomic.Int64
	peak          atomic.Int64
}

// OrdersOptions tunes the read path. A zero or negative field takes its
// default.
type OrdersOptions struct {
	// NegativeTTL is how long "not found" is remembered for an id, during
	// which Get answers ErrNotFound for it without asking the store. An
	// order passed to Put (by the pipeline, or by a Follower for another
	// replica's commit) is visible at once; without a Follower, one stored
	// by another replica becomes visible here after at most NegativeTTL.
	// Default 1s.
	NegativeTTL time.Duration
	// NegativeSlots is the number of slots of the negative cache, a fixed
	// table (24 bytes a slot plus the remembered ids) that never grows.
	// Ids that hash to the same slot evict each other. Default 65536.
	NegativeSlots int
	// MaxConcurrentReads is the number of read-through store queries in
	// flight at once. postgres.Store gives them a pool of their own (Pools.Reads);
	// give them the same number, or misses queue in the pool, where only
	// QueryTimeout bounds their wait. Default 8.
	MaxConcurrentReads int
	// ReadQueueTimeout is how long a cache miss waits for a free read slot
	// before Get returns ErrBusy. Default 100ms.
	ReadQueueTimeout time.Duration
	// QueryTimeout bounds one read-through query, so a PostgreSQL that
	// stops answering frees its read slot instead of holding it until TCP
	// gives up. Default 5s.
	QueryTimeout time.Duration
}

// OrdersStats is a snapshot of the read path's counters.
type OrdersStats struct {
	Cache                 CacheStats
	Queries               uint64 // read-through queries issued to the store
	NegativeHits          uint64 // misses answered ErrNotFound from the negative cache
	Busy                  uint64 // misses answered ErrBusy: no read slot within ReadQueueTimeout
	PeakConcurrentQueries int64  // most read-through queries ever in flight at once (≤ MaxConcurrentReads)
}

// NewOrders returns the read path over store and cache. It does not own
// them: closing them is the caller's job.
func NewOrders(store storage.Store, cache *Cache, opts OrdersOptions) *Orders {
	if opts.NegativeTTL <= 0 {
		opts.NegativeTTL = time.Second
	}
	if opts.NegativeSlots <= 0 {
		opts.NegativeSlots = 65536
	}
	if opts.MaxConcurrentReads <= 0 {
		opts.MaxConcurrentReads = 8
	}
	if opts.ReadQueueTimeout <= 0 {
		opts.ReadQueueTimeout = 100 * time.Millisecond
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 5 * time.Second
	}
	return &Orders{
		store:        store,
		cache:        cache,
		negative:     newNegativeCache(opts.NegativeSlots, int64(opts.NegativeTTL)),
		slots:        make(chan struct{}, opts.MaxConcurrentReads),
		queueTimeout: opts.ReadQueueTimeout,
		queryTimeout: opts.QueryTimeout,
	}
}

// Get returns the JSON of order uid: ErrNotFound if the store does not have
// it, ErrBusy (wrapped) if the store is saturated with other misses. uid may
// alias a buffer the caller reuses after Get returns. The returned slice must
// not be modified: concurrent misses on one id share it.
//
// A cache hit allocates only the returned copy and touches nothing else.
// If ctx holds a recording span, Get sets AttrCache on it, and the query of
// a read-through is its child.
func (o *Orders) Get(ctx context.Context, uid string) ([]byte, error) {
	if b, ok := o.cache.Get(uid); ok {
		traceCache(ctx, "hit")
		return b, nil
	}
	if o.negative.has(uid, time.Now().UnixNano()) {
		o.negativeHits.Add(1)
		traceCache(ctx, "negative")
		return nil, storage.ErrNotFound
	}
	traceCache(ctx, "miss")
	// The key outlives this call (in singleflight, the negative cache and
	// the cache), and uid may point into a fasthttp buffer.
	key := strings.Clone(uid)
	// The query is shared by every caller waiting on key, so no single
	// caller's cancellation may abort it: it runs detached (bounded by
	// ReadQueueTimeout and QueryTimeout) while each caller waits
	// only as long as its own ctx allows.
	flight := o.flights.DoChan(key, func() (any, error) {
		return o.readThrough(context.WithoutCancel(ctx), key)
	})
	select {
	case r := <-flight:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]byte), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readThrough asks the store for uid on behalf of every caller of its flight.
func (o *Orders) readThrough(ctx context.Context, uid string) ([]byte, error) {
	// A flight starting just after the previous one for uid ended would query
	// again for callers that missed before that one filled the cache; look
	// once more, so one id costs one query however the misses interleave.
	if b, ok := o.cache.Get(uid); ok {
		o.recheckHits.Add(1)
		return b, nil
	}
	o.recheckMisses.Add(1)
	if o.negative.has(uid, time.Now().UnixNano()) {
		o.negativeHits.Add(1)
		return nil, storage.ErrNotFound
	}
	if err := o.acquire(); err != nil {
		return nil, err
	}
	defer o.release()

	o.queries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, o.queryTimeout)
	defer cancel()
	b, err := o.store.OrderJSON(ctx, uid)
	switch {
	case err == nil:
		// A failed Set is counted in the cache's stats; the order is
		// served from the store meanwhile.
		_ = o.cache.Set(uid, b)
		return b, nil
	case errors.Is(err, storage.ErrNotFound):
		// If Put stored uid while this query ran, the cache already has it
		// and Get never reaches this entry.
		o.negative.add(uid, time.Now().UnixNano())
		return nil, storage.ErrNotFound
	default:
		return nil, fmt.Errorf("read through: %w", err)
	}
}

// acquire takes a read slot, waiting at most queueTimeout.
func (o *Orders) acquire() error {
	select {
	case o.slots <- struct{}{}:
	default:
		t := time.NewTimer(o.queueTimeout)
		defer t.Stop()
		select {
		case o.slots <- struct{}{}:
		case <-t.C:
			o.busy.Add(1)
			return fmt.Errorf("%w: %d read-through queries in flight and none ended within %s; raise MaxConcurrentReads or ReadQueueTimeout",
				storage.ErrBusy, cap(o.slots), o.queueTimeout)
		}
	}
	n := o.inFlight.Add(1)
	for {
		p := o.peak.Load()
		if n <= p || o.peak.CompareAndSwap(p, n) {
			return nil
		}
	}
}

func (o *Orders) release() {
	o.inFlight.Add(-1)
	<-o.slots
}

// Put caches an order the pipeline has just stored and forgets any "not
// found" remembered for it, so it is visible at once on this replica. A
// failed cache Set is counted in the cache's stats; reads then come from the
// store. json is copied.
func (o *Orders) Put(uid string, json []byte) {
	_ = o.cache.Set(uid, json)
	o.negative.remove(uid)
}

// WarmUpReport is what a warm-up read and what it left in the cache.
type WarmUpReport struct {
	Read      int   // orders read from the store
	ReadBytes int64 // their JSON and order_uids
	// Cached is how many of them the cache holds at the end, and
	// CachedBytes their size: those read, less those it refused (too
	// large) and those it evicted to make room, whoever's Set made it.
	//
	// Ingest runs meanwhile: orders the pipeline Puts (and a Follower's,
	// and reads through to the store) go into the cache too, and may be
	// evicted in turn. The cache tells those entries apart by key while
	// the warm-up runs (up to 262,144 of them; past that, their evictions
	// count against the warm-up), and OthersEvicted counts their
	// evictions, which Cached does not. An order the warm-up puts over an
	// entry of the others' is the warm-up's; one the others put again
	// over the warm-up's entry (a replayed message) still counts as
	// cached, even if evicted afterwards.
	Cached      int
	CachedBytes int64
	// OthersEvicted is how many entries put by others, before or during
	// the warm-up, were evicted while it ran.
	OthersEvicted int
	Streams       int           // queries that read them at once
	Took          time.Duration // from the first query to the last order
}

// Complete reports whether every order read is cached.
func (r WarmUpReport) Complete() bool { return r.Cached == r.Read }

// FitsInMB is the cache size, in MiB, that would hold every order read.
func (r WarmUpReport) FitsInMB() int {
	return CacheSizeFor(storage.Estimate{Orders: int64(r.Read), Bytes: r.ReadBytes})
}

// WarmUp loads every stored order into the cache and reports what it holds
// at the end. expect is the store's estimate of them.
//
// When expect fits the cache, the orders are read by WarmUpStreams queries
// at once, over ranges of the ingest sequence. When it does not, by one,
// oldest first: the cache evicts its oldest entries first, so what it keeps
// then is the newest orders, those most likely to be read.
func (o *Orders) WarmUp(ctx context.Context, expect storage.Estimate) (WarmUpReport, error) {
	rep := WarmUpReport{Streams: 1}
	if o.cache.Holds(expect) {
		rep.Streams = storage.WarmUpStreams
	}
	var (
		read, failed           atomic.Int64
		readBytes, failedBytes atomic.Int64
	)
	tally := o.cache.beginWarmUp()
	start := time.Now()
	err := o.store.EachOrderJSON(ctx, rep.Streams, func(uid string, json []byte) error {
		n := int64(len(uid) + len(json))
		read.Add(1)
		readBytes.Add(n)
		// Failures are counted in the cache's stats too; such an order is
		// served from the store.
		if o.cache.setWarm(uid, json) != nil {
			failed.Add(1)
			failedBytes.Add(n)
		}
		return nil
	})
	rep.Took = time.Since(start)
	own, theirs := o.cache.endWarmUp(tally)
	rep.Read, rep.ReadBytes = int(read.Load()), readBytes.Load()
	rep.Cached = max(rep.Read-int(failed.Load())-own.n, 0)
	rep.CachedBytes = max(rep.ReadBytes-failedBytes.Load()-own.bytes, 0)
	rep.OthersEvicted = theirs.n
	if err != nil {
		return rep, fmt.Errorf("warm up cache: %w", err)
	}
	return rep, nil
}

// Stats returns the read path's counters, the cache's included. Cache hits
// and misses count Get calls: the cache's own counters also see readThrough's
// second look, which is subtracted here.
func (o *Orders) Stats() OrdersStats {
	cs := o.cache.Stats()
	cs.Hits -= min(cs.Hits, o.recheckHits.Load())
	cs.Misses -= min(cs.Misses, o.recheckMisses.Load())
	return OrdersStats{
		Cache:                 cs,
		Queries:               o.queries.Load(),
		NegativeHits:          o.negativeHits.Load(),
		Busy:                  o.busy.Load(),
		PeakConcurrentQueries: o.peak.Load(),
	}
}
