// Package probes answers the orchestrator's and the operator's questions:
// GET /health (every component, 503 naming those not OK), GET /readyz (only
// what serving needs: a replica that serves from its cache is ready while
// Kafka or PostgreSQL is away) and GET /livez (503 only for a loop stuck on
// one piece of work, never for an outage). It reads health's registry and
// loops, and never imports the stores, the stages or Kafka.
package probes

import (
	"slices"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/server/reply"
)

// Report is the body of GET /health and /readyz.
type Report struct {
	Status     string                     `json:"status"`
	Failing    []string                   `json:"failing,omitempty"`
	Components map[string]ComponentReport `json:"components"`
}

// ComponentReport is one component in a Report.
type ComponentReport struct {
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// Health serves GET /health: 200 when every component is OK, 503
// naming the ones that are not otherwise.
func Health(reg *health.Registry) fasthttp.RequestHandler {
	return answer(reg, func(string) bool { return true }, "ok", "unavailable")
}

// Ready serves GET /readyz: 200 while every component of ready is OK
// (for orderd: the cache warm-up has finished and it is not shutting down),
// 503 naming them otherwise. Kafka and PostgreSQL are not among them: a
// replica whose cache can answer reads is ready while they are away, and an
// orchestrator that turned it away would only lose those reads.
func Ready(reg *health.Registry, ready []string) fasthttp.RequestHandler {
	return answer(reg, func(name string) bool { return slices.Contains(ready, name) }, "ready", "not ready")
}

// answer reports the components include picks: 200 with status ok when
// every one is OK, 503 with status failed naming those that are not.
func answer(reg *health.Registry, include func(name string) bool, ok, failed string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		body, healthy := report(reg, include)
		status := fasthttp.StatusOK
		body.Status = ok
		if !healthy {
			body.Status, status = failed, fasthttp.StatusServiceUnavailable
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		reply.JSON(ctx, status, body)
	}
}

// report is the state of reg's components that include accepts, and
// whether all of them are OK; the caller sets Status.
func report(reg *health.Registry, include func(name string) bool) (Report, bool) {
	rep := reg.Report()
	body := Report{Components: make(map[string]ComponentReport, len(rep.Components))}
	ok := true
	for _, c := range rep.Components {
		if !include(c.Name) {
			continue
		}
		ch := ComponentReport{Status: "ok", Detail: c.Detail, Since: c.Since.UTC()}
		if !c.OK {
			ch.Status = "unavailable"
			body.Failing = append(body.Failing, c.Name)
			ok = false
		}
		body.Components[c.Name] = ch
	}
	return body, ok
}

// bodyAlive is GET /livez's answer while nothing is stuck.
var bodyAlive = []byte(`{"status":"alive"}`)

type stuckBody struct {
	Status string      `json:"status"`
	Stuck  []stuckLoop `json:"stuck"`
}

type stuckLoop struct {
	Loop    string `json:"loop"`
	BusyFor string `json:"busy_for"`
}

// Live serves GET /livez: 200 while orderd's own loops are alive, 503
// naming those busy with one piece of work for longer than stall (see
// health.Loops), which only a restart ends. It checks no dependency: an
// orchestrator restarts a container that fails it, and restarting orderd
// heals no outage of Kafka or PostgreSQL while it throws away a warm cache;
// a loop waiting out an outage is not stuck. A loop that ends with an error
// ends the process instead. Each 503 is logged, so that the restart that
// follows has its reason in the log.
func Live(loops *health.Loops, stall time.Duration, log zerolog.Logger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		stuck := loops.Stuck(time.Now(), stall)
		if len(stuck) == 0 {
			reply.Static(ctx, fasthttp.StatusOK, bodyAlive)
			return
		}
		body := stuckBody{Status: "stuck"}
		names := make([]string, len(stuck))
		for i, s := range stuck {
			body.Stuck = append(body.Stuck, stuckLoop{Loop: s.Name, BusyFor: s.For.Round(time.Millisecond).String()})
			names[i] = s.Name
		}
		log.Error().Strs("loops", names).Stringer("limit", stall).Msg("loops busy with one piece of work past LIVENESS_STALL: /livez answers 503 so that the process is restarted")
		reply.JSON(ctx, fasthttp.StatusServiceUnavailable, body)
	}
}
