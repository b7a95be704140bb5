package reads

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orderd/orderd/storage/memory"
)

func TestCollector_ExportsTheReadPathCounters(t *testing.T) {
	cache, err := NewCache(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	orders := NewOrders(memory.New(), cache, OrdersOptions{})
	orders.Put("a", []byte(`{}`))
	ctx := context.Background()
	orders.Get(ctx, "a")       // hit
	orders.Get(ctx, "missing") // miss, one store query, then remembered
	orders.Get(ctx, "missing") // negative hit

	want := `
# HELP orderd_cache_entries Orders in the cache.
# TYPE orderd_cache_entries gauge
orderd_cache_entries 1
# HELP orderd_cache_hits_total Order reads answered from the cache.
# TYPE orderd_cache_hits_total counter
orderd_cache_hits_total 1
# HELP orderd_readthrough_negative_hits_total Cache misses answered 404 from memory because the id was found missing moments ago.
# TYPE orderd_readthrough_negative_hits_total counter
orderd_readthrough_negative_hits_total 1
# HELP orderd_readthrough_queries_total Cache misses read through to the store.
# TYPE orderd_readthrough_queries_total counter
orderd_readthrough_queries_total 1
`
	err = testutil.CollectAndCompare(NewCollector(orders), strings.NewReader(want),
		"orderd_cache_entries", "orderd_cache_hits_total", "orderd_readthrough_queries_total", "orderd_readthrough_negative_hits_total")
	if err != nil {
		t.Fatal(err)
	}
}
