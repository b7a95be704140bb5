package server

import (
	"errors"
	"fmt"
	"net"

	"github.com/orderd/orderd/server/reply"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

func handleNoRoute() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		reply.Error(ctx, fasthttp.StatusNotFound, fmt.Sprintf("no such endpoint: %s", ctx.Path()))
	}
}

func handleMethodNotAllowed() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		reply.Error(ctx, fasthttp.StatusMethodNotAllowed,
			fmt.Sprintf("method %s not allowed; allowed: %s", ctx.Method(), ctx.Response.Header.Peek("Allow")))
	}
}

func handlePanic(log zerolog.Logger) func(*fasthttp.RequestCtx, any) {
	return func(ctx *fasthttp.RequestCtx, v any) {
		log.Error().Interface("panic", v).Bytes("path", ctx.Path()).Msg("handler panicked")
		reply.Error(ctx, fasthttp.StatusInternalServerError, "internal error")
	}
}

// HandleRequestError answers a request that could not be read or parsed,
// as fasthttp.Server's ErrorHandler: a JSON error with the fitting 4xx,
// naming the setting for the limits a client hit, and none of the
// request's bytes, which are anyone's.
func HandleRequestError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		reply.Error(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request line and headers too large (HTTP_MAX_HEADER_BYTES)")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		reply.Error(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large (HTTP_MAX_BODY_BYTES)")
	case errors.As(err, &netErr) && netErr.Timeout():
		reply.Error(ctx, fasthttp.StatusRequestTimeout, "request not received in time (HTTP_READ_TIMEOUT)")
	default:
		reply.Error(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
	ctx.Response.Header.Set(fasthttp.HeaderXContentTypeOptions, "nosniff")
}
