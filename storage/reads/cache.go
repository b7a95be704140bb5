package reads

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"

	"github.com/orderd/orderd/storage"
)

// ErrEntryTooLarge means Cache.Set was given an entry the cache cannot
// hold without emptying a whole shard; the order is still served from the
// store.
var ErrEntryTooLarge = errors.New("cache entry too large")

// Cache holds orders' pre-encoded JSON keyed by order_uid, off the Go heap
// (bigcache keeps entries in a few large byte slices the GC does not scan),
// so a cache hit costs one hash, one read lock and one copy. It is safe for
// concurrent use.
//
// Orders never expire; when the cache is full, each shard evicts its oldest
// entry first (FIFO, not LRU) and reads of evicted orders fall back to the
// store, which fills the cache again.
type Cache struct {
	bc *bigcache.BigCache
	// maxEntry is the largest entry, headers included, Set accepts.
	maxEntry int
	// shards is the layout, shardBytes each shard's share.
	shards, shardBytes int
	failedSets         atomic.Uint64
	evictions          atomic.Uint64
	evictedBytes       atomic.Uint64
	collecting         atomic.Bool // a collection started by evicted runs
	closeOnce          sync.Once
	// tally tells a warm-up's entries from the others' while one runs.
	tally atomic.Pointer[warmTally]
}

// CacheStats is a snapshot of the cache's counters.
type CacheStats struct {
	Entries    int    // orders in the cache now
	Hits       uint64 // Get calls that found the order
	Misses     uint64 // Get calls that did not
	Collisions uint64 // Get calls that found another uid under the same 64-bit hash (counted as misses by the caller, not in Misses)
	Bytes      int    // bytes allocated to entries; grows up to the configured size and stays there
	FailedSets uint64 // Set calls that stored nothing (entry too large, or refused by bigcache)
	Evictions  uint64 // orders dropped, oldest first, to make room for newer ones
	// EvictedBytes is the JSON and order_uids of the evicted orders.
	EvictedBytes uint64
}

const (
	// minShardMB is the least memory a shard gets when the cache is split.
	// More shards mean less lock contention, but a shard must stay several
	// times larger than an order (1-2 KB) and than the largest entry Set
	// accepts (half a shard), or eviction gets coarse.
	minShardMB = 4
	// maxShards is plenty for the cores this runs on; more only adds
	// per-shard overhead.
	maxShards = 256
	// entryOverhead is what bigcache adds to key and value: timestamp, hash
	// and key length (18 bytes) plus the queue's length prefix (up to 5).
	entryOverhead = 8 + 8 + 2 + 5
	// typicalEntrySize sizes bigcache's per-shard write buffer; entries up
	// to it are written without allocating.
	typicalEntrySize = 4 << 10
	// initialEntriesPerShard sizes each shard's first allocation (times
	// typicalEntrySize). Small on purpose: bigcache preallocates
	// MaxEntriesInWindow * MaxEntrySize bytes up front otherwise, and a shard
	// grows by doubling up to its share of maxBytes anyway.
	initialEntriesPerShard = 16
)

// NewCache returns a cache that keeps at most maxBytes of entries (rounded
// down to whole MiB, at least 1 MiB), starting small and growing as it
// fills. Process memory is somewhat higher: each shard also keeps a Go map
// entry (uint64 to uint32) per cached order.
//
// The memory is split into a power-of-two number of shards, each with its own
// lock, each getting at least minShardMB (except in a cache smaller than
// that, which is a single shard).
func NewCache(maxBytes int) (*Cache, error) { return NewCacheFor(maxBytes, storage.Estimate{}) }

