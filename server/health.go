package server

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/health"
)

type healthBody struct {
	Status     string                     `json:"status"`
	Failing    []string                   `json:"failing,omitempty"`
	Components map[string]componentHealth `json:"components"`
}

type componentHealth struct {
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// handleHealth serves GET /health: 200 when every component is OK, 503
// naming the ones that are not otherwise.
func handleHealth(reg *health.Registry) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		rep := reg.Report()
		body := healthBody{Status: "ok", Components: make(map[string]componentHealth, len(rep.Components))}
		status := fasthttp.StatusOK
		if !rep.OK {
			body.Status = "unavailable"
			status = fasthttp.StatusServiceUnavailable
		}
		for _, c := range rep.Components {
			ch := componentHealth{Status: "ok", Since: c.Since.UTC()}
			if !c.OK {
				ch.Status, ch.Detail = "unavailable", c.Detail
				body.Failing = append(body.Failing, c.Name)
			}
			body.Components[c.Name] = ch
		}
		out, err := json.Marshal(body)
		if err != nil {
			writeError(ctx, fasthttp.StatusInternalServerError, "encode health: "+err.Error())
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		writeStatic(ctx, status, out)
	}
}

// handleReady serves GET /readyz: 200 while every component of ready is OK
// (for orderd: the cache warm-up has finished and it is not shutting down),
// 503 naming them otherwise. Kafka and PostgreSQL are not among them: a
// replica whose cache can answer reads is ready while they are away, and an
// orchestrator that turned it away would only lose those reads.
func handleReady(reg *health.Registry, ready []string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		rep := reg.Report()
		body := healthBody{Status: "ready", Components: map[string]componentHealth{}}
		status := fasthttp.StatusOK
		for _, c := range rep.Components {
			if !slices.Contains(ready, c.Name) {
				continue
			}
			ch := componentHealth{Status: "ok", Since: c.Since.UTC()}
			if !c.OK {
				ch.Status, ch.Detail = "unavailable", c.Detail
				body.Failing = append(body.Failing, c.Name)
				body.Status, status = "not ready", fasthttp.StatusServiceUnavailable
			}
			body.Components[c.Name] = ch
		}
		out, err := json.Marshal(body)
		if err != nil {
			writeError(ctx, fasthttp.StatusInternalServerError, "encode readiness: "+err.Error())
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		writeStatic(ctx, status, out)
	}
}

// bodyAlive is GET /livez's answer.
var bodyAlive = []byte(`{"status":"alive"}`)

// handleLive serves GET /livez: 200 whenever it is asked. It checks no
// dependency: an orchestrator restarts a container that fails it, and
// restarting orderd heals no outage of Kafka or PostgreSQL while it throws
// away a warm cache. What it proves is that the process still serves; a
// fatal error in one of orderd's own loops ends the process instead.
func handleLive() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		writeStatic(ctx, fasthttp.StatusOK, bodyAlive)
	}
}
