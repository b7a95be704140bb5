package warmup

import (
	"github.com/orderd/orderd/storage/reads"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics record the last cache warm-up.
type metrics struct {
	duration    prometheus.Gauge
	read        prometheus.Gauge
	readBytes   prometheus.Gauge
	cached      prometheus.Gauge
	cachedBytes prometheus.Gauge
	fitsMB      prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		reg.MustRegister(g)
		return g
	}
	return metrics{
		duration:  gauge("orderd_cache_warmup_duration_seconds", "How long loading the stored orders into the cache took at start."),
		read:      gauge("orderd_cache_warmup_read_orders", "Stored orders the warm-up read."),
		readBytes: gauge("orderd_cache_warmup_read_bytes", "Bytes of JSON and order_uids the warm-up read."),
		cached: gauge("orderd_cache_warmup_orders",
			"Of the orders the warm-up read, those the cache held at its end; fewer than orderd_cache_warmup_read_orders when CACHE_SIZE_MB is too small for them."),
		cachedBytes: gauge("orderd_cache_warmup_cached_bytes", "Bytes of JSON and order_uids of orderd_cache_warmup_orders."),
		fitsMB:      gauge("orderd_cache_warmup_fits_in_mb", "The CACHE_SIZE_MB that would hold every order the warm-up read."),
	}
}

// observe records rep.
func (m metrics) observe(rep reads.WarmUpReport) {
	m.duration.Set(rep.Took.Seconds())
	m.read.Set(float64(rep.Read))
	m.readBytes.Set(float64(rep.ReadBytes))
	m.cached.Set(float64(rep.Cached))
	m.cachedBytes.Set(float64(rep.CachedBytes))
	m.fitsMB.Set(float64(rep.FitsInMB()))
}
