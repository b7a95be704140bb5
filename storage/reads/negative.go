package reads

import "sync"

// negativeCache remembers, for a short time, which order_uids the store did
// not have, so a flood of requests for nonexistent ids costs PostgreSQL one
// query per id per TTL instead of one per request.
//
// It is a fixed-size, direct-mapped table: slot = hash(uid) % len(slots),
// one entry per slot, a new id simply overwriting whatever shared its slot.
// Memory is therefore bounded whatever ids arrive (a flood of random ids
// would make any map-based cache grow without limit), every operation is
// O(1), and nothing needs sweeping: an expired slot is just overwritten
// later. A collision only costs a store query that would otherwise have been
// saved, and the read-through limiter bounds those.
//
// Slots are guarded by a fixed set of mutexes (slot i by locks[i%len(locks)])
// so concurrent misses on different ids rarely contend.
type negativeCache struct {
	ttl   int64 // nanoseconds
	slots []negativeSlot
	locks []sync.Mutex
}

type negativeSlot struct {
	uid     string // owned by the cache (cloned by the caller)
	expires int64  // unix nanoseconds
}

// negativeLockStripes is the number of mutexes guarding the slots.
const negativeLockStripes = 64

func newNegativeCache(slots int, ttl int64) *negativeCache {
	return &negativeCache{
		ttl:   ttl,
		slots: make([]negativeSlot, slots),
		locks: make([]sync.Mutex, min(slots, negativeLockStripes)),
	}
}

// slot returns the index of uid's slot.
//
// FNV-1a, not a seeded hash: tests can rely on which ids collide, and an
// attacker who makes ids collide only turns negative hits into store
// queries, which the read-through limiter already bounds.
func (n *negativeCache) slot(uid string) int {
	h := uint64(14695981039346656037)
	for i := 0; i < len(uid); i++ {
		h ^= uint64(uid[i])
		h *= 1099511628211
	}
	return int(h % uint64(len(n.slots)))
}

// has reports whether uid was recorded as missing and has not expired at now.
func (n *negativeCache) has(uid string, now int64) bool {
	i := n.slot(uid)
	mu := &n.locks[i%len(n.locks)]
	mu.Lock()
	s := n.slots[i]
	mu.Unlock()
	return s.uid == uid && now < s.expires
}

// add records uid as missing from now on for the TTL. uid must not alias a
// buffer that will be reused.
func (n *negativeCache) add(uid string, now int64) {
	i := n.slot(uid)
	mu := &n.locks[i%len(n.locks)]
	mu.Lock()
	n.slots[i] = negativeSlot{uid: uid, expires: now + n.ttl}
	mu.Unlock()
}

// remove forgets uid if its slot holds it.
func (n *negativeCache) remove(uid string) {
	i := n.slot(uid)
	mu := &n.locks[i%len(n.locks)]
	mu.Lock()
	if n.slots[i].uid == uid {
		n.slots[i] = negativeSlot{}
	}
	mu.Unlock()
}
