// Package server is orderd's HTTP face: GET /order/{order_uid} served from
// the cache in front of PostgreSQL, the read API behind the web UI, the admin
// API for dead letters (server/admin), /health, /metrics, the UI itself and
// the API's description (/openapi.yaml, from package api). NewServer returns
// the handler; every route is listed in routes.go.
//
// fasthttp reuses the request context and every byte slice it hands out once
// a handler returns: nothing here keeps them, and the read path copies an id
// before remembering it.
package server

import (
	"context"
	"errors"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/server/admin"
	"github.com/orderd/orderd/server/instrument"
)

// OrderReader returns the JSON of one order as served, or an error wrapping
// storage.ErrNotFound or storage.ErrBusy. uid may alias a buffer reused after
// the call. *reads.Orders implements it.
type OrderReader interface {
	Get(ctx context.Context, uid string) ([]byte, error)
}

// Deps is what the handlers need. Every field is required but
// MetricsHandler, and AdminToken, without which the admin API answers 404.
type Deps struct {
	Orders OrderReader
	List   OrderLister
	Stats  StatsSource
	// History serves the UI's charts; nil, GET /api/stats/history
	// answers 503.
	History HistorySource
	DLQ     admin.DeadLetters
	Health  *health.Registry
	// Ready names the components GET /readyz requires; the others (Kafka,
	// PostgreSQL) only show on /health.
	Ready []string
	// Loops are orderd's own loops, of which GET /livez names those busy
	// with one piece of work for longer than LivenessStall; without Loops,
	// /livez only shows that HTTP serves.
	Loops         *health.Loops
	LivenessStall time.Duration
	Metrics       *instrument.Metrics
	// MetricsHandler serves GET /metrics; nil leaves the route out.
	MetricsHandler fasthttp.RequestHandler
	// AdminToken guards /api/admin/; empty disables the admin API.
	AdminToken string
	// UI is the web UI's files: index.html and its assets (web.Static).
	UI  fs.FS
	Log zerolog.Logger
	// Closing, once true, makes every answer say Connection: close: set at
	// the start of shutdown, so that clients leave their keep-alive
	// connections while HTTP still serves, and no connection is closed
	// under a request sent on it. nil: never.
	Closing *atomic.Bool
	// Tracer, if set, gives GET /order/{id} and the API routes a SERVER
	// span each, continuing the request's traceparent; nil traces nothing.
	Tracer trace.Tracer
}

// NewServer returns orderd's HTTP handler. It fails only if the UI files
// cannot be read.
func NewServer(d Deps) (fasthttp.RequestHandler, error) {
	if d.Orders == nil || d.List == nil || d.Stats == nil || d.DLQ == nil || d.Health == nil || d.Metrics == nil || d.UI == nil {
		return nil, errors.New("server: NewServer needs Orders, List, Stats, DLQ, Health, Metrics and UI")
	}
	h, _, err := routes(d)
	return h, err
}
