package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

const contentTypeJSON = "application/json"

// writeError answers status with {"error": msg}.
func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(body)
}

// writeStatic answers status with a body built once at start.
func writeStatic(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBody(body)
}

func handleNoRoute() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("no such endpoint: %s", ctx.Path()))
	}
}

func handleMethodNotAllowed() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, fasthttp.StatusMethodNotAllowed,
			fmt.Sprintf("method %s not allowed; allowed: %s", ctx.Method(), ctx.Response.Header.Peek("Allow")))
	}
}

func handlePanic(log zerolog.Logger) func(*fasthttp.RequestCtx, any) {
	return func(ctx *fasthttp.RequestCtx, v any) {
		log.Error().Interface("panic", v).Bytes("path", ctx.Path()).Msg("handler panicked")
		writeError(ctx, fasthttp.StatusInternalServerError, "internal error")
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
		writeError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request line and headers too large (HTTP_MAX_HEADER_BYTES)")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large (HTTP_MAX_BODY_BYTES)")
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(ctx, fasthttp.StatusRequestTimeout, "request not received in time (HTTP_READ_TIMEOUT)")
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
	ctx.Response.Header.Set(fasthttp.HeaderXContentTypeOptions, "nosniff")
}
