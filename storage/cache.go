package storage

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"
)

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
	maxEntry   int
	failedSets atomic.Uint64
	closeOnce  sync.Once
}

// CacheStats is a snapshot of the cache's counters.
type CacheStats struct {
	Entries    int    // orders in the cache now
	Hits       uint64 // Get calls that found the order
	Misses     uint64 // Get calls that did not
	Collisions uint64 // Get calls that found another uid under the same 64-bit hash (counted as misses by the caller, not in Misses)
	Bytes      int    // bytes allocated to entries; grows up to the configured size and stays there
	FailedSets uint64 // Set calls that stored nothing (entry too large, or refused by bigcache)
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
// down to whole MiB, at least 1 MiB). Process memory is somewhat higher:
// each shard also keeps a Go map entry (uint64 to uint32) per cached order.
//
// The memory is split into a power-of-two number of shards, each with its own
// lock, each getting at least minShardMB (except in a cache smaller than
// that, which is a single shard).
func NewCache(maxBytes int) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("new cache: size must be positive, got %d bytes", maxBytes)
	}
	mb, shards := cacheLayout(maxBytes)
	shardBytes := (mb << 20) / shards
	if shardBytes > math.MaxUint32 {
		// bigcache indexes a shard with uint32 offsets.
		return nil, fmt.Errorf("new cache: %d MiB is more than %d shards of 4 GiB", mb, maxShards)
	}
	bc, err := bigcache.New(context.Background(), bigcache.Config{
		Shards: shards,
		// LifeWindow is not a read TTL. With CleanWindow 0, every Set first
		// evicts its shard's oldest entry if that entry is older than
		// LifeWindow (shard.go: set → onEvict), at one-second resolution; a
		// zero or short LifeWindow makes the cache forget orders seconds
		// after storing them. Orders are immutable and never expire: make
		// the window effectively infinite (~292 years) and run no cleaner.
		LifeWindow:  time.Duration(math.MaxInt64),
		CleanWindow: 0,
		// Only the initial allocation; see initialEntriesPerShard.
		MaxEntriesInWindow: shards * initialEntriesPerShard,
		MaxEntrySize:       typicalEntrySize,
		// A full shard makes room by evicting its oldest entries (NoSpace),
		// whatever their age: the store stays the fallback.
		HardMaxCacheSize: mb,
		// StatsEnabled would count hits per key under the shard's write
		// lock on every Get; bigcache keeps the hit, miss and collision
		// totals atomically without it.
		StatsEnabled: false,
		Verbose:      false,
		Logger:       nopLogger{},
		// Hasher is the default, FNV-1a to 64 bits, and a shard's map is by
		// hash: a Set whose key collides with a stored one replaces it, and
		// a Get of the replaced key compares the full key and reads as a
		// miss (Collisions), so the store answers. At ~n²/2^65 it is
		// harmless.
	})
	if err != nil {
		return nil, fmt.Errorf("new cache: %w", err)
	}
	return &Cache{bc: bc, maxEntry: shardBytes / 2}, nil
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
		Entries:    c.bc.Len(),
		Hits:       uint64(s.Hits),
		Misses:     uint64(s.Misses),
		Collisions: uint64(s.Collisions),
		Bytes:      c.bc.Capacity(),
		FailedSets: c.failedSets.Load(),
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
