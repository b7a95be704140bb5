package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// newRegistry is the registry of one orderd: its own, not Prometheus's
// global one, so that several daemons in one test process do not collide.
// It carries the Go runtime and process collectors besides orderd's own.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// metricsHandler serves reg in the Prometheus text format over fasthttp.
func metricsHandler(reg *prometheus.Registry) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
}

// warmUpMetrics record the last cache warm-up.
type warmUpMetrics struct {
	duration prometheus.Gauge
	orders   prometheus.Gauge
}

func newWarmUpMetrics(reg prometheus.Registerer) warmUpMetrics {
	m := warmUpMetrics{
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orderd_cache_warmup_duration_seconds",
			Help: "How long loading the stored orders into the cache took at start.",
		}),
		orders: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orderd_cache_warmup_orders",
			Help: "Orders loaded into the cache at start.",
		}),
	}
	reg.MustRegister(m.duration, m.orders)
	return m
}
