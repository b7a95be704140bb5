package server

import (
	"encoding/json"
	"fmt"

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
