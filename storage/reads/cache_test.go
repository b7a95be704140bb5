package reads

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

func newTestCache(t testing.TB, maxBytes int) *Cache {
	t.Helper()
	c, err := NewCache(maxBytes)
	if err != nil {
		t.Fatalf("NewCache(%d): %v", maxBytes, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCache_SetGet(t *testing.T) {
	c := newTestCache(t, 8<<20)
	doc := storetest.Rec(t, storetest.OrderWith(t, "a", nil)).JSON
	if err := c.Set("a", doc); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, ok := c.Get("a")
	if !ok || !bytes.Equal(got, doc) {
		t.Fatalf("Get(a) = %q, %v; want the stored JSON", got, ok)
	}
	got[0] = 'x' // the caller owns its copy
	if again, _ := c.Get("a"); !bytes.Equal(again, doc) {
		t.Errorf("modifying Get's answer changed the cached entry")
	}
	if got, ok := c.Get("b"); ok {
		t.Errorf("Get(b) = %q, true; want a miss", got)
	}
	s := c.Stats()
	if s.Entries != 1 || c.Len() != 1 || s.Hits != 2 || s.Misses != 1 || s.FailedSets != 0 || s.Bytes <= 0 {
		t.Errorf("Stats() = %+v, Len() = %d; want 1 entry, 2 hits, 1 miss, no failed sets, some bytes", s, c.Len())
	}
}

func TestCache_Layout(t *testing.T) {
	f := func(maxBytes, wantMB, wantShards int) {
		t.Helper()
		if mb, shards := cacheLayout(maxBytes); mb != wantMB || shards != wantShards {
			t.Errorf("cacheLayout(%d) = %d MiB in %d shards, want %d MiB in %d", maxBytes, mb, shards, wantMB, wantShards)
		}
	}
	f(1, 1, 1)              // below a MiB: the 1 MiB minimum, one shard
	f(1<<20, 1, 1)          // smaller than minShardMB: one shard
	f(7<<20, 7, 1)          // two shards would get less than 4 MiB each
	f(8<<20, 8, 2)          // two of 4 MiB
	f(1<<30, 1024, 256)     // 1 GiB: 256 shards of 4 MiB
	f(24<<30, 24*1024, 256) // larger caches get larger shards, not more

	for _, n := range []int{0, -1} {
		if c, err := NewCache(n); err == nil {
			c.Close()
			t.Errorf("NewCache(%d) succeeded, want an error", n)
		}
	}
}

// TestCache_EntriesOutliveLifeWindow is the regression test for bigcache's
// LifeWindow trap: with CleanWindow 0 every Set evicts its shard's oldest
// entry once that is older than LifeWindow. A one-shard cache puts both
// entries in the same shard; the sleep is real because bigcache takes no
// clock (and counts whole seconds).
func TestCache_EntriesOutliveLifeWindow(t *testing.T) {
	t.Parallel()
	c := newTestCache(t, 1<<20)
	if _, shards := cacheLayout(1 << 20); shards != 1 {
		t.Fatalf("a 1 MiB cache has %d shards; the test needs one", shards)
	}
	if err := c.Set("old", []byte(`{"order_uid":"old"}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if err := c.Set("new", []byte(`{"order_uid":"new"}`)); err != nil {
		t.Fatal(err)
	}
	for _, uid := range []string{"old", "new"} {
		if _, ok := c.Get(uid); !ok {
			t.Errorf("Get(%s) missed: entries must never expire", uid)
		}
	}
}

func TestCache_RefusesEntryTooLargeKeepingTheShard(t *testing.T) {
	c := newTestCache(t, 1<<20) // one shard of 1 MiB
	if err := c.Set("small", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	f := func(size int) {
		t.Helper()
		err := c.Set("big", bytes.Repeat([]byte{'x'}, size))
		if !errors.Is(err, ErrEntryTooLarge) {
			t.Errorf("Set of %d bytes: %v, want ErrEntryTooLarge", size, err)
		}
		if _, ok := c.Get("small"); !ok {
			t.Errorf("Set of %d bytes evicted the rest of the shard", size)
		}
	}
	f(2 << 20)   // bigger than the shard
	f(1 << 20)   // the shard's size
	f(512 << 10) // half of it: bigcache may have to empty the shard to make room
	if got := c.Stats().FailedSets; got != 3 {
		t.Errorf("FailedSets = %d, want 3", got)
	}
	if err := c.Set(strings.Repeat("k", 1<<16), []byte("{}")); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("Set with a 64 KiB key: %v, want ErrEntryTooLarge (bigcache stores key lengths in 16 bits)", err)
	}
	// Just under the limit is accepted.
	if err := c.Set("fits", bytes.Repeat([]byte{'x'}, 400<<10)); err != nil {
		t.Errorf("Set of 400 KiB in a 1 MiB shard: %v", err)
	}
}

func TestCache_EvictsOldestWhenFull(t *testing.T) {
	c := newTestCache(t, 1<<20)
	doc := bytes.Repeat([]byte{'x'}, 1000)
	const n = 3000 // ~3 MiB into 1 MiB
	for i := range n {
		if err := c.Set(fmt.Sprintf("order-%d", i), doc); err != nil {
			t.Fatalf("Set %d: %v", i, err)
		}
	}
	if l := c.Len(); l >= n || l < 500 {
		t.Errorf("Len() = %d after %d sets of 1 KB into 1 MiB, want the cache bounded and mostly full", l, n)
	}
	if _, ok := c.Get("order-0"); ok {
		t.Error("the oldest entry survived a full cache")
	}
	if _, ok := c.Get(fmt.Sprintf("order-%d", n-1)); !ok {
		t.Error("the newest entry is missing")
	}
	s := c.Stats()
	if s.Bytes > 1<<20 {
		t.Errorf("cache holds %d bytes, more than its 1 MiB", s.Bytes)
	}
	// One shard: the evicted are the first n-Len set.
	var evictedBytes uint64
	for i := range n - c.Len() {
		evictedBytes += uint64(len(fmt.Sprintf("order-%d", i)) + len(doc))
	}
	if int(s.Evictions) != n-c.Len() || s.EvictedBytes != evictedBytes {
		t.Errorf("Stats() = %+v with %d of %d cached; want the %d evicted counted, with their bytes", s, c.Len(), n, n-c.Len())
	}
}

// A cache made for an estimate holds that many orders without growing, and
// one of CacheSizeFor's size holds them all.
func TestCache_SizedForAnEstimate(t *testing.T) {
	for _, tc := range []struct {
		orders, size int
	}{{10, 1500}, {3000, 300}, {20000, 1800}, {400000, 100}} {
		t.Run(fmt.Sprintf("%dx%d", tc.orders, tc.size), func(t *testing.T) {
			doc := bytes.Repeat([]byte{'x'}, tc.size)
			uid := func(i int) string { return fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15) }
			expect := storage.Estimate{Orders: int64(tc.orders), Bytes: int64(tc.orders * (len(uid(0)) + tc.size))}
			fill := func(c *Cache) CacheStats {
				t.Helper()
				for i := range tc.orders {
					if err := c.Set(uid(i), doc); err != nil {
						t.Fatalf("Set %d: %v", i, err)
					}
				}
				return c.Stats()
			}

			big, err := NewCacheFor(1<<30, expect)
			if err != nil {
				t.Fatal(err)
			}
			defer big.Close()
			before := big.Stats().Bytes
			if after := fill(big); after.Bytes != before || after.Evictions != 0 || after.Entries != tc.orders {
				t.Errorf("a 1 GiB cache made for %+v grew from %d to %d bytes (%+v)", expect, before, after.Bytes, after)
			}
			// At 1,500 orders a shard and more, the margin for the fullest
			// shard is under a tenth of the entries' bytes.
			entries := expect.Bytes + expect.Orders*entryOverhead
			if tc.orders/256 >= 1500 && float64(before) > 1.12*float64(entries) {
				t.Errorf("a cache made for %d bytes of entries reserved %d", entries, before)
			}

			mb := CacheSizeFor(expect)
			exact, err := NewCacheFor(mb<<20, expect)
			if err != nil {
				t.Fatal(err)
			}
			defer exact.Close()
			if !exact.Holds(expect) {
				t.Errorf("a cache of CacheSizeFor(%+v) = %d MiB does not hold it", expect, mb)
			}
			if s := fill(exact); s.Evictions != 0 || s.Entries != tc.orders {
				t.Errorf("a cache of CacheSizeFor(%+v) = %d MiB kept %d of %d orders", expect, mb, s.Entries, tc.orders)
			}
			if mb > 1 && mb > int(float64(expect.Bytes)*1.3)>>20+1 {
				t.Errorf("CacheSizeFor(%+v) = %d MiB, more than 1.3 times the data", expect, mb)
			}
		})
	}
}

func BenchmarkCache_GetHit(b *testing.B) {
	c := newTestCache(b, 64<<20)
	doc := storetest.Rec(b, storetest.OrderWith(b, "b563feb7b2b84b6test", nil)).JSON
	if err := c.Set("b563feb7b2b84b6test", doc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, ok := c.Get("b563feb7b2b84b6test"); !ok {
			b.Fatal("miss")
		}
	}
}

// A cache smaller than the data it is made for is its full size from the
// start: filling it past full then allocates the evicted entries' copies
// (bigcache's, for the eviction callback) and nothing more. Made short of
// it, the shards were copied into new full-size buffers as they filled, a
// whole cache's size of garbage.
func TestCache_MadeTooSmallForAnEstimateNeverGrows(t *testing.T) {
	const orders, size = 40000, 1000
	// Sizes vary, as orders' do: 500 to 1,499 bytes, 1,000 on average.
	uids, docs := make([]string, orders), make([][]byte, orders)
	for i := range uids {
		uids[i] = fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)
		docs[i] = bytes.Repeat([]byte{'x'}, 500+i*7919%1000)
	}
	c, err := NewCacheFor(16<<20, storage.Estimate{Orders: orders, Bytes: orders * (16 + size)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Stats().Bytes; got != 16<<20 {
		t.Errorf("a 16 MiB cache made for 40 MB starts with %d bytes", got)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i, uid := range uids {
		if err := c.Set(uid, docs[i]); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	s := c.Stats()
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes allocated, %d evicted (%d orders)", allocated, s.EvictedBytes, s.Evictions)
	if s.Evictions == 0 || allocated > s.EvictedBytes+4<<20 {
		t.Errorf("filling a 16 MiB cache with 40 MB allocated %d bytes; want about the %d evicted", allocated, s.EvictedBytes)
	}
}

// BenchmarkCache_SetEvicting is ingest into a full cache, the steady state
// of a store larger than the cache: every Set evicts an order as large.
// Besides the time per Set it reports, per GiB evicted, the GC cycles and
// the GC's CPU (runtime/metrics, process-wide), and the process's peak RSS
// (VmHWM, the fill included). CACHE_BENCH_MB sets the cache's size (default
// 256); run it with and without GOMEMLIMIT.
func BenchmarkCache_SetEvicting(b *testing.B) {
	mb := 256
	if v := os.Getenv("CACHE_BENCH_MB"); v != "" {
		var err error
		if mb, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	const size = 1900 // the bench's orders' average
	c, err := NewCacheFor(mb<<20, storage.Estimate{Orders: int64(mb) << 20 / size * 2, Bytes: int64(mb) << 21})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	doc := bytes.Repeat([]byte{'x'}, size)
	key := make([]byte, 0, 32)
	uid := func(i int) string {
		key = strconv.AppendInt(append(key[:0], "order-"...), int64(i), 10)
		return string(key)
	}
	n := 0
	for ; c.Stats().Evictions == 0; n++ {
		_ = c.Set(uid(n), doc)
	}
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(samples)
	cycles, gcCPU := samples[0].Value.Uint64(), samples[1].Value.Float64()
	evicted := c.Stats().EvictedBytes
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = c.Set(uid(n+i), doc)
	}
	b.StopTimer()
	metrics.Read(samples)
	gib := float64(c.Stats().EvictedBytes-evicted) / (1 << 30)
	b.ReportMetric(float64(samples[0].Value.Uint64()-cycles)/gib, "gc/GiB")
	b.ReportMetric((samples[1].Value.Float64()-gcCPU)*1000/gib, "gc-cpu-ms/GiB")
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				v, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
				b.ReportMetric(float64(v)/1024, "peak-RSS-MiB")
			}
		}
	}
}
