package reads

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the read path's counters (Orders.Stats) to Prometheus.
// They are read when scraped, so the read path itself only keeps the atomic
// counters it already has.
type Collector struct {
	orders *Orders
}

// NewCollector returns a Collector for o.
func NewCollector(o *Orders) *Collector { return &Collector{orders: o} }

var (
	descCacheEntries    = prometheus.NewDesc("orderd_cache_entries", "Orders in the cache.", nil, nil)
	descCacheBytes      = prometheus.NewDesc("orderd_cache_bytes", "Memory the cache has allocated for entries.", nil, nil)
	descCacheHits       = prometheus.NewDesc("orderd_cache_hits_total", "Order reads answered from the cache.", nil, nil)
	descCacheMisses     = prometheus.NewDesc("orderd_cache_misses_total", "Order reads not found in the cache.", nil, nil)
	descCacheCollisions = prometheus.NewDesc("orderd_cache_collisions_total", "Cache reads that found another order_uid under the same 64-bit hash (read as a miss).", nil, nil)
	descCacheFailedSets = prometheus.NewDesc("orderd_cache_failed_sets_total", "Orders the cache could not hold (too large for a shard); they are read from PostgreSQL.", nil, nil)
	descCacheEvictions  = prometheus.NewDesc("orderd_cache_evictions_total", "Orders the cache dropped, oldest first, to make room for newer ones (CACHE_SIZE_MB is full); they are read from PostgreSQL.", nil, nil)
	descQueries         = prometheus.NewDesc("orderd_readthrough_queries_total", "Cache misses read through to the store.", nil, nil)
	descNegativeHits    = prometheus.NewDesc("orderd_readthrough_negative_hits_total", "Cache misses answered 404 from memory because the id was found missing moments ago.", nil, nil)
	descBusy            = prometheus.NewDesc("orderd_readthrough_busy_total", "Cache misses answered 503 because READ_CONCURRENCY queries were already running.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCacheEntries, descCacheBytes, descCacheHits, descCacheMisses,
		descCacheCollisions, descCacheFailedSets, descCacheEvictions, descQueries, descNegativeHits, descBusy} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.orders.Stats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(descCacheEntries, float64(s.Cache.Entries))
	gauge(descCacheBytes, float64(s.Cache.Bytes))
	counter(descCacheHits, s.Cache.Hits)
	counter(descCacheMisses, s.Cache.Misses)
	counter(descCacheCollisions, s.Cache.Collisions)
	counter(descCacheFailedSets, s.Cache.FailedSets)
	counter(descCacheEvictions, s.Cache.Evictions)
	counter(descQueries, s.Queries)
	counter(descNegativeHits, s.NegativeHits)
	counter(descBusy, s.Busy)
}
