package server

import (
	"encoding/json"
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
