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

// metricsHandler serves reg over fasthttp: in OpenMetrics to a scraper
// that asks for it (Prometheus does), which is the format that carries the
// histograms' exemplars, the trace ids that lead from a latency to a trace;
// in the Prometheus text format otherwise.
func metricsHandler(reg *prometheus.Registry) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true}))
}
