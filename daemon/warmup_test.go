package daemon

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order/orderfake"
)

// A warm-up into a cache too small for the stored orders says so: in
// /health's warmup detail, in its metrics and in a warning, naming the
// CACHE_SIZE_MB that would hold them. The newest are the ones kept. Started
// again with that size, orderd caches them all.
func TestWarmUp_SaysWhatTheCacheHolds(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	const stored = 6000 // about 8 MB of JSON
	uids := saveDirectly(t, dbURL, orderfake.New(12), stored)
	env := map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "CACHE_SIZE_MB": "4"}

	small := startDaemon(t, env)
	small.waitHealthy(t)
	_, h := small.health(t)
	detail := h.Components["warmup"].Detail
	t.Logf("CACHE_SIZE_MB=4: %s", detail)
	m := small.metrics(t)
	read, cached, entries := m["orderd_cache_warmup_read_orders"], m["orderd_cache_warmup_orders"], m["orderd_cache_entries"]
	fits := int(m["orderd_cache_warmup_fits_in_mb"])
	if read != stored || cached >= stored || cached < stored/4 || cached != entries {
		t.Fatalf("CACHE_SIZE_MB=4: warm-up read %v and cached %v orders, the cache holds %v; want all %d read, fewer cached, as many as it holds",
			read, cached, entries, stored)
	}
	if m["orderd_cache_warmup_cached_bytes"] >= m["orderd_cache_warmup_read_bytes"] || fits <= 4 {
		t.Fatalf("CACHE_SIZE_MB=4: cached %v of %v bytes, fits in %d MiB; want fewer bytes cached, and more than 4 MiB to fit them",
			m["orderd_cache_warmup_cached_bytes"], m["orderd_cache_warmup_read_bytes"], fits)
	}
	want := fmt.Sprintf("only the newest %d of %d stored orders cached", int(cached), stored)
	if !strings.Contains(detail, want) || !strings.Contains(detail, fmt.Sprintf("CACHE_SIZE_MB=4 is too small: %d would hold them all", fits)) {
		t.Errorf("warmup detail %q, want it to say %q and name the CACHE_SIZE_MB that fits", detail, want)
	}
	if logs := small.logs.String(); !regexp.MustCompile(`"level":"warn"[^\n]*"orders_read":6000[^\n]*only the newest`).MatchString(logs) {
		t.Errorf("no warning that only the newest orders were cached in the log:\n%s", logs)
	}
	// Oldest first, so the newest are kept. Served from the cache: the
	// cache-hit counter moves, the read-through one does not.
	before := small.metrics(t)
	if code, _ := small.get(t, "/order/"+uids[stored-1]); code != http.StatusOK {
		t.Fatalf("GET the newest order: %d", code)
	}
	after := small.metrics(t)
	if after["orderd_cache_hits_total"] != before["orderd_cache_hits_total"]+1 || after["orderd_readthrough_queries_total"] != before["orderd_readthrough_queries_total"] {
		t.Errorf("the newest order was not served from the cache after the warm-up")
	}
	if err := small.stop(t); err != nil {
		t.Fatal(err)
	}

	env["CACHE_SIZE_MB"] = strconv.Itoa(fits)
	big := startDaemon(t, env)
	big.waitHealthy(t)
	_, h = big.health(t)
	m = big.metrics(t)
	if m["orderd_cache_warmup_orders"] != stored || m["orderd_cache_entries"] != stored || m["orderd_cache_evictions_total"] != 0 {
		t.Errorf("CACHE_SIZE_MB=%d, what the smaller run said would fit: cached %v of %d, %v evicted",
			fits, m["orderd_cache_warmup_orders"], stored, m["orderd_cache_evictions_total"])
	}
	if d := h.Components["warmup"].Detail; !strings.Contains(d, fmt.Sprintf("all %d stored orders cached", stored)) {
		t.Errorf("warmup detail %q, want it to say all %d orders are cached", d, stored)
	}
}