// NewCacheFor is NewCache with shards that start at the size expect needs
// (at most their share of maxBytes), so that loading that many orders never
// grows them.
//
// A shard of bigcache grows by doubling: it allocates twice its size and
// copies itself over, and the old buffer is garbage until the next GC. A
// cache filled from empty so ends up to twice the data's size, and passes
// through three times a shard's size while it grows. Sizing from the
// estimate instead costs only what the data needs: memory the shards
// reserve but never write is not resident. It is also why the estimate is
// not replaced by maxBytes itself: the Go GC counts reserved memory as live
// heap and lets as much garbage pile up before it collects, so a
// CACHE_SIZE_MB far above the data would cost that much memory after all.
// Orders beyond the estimate grow the shards by doubling, as in NewCache.
func NewCacheFor(maxBytes int, expect storage.Estimate) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("new cache: size must be positive, got %d bytes", maxBytes)
	}
	mb, shards := cacheLayout(maxBytes)
	shardBytes := (mb << 20) / shards
	if shardBytes > math.MaxUint32 {
		// bigcache indexes a shard with uint32 offsets.
		return nil, fmt.Errorf("new cache: %d MiB is more than %d shards of 4 GiB", mb, maxShards)
	}
	c := &Cache{maxEntry: shardBytes / 2, shards: shards, shardBytes: shardBytes}
	entries, entrySize := initialEntriesPerShard, typicalEntrySize
	if expect.Orders > 0 {
		entries, entrySize = shardNeeds(expect, shards)
		if entries*entrySize >= shardBytes {
			// The estimate fills the shards: make each its full size at
			// once. Made a few bytes short (entries × entrySize rounded
			// down to a whole entry), a shard that fills up is copied
			// into a new full-size buffer by the first entry that still
			// fits the difference, and the old one, a whole cache's size
			// in all, is garbage just as evictions begin. One entry over
			// makes bigcache cap the buffer at the shard's size exactly;
			// the map is then made for as many entries as fit, no more.
			entries = shardBytes/entrySize + 1
		}
	}
	config := bigcache.Config{
		Shards: shards,
		// LifeWindow is not a read TTL. With CleanWindow 0, every Set first
		// evicts its shard's oldest entry if that entry is older than
		// LifeWindow (shard.go: set → onEvict), at one-second resolution; a
		// zero or short LifeWindow makes the cache forget orders seconds
		// after storing them. Orders are immutable and never expire: make
		// the window effectively infinite (~292 years) and run no cleaner.
		LifeWindow:  time.Duration(math.MaxInt64),
		CleanWindow: 0,
		// A shard's first allocation is entries × entrySize bytes (capped
		// at its share of HardMaxCacheSize), its map is made for entries,
		// and entrySize sizes its write buffer, which grows to the largest
		// entry written.
		MaxEntriesInWindow: shards * entries,
		MaxEntrySize:       entrySize,
		// A full shard makes room by evicting its oldest entries (NoSpace),
		// whatever their age: the store stays the fallback.
		HardMaxCacheSize:   mb,
		OnRemoveWithReason: func(key string, entry []byte, _ bigcache.RemoveReason) { c.evicted(key, len(key)+len(entry)) },
		// StatsEnabled would count hits per key under the shard's write
		// lock on every Get; bigcache keeps the hit, miss and collision
		// totals atomically without it.
		StatsEnabled: false,
		Verbose:      false,
		Logger:       nopLogger{},
		// Hasher is FNV-1a to 64 bits, bigcache's default, named here
		// because a warm-up's tally keys by it too. A shard's map is by
		// hash: a Set whose key collides with a stored one replaces it, and
		// a Get of the replaced key compares the full key and reads as a
		// miss (Collisions), so the store answers. At ~n²/2^65 it is
		// harmless.
		Hasher: fnvHasher{},
	}
	// Orders are never deleted and never expire: a removal is an eviction
	// for room.
	config = config.OnRemoveFilterSet(bigcache.NoSpace)
	bc, err := bigcache.New(context.Background(), config)
	if err != nil {
		return nil, fmt.Errorf("new cache: %w", err)
	}
	c.bc = bc
	return c, nil
}

// cacheLayout returns the size in MiB and the number of shards of a cache of
// maxBytes (> 0).
func cacheLayout(maxBytes int) (mb, shards int) {
	mb = max(maxBytes>>20, 1)
	shards = 1
	for shards < maxShards && mb/(shards*2) >= minShardMB {
		shards *= 2
	}
	return mb, shards
}

// shardNeeds returns how many entries of what size (overhead included) the
// fullest of shards shards should be made for, to hold expect (Orders > 0).
//
// Orders spread over the shards by hash, so a shard's count is binomial
// around the mean m with a standard deviation just under √m: three of them
// leave the fullest of 256 shards room (and if one overflows, it alone
// doubles). On top, 2% for an estimate that is a little low, and a few
// entries for the smallest caches. For a million orders in 256 shards that
// is 7% over the data.
func shardNeeds(expect storage.Estimate, shards int) (entries, entrySize int) {
	m := float64(expect.Orders) / float64(shards)
	entries = int(math.Ceil((m+3*math.Sqrt(m))*1.02)) + 8
	entrySize = int(math.Ceil(float64(expect.Bytes)/float64(expect.Orders))) + entryOverhead
	return entries, entrySize
}

// CacheSizeFor returns the smallest cache size, in MiB, whose every shard
// holds its share of expect: the CACHE_SIZE_MB that would keep all those
// orders cached.
func CacheSizeFor(expect storage.Estimate) int {
	if expect.Orders <= 0 {
		return 1
	}
	for mb := max(int(expect.Bytes>>20), 1); ; mb += max(mb/200, 1) {
		_, shards := cacheLayout(mb << 20)
		if shardsHold(expect, shards, (mb<<20)/shards) {
			return mb
		}
	}
}

