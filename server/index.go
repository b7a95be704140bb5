package server

import "github.com/valyala/fasthttp"

var bodyIndex = []byte(`{"service":"orderd","endpoints":["GET /order/{order_uid}","GET /health","GET /metrics"]}`)

// handleIndex tells a visitor of / what orderd serves.
func handleIndex() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		writeStatic(ctx, fasthttp.StatusOK, bodyIndex)
	}
}
