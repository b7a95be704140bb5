// Package server is orderd's HTTP face: GET /order/{order_uid} served from
// the cache in front of PostgreSQL, GET /health and GET /metrics. NewServer
// returns the handler; every route is listed in routes.go.
//
// fasthttp reuses the request context and every byte slice it hands out once
// a handler returns: nothing here keeps them, and the read path copies an id
// before remembering it.
package server

import (
	"context"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/health"
)

// OrderReader returns the JSON of one order as served, or an error wrapping
// storage.ErrNotFound or storage.ErrBusy. uid may alias a buffer reused after
// the call. *storage.Orders implements it.
type OrderReader interface {
	Get(ctx context.Context, uid string) ([]byte, error)
}

// Deps is what the handlers need. Every field but MetricsHandler is
// required.
type Deps struct {
	Orders  OrderReader
	Health  *health.Registry
	Metrics *Metrics
	// MetricsHandler serves GET /metrics; nil leaves the route out.
	MetricsHandler fasthttp.RequestHandler
	Log            zerolog.Logger
}

// NewServer returns orderd's HTTP handler.
func NewServer(d Deps) fasthttp.RequestHandler {
	if d.Orders == nil || d.Health == nil || d.Metrics == nil {
		panic("server: NewServer needs Orders, Health and Metrics")
	}
	return routes(d)
}
