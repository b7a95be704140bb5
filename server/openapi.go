package server

import "github.com/valyala/fasthttp"

// contentTypeOpenAPI is YAML's media type (RFC 9512), which OpenAPI tools
// and browsers accept; the OpenAPI-specific one is unknown to most.
const contentTypeOpenAPI = "application/yaml"

// handleOpenAPI serves GET /openapi.yaml: doc, the API description this
// build was made with (api.OpenAPI).
func handleOpenAPI(doc []byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		// Like the UI's files: revalidated on every load, so a client never
		// keeps the description of an orderd since replaced.
		ctx.Response.Header.Set("Cache-Control", "no-cache")
		ctx.SetContentType(contentTypeOpenAPI)
		ctx.SetBody(doc)
	}
}
