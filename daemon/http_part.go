package daemon

import (
	"net"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/serve"
	"github.com/orderd/orderd/server"
	"github.com/orderd/orderd/web"
)

// httpPart serves the API, the UI, /health and /metrics (see serve.HTTP).
// What it reads through is set later: the late* holders.
func (d *daemon) httpPart(adminToken string) parts.Part {
	return serve.HTTP{
		Config: d.cfg,
		Deps: server.Deps{
			Orders:         &d.reads,
			List:           &d.lister,
			Stats:          &d.stats,
			History:        d.history,
			DLQ:            &d.dead,
			Health:         d.health,
			Ready:          []string{"warmup", "lifecycle"},
			Loops:          d.loops,
			LivenessStall:  d.cfg.LivenessStall,
			Metrics:        d.httpMetrics,
			MetricsHandler: metricsHandler(d.prom),
			AdminToken:     adminToken,
			UI:             web.Static,
			Log:            d.component("http"),
			Closing:        &d.closing,
			Tracer:         d.tracing.Tracer(),
		},
		Log:        d.log,
		Die:        d.die,
		NotReadyAt: &d.notReadyAt,
		Listening:  func(addr net.Addr) { d.httpAddr = addr },
	}.Part()
}

// pprofPart serves net/http/pprof on PPROF_ADDR when it is set (see
// serve.Pprof).
func (d *daemon) pprofPart() parts.Part {
	return serve.Pprof(d.cfg.PprofAddr, d.log, d.die)
}
