package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

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

// servePprof serves net/http/pprof on addr until ctx ends. It is opt-in and
// on its own listener, so profiling is never exposed on the public port.
func servePprof(ctx context.Context, addr string) (net.Addr, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	return ln.Addr(), done, nil
}
