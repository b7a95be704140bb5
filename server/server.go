// Package server is orderd's HTTP face: GET /order/{order_uid} served from
// the cache in front of PostgreSQL, and GET /health. NewServer returns the
// handler; every route is listed in routes.go.
//
// fasthttp reuses the request context and every byte slice it hands out once
// a handler returns: nothing here keeps them, and the read path copies an id
// before remembering it.
package server

import (
	"context"

	"github.com/fasthttp/router"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/health"
)

// OrderReader returns the JSON of one order as served, or an error wrapping
// storage.ErrNotFound or storage.ErrBusy. *storage.Orders implements it.
type OrderReader interface {
	Get(ctx context.Context, uid string) ([]byte, error)
}

// Deps is what the handlers need.
type Deps struct {
	Orders OrderReader
	Health *health.Registry
	Log    zerolog.Logger
}

// NewServer returns orderd's HTTP handler.
func NewServer(d Deps) fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false // /order/ is a bad request, not a redirect
	r.NotFound = handleNoRoute()
	r.MethodNotAllowed = handleMethodNotAllowed()
	r.PanicHandler = handlePanic(d.Log)
	addRoutes(r, d)
	return r.Handler
}