// Holds reports whether the cache, empty, would hold every order of expect.
func (c *Cache) Holds(expect storage.Estimate) bool {
	return expect.Orders <= 0 || shardsHold(expect, c.shards, c.shardBytes)
}

// shardsHold reports whether shards shards of shardBytes each hold expect
// (Orders > 0): the fullest its share, and an average order below the
// largest entry Set accepts.
func shardsHold(expect storage.Estimate, shards, shardBytes int) bool {
	entries, size := shardNeeds(expect, shards)
	return entries*size <= shardBytes && size < shardBytes/2
}

// collectEvery is how many bytes of evicted entries make the cache start a
// garbage collection.
const collectEvery = 64 << 20

// evicted counts the eviction of key's entry, n bytes.
//
// bigcache copies each evicted entry to hand it to the callback (every
// callback it offers does): garbage the size of the orders a full cache
// takes in. The GC lets garbage grow to the live heap (GOGC=100) before it
// collects, and the live heap is the whole cache, so a cache too small for
// the store, during a warm-up and in the steady state of ingest, would hold
// up to its size again in copies. A collection every collectEvery bytes
// evicted, in a goroutine of its own and one at a time, bounds that
// garbage, whether GOMEMLIMIT is set or not. It is cheap: bigcache's
// buffers and maps hold no pointers, so the GC does not scan them.
//
// Measured (CACHE_SIZE_MB=272, 300,000 orders of 539 MiB; the figures are
// in the commit that kept this): the warm-up's peak RSS is 393 MiB with it
// and 523 MiB without, 395 and 432 MiB with GOMEMLIMIT=478MiB (the deploy's
// 1800MiB for 1024, scaled), in the same time. Ingest into a full 256 MiB
// cache (BenchmarkCache_SetEvicting): 15 collections per GiB evicted
// instead of 4 (8 under GOMEMLIMIT), 15 to 85 ms of GC CPU per GiB on this
// busy machine, and a peak RSS of 355-378 MiB instead of 554-566 (441 under
// GOMEMLIMIT). At 10,000 orders/s, 19 MB/s evicted, that is a collection
// every 3.5 s and at most 0.15% of a core.
func (c *Cache) evicted(key string, n int) {
	if t := c.tally.Load(); t != nil {
		t.evicted(fnv64a(key), n)
	}
	c.evictions.Add(1)
	after := c.evictedBytes.Add(uint64(n))
	if after/collectEvery != (after-uint64(n))/collectEvery && c.collecting.CompareAndSwap(false, true) {
		go func() {
			defer c.collecting.Store(false)
			runtime.GC()
		}()
	}
}

// Get returns the cached JSON of uid, a copy the caller owns.
func (c *Cache) Get(uid string) ([]byte, bool) {
	b, err := c.bc.Get(uid)
	return b, err == nil
}

// Set caches json under uid; both are copied. An entry larger than half a
// shard returns ErrEntryTooLarge and stores nothing: bigcache makes room by
// evicting a shard's oldest entries one by one, and for an entry that can
// never fit it would empty the whole shard before failing. Failures are
// counted in FailedSets.
func (c *Cache) Set(uid string, json []byte) error {
	if t := c.tally.Load(); t != nil {
		t.other(fnv64a(uid))
	}
	return c.set(uid, json)
}

func (c *Cache) set(uid string, json []byte) error {
	if need := len(uid) + len(json) + entryOverhead; need >= c.maxEntry || len(uid) > math.MaxUint16 {
		c.failedSets.Add(1)
		return fmt.Errorf("cache order: %w: %d bytes, at most %d fit", ErrEntryTooLarge, need, c.maxEntry-1)
	}
	if err := c.bc.Set(uid, json); err != nil {
		c.failedSets.Add(1)
		return fmt.Errorf("cache order: %w", err)
	}
	return nil
}

// Len returns the number of cached orders.
func (c *Cache) Len() int { return c.bc.Len() }

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	s := c.bc.Stats()
	return CacheStats{
		Entries:      c.bc.Len(),
		Hits:         uint64(s.Hits),
		Misses:       uint64(s.Misses),
		Collisions:   uint64(s.Collisions),
		Bytes:        c.bc.Capacity(),
		FailedSets:   c.failedSets.Load(),
		Evictions:    c.evictions.Load(),
		EvictedBytes: c.evictedBytes.Load(),
	}
}

// Close releases the cache. It is safe to call more than once; the cache
// must not be used afterwards.
func (c *Cache) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.bc.Close() })
	return err
}

// nopLogger keeps bigcache quiet whatever its verbosity: this package logs
// nothing.
type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
