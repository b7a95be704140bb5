package server

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/api"
	"github.com/orderd/orderd/server/admin"
	"github.com/orderd/orderd/server/instrument"
	"github.com/orderd/orderd/server/probes"
	"github.com/orderd/orderd/server/reply"
)

// routes lists every route orderd serves, and returns the router too, whose
// paths the tests hold to api/openapi.yaml's.
func routes(d Deps) (fasthttp.RequestHandler, *router.Router, error) {
	m := d.Metrics
	closing := d.Closing
	if closing == nil {
		closing = new(atomic.Bool)
	}
	index, assets, err := loadUI(d.UI)
	if err != nil {
		return nil, nil, err
	}
	tracing := instrument.NewTracing(d.Tracer)
	r := router.New()
	// apiRoute registers an API route, counted under label and traced under its
	// method and path; adminRoute, one behind the admin token.
	apiRoute := func(method, path, label string, h fasthttp.RequestHandler) {
		r.Handle(method, path, m.Traced(tracing, label, method, path, h))
	}
	adminRoute := func(method, path string, h fasthttp.RequestHandler) {
		if d.AdminToken == "" {
			h = admin.Disabled()
		} else {
			h = admin.RequireToken(d.AdminToken, h)
		}
		apiRoute(method, path, "admin", h)
	}
	r.RedirectTrailingSlash = false // /order/ is a bad request, not a redirect
	r.RedirectFixedPath = false     // an API answers what was asked: a path it cleaned up is a 404, not a 301
	r.NotFound = m.Instrument("unmatched", handleNoRoute())
	r.MethodNotAllowed = m.Instrument("unmatched", handleMethodNotAllowed())
	r.PanicHandler = handlePanic(d.Log)

	getOrder := handleOrder(d.Orders)
	r.GET("/", m.Instrument("ui", handleUI(index)))
	r.GET("/assets/{name}", m.Instrument("ui", handleAsset(assets)))
	apiRoute("GET", "/api/orders", "api_orders", handleListOrders(d.List))
	apiRoute("GET", "/api/stats", "api_stats", handleStats(d.Stats))
	apiRoute("GET", "/api/stats/history", "api_history", handleHistory(d.History))
	adminRoute("GET", "/api/admin/dlq", admin.List(d.DLQ, apiTimeout))
	adminRoute("GET", "/api/admin/dlq/{partition}/{offset}", admin.Show(d.DLQ, apiTimeout))
	adminRoute("POST", "/api/admin/dlq/redrive", admin.Redrive(d.DLQ, apiTimeout))
	// Registered so that other methods get 405; every GET of it is taken
	// by the fast path below.
	r.GET("/order/{id}", m.Instrument("order", func(ctx *fasthttp.RequestCtx) {
		getOrder(ctx, orderIDFromPath(ctx.Path()), context.Background())
	}))
	r.GET("/order/", m.Instrument("order", handleMissingID()))
	r.GET("/health", m.Instrument("health", probes.Health(d.Health)))
	r.GET("/readyz", m.Instrument("readyz", probes.Ready(d.Health, d.Ready)))
	r.GET("/livez", m.Instrument("livez", probes.Live(d.Loops, d.LivenessStall, d.Log)))
	r.GET("/openapi.yaml", m.Instrument("openapi", handleOpenAPI(api.OpenAPI)))
	if d.MetricsHandler != nil {
		r.GET("/metrics", m.Instrument("metrics", d.MetricsHandler))
	}

	// GET /order/{id} is the hot path and is matched before the router,
	// which allocates three times per request for a path parameter. Other
	// methods and paths go through the router, which answers 405 and 404.
	order := m.Route("order")
	orderTraced := tracing.Route("GET", "/order/{id}")
	// Refused before routing, so counted with what no route took.
	getWithBody := m.Instrument("unmatched", func(ctx *fasthttp.RequestCtx) {
		reply.Static(ctx, fasthttp.StatusBadRequest, bodyGetWithBody)
	})
	return func(ctx *fasthttp.RequestCtx) {
		// Every response: a browser must never guess a content type, for
		// JSON holding untrusted order text least of all.
		ctx.Response.Header.SetCanonical(headerNosniff, valueNosniff)
		if closing.Load() {
			ctx.SetConnectionClose()
		}
		if ctx.IsGet() {
			// Only POST /api/admin/dlq/redrive takes a body.
			if len(ctx.Request.Body()) > 0 {
				getWithBody(ctx)
				return
			}
			if id := orderIDFromPath(ctx.Path()); id != nil {
				start := instrument.RequestStart(ctx)
				reads, span := tracing.Start(ctx, orderTraced)
				getOrder(ctx, id, reads)
				status := ctx.Response.StatusCode()
				order.ObserveTraced(status, time.Since(start), span)
				instrument.End(span, status)
				return
			}
		}
		r.Handler(ctx)
	}, r, nil
}

var (
	headerNosniff   = []byte("X-Content-Type-Options")
	valueNosniff    = []byte("nosniff")
	bodyGetWithBody = []byte(`{"error":"a GET request takes no body"}`)
)

var orderPrefix = []byte("/order/")

// orderIDFromPath returns the id of /order/{id}, or nil for any other path
// (including /order/ and /order/{id}/more).
func orderIDFromPath(path []byte) []byte {
	id, ok := bytes.CutPrefix(path, orderPrefix)
	if !ok || len(id) == 0 || bytes.IndexByte(id, '/') >= 0 {
		return nil
	}
	return id
}
