package reads

import (
	"sync"
	"sync/atomic"
)

// maxOthers bounds how many keys put by others a warm-up tells apart from
// its own (about 16 bytes each: 4 MiB at most). A quarter of a million is
// ingest at 5,000 orders a second through a warm-up of 50 seconds.
const maxOthers = 1 << 18

// warmTally tells a warm-up's entries apart from the others' while it
// runs: those put by Cache.Set (the pipeline's Put, a Follower, a read
// through to the store) during the warm-up or before it began. Its set of
// the others' keys is what an eviction is judged by: an entry not in it is
// the warm-up's. Keys are by hash, as bigcache keeps them: two keys with
// one hash are one entry to it.
type warmTally struct {
	mu     sync.Mutex
	others map[uint64]struct{}
	n      atomic.Int64 // len(others), read without the lock
	// untracked counts others' entries past maxOthers: their evictions
	// count as the warm-up's.
	untracked int
	warm      evictions // the warm-up's entries evicted
	theirs    evictions // the others' entries evicted
}

type evictions struct {
	n     int
	bytes int64
}

// other records that the entry of key hash h is now the others'.
func (t *warmTally) other(h uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.others) >= maxOthers {
		t.untracked++
		return
	}
	t.others[h] = struct{}{}
	t.n.Store(int64(len(t.others)))
}

// mine records that the entry of key hash h is now the warm-up's: bigcache
// replaces an entry Set again, and the one replaced leaves no eviction.
func (t *warmTally) mine(h uint64) {
	if t.n.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.others, h)
	t.n.Store(int64(len(t.others)))
}

// evicted counts the eviction of the entry of key hash h, of size bytes.
func (t *warmTally) evicted(h uint64, size int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.others[h]; ok {
		delete(t.others, h)
		t.n.Store(int64(len(t.others)))
		t.theirs.n++
		t.theirs.bytes += int64(size)
		return
	}
	t.warm.n++
	t.warm.bytes += int64(size)
}

// beginWarmUp starts telling a warm-up's entries apart from the others',
// until endWarmUp; one warm-up at a time. The entries already cached are
// the others' (up to maxOthers of them).
func (c *Cache) beginWarmUp() *warmTally {
	t := &warmTally{others: make(map[uint64]struct{})}
	// Set first, so that no entry put from now on is missed; the listing
	// may then see some of those too, which changes nothing.
	c.tally.Store(t)
	if c.bc.Len() == 0 {
		return t
	}
	it := c.bc.Iterator()
	for it.SetNext() {
		e, err := it.Value()
		if err != nil {
			continue // evicted since the listing began
		}
		t.other(e.Hash())
		if t.n.Load() >= maxOthers {
			break
		}
	}
	return t
}

// endWarmUp stops the tally begun by beginWarmUp and returns the
// evictions of the warm-up's entries, and of the others'.
func (c *Cache) endWarmUp(t *warmTally) (own, theirs evictions) {
	c.tally.CompareAndSwap(t, nil)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.warm, t.theirs
}

// setWarm is Set for the warm-up: the entry is the warm-up's.
func (c *Cache) setWarm(uid string, json []byte) error {
	if t := c.tally.Load(); t != nil {
		t.mine(fnv64a(uid))
	}
	return c.set(uid, json)
}

// fnv64a is FNV-1a to 64 bits, the cache's hash (bigcache's default, set
// explicitly in NewCacheFor so that the tally's hashes are the cache's).
func fnv64a(key string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime64
	}
	return h
}

// fnvHasher is fnv64a as a bigcache.Hasher.
type fnvHasher struct{}

func (fnvHasher) Sum64(key string) uint64 { return fnv64a(key) }
