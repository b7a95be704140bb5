// Package reply writes orderd's HTTP answers: JSON bodies, and errors as
// {"error": "..."} with their status, so that every route, the probes and
// the admin API answer a bad request alike. It never imports orderd's
// other packages.
package reply

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// ContentTypeJSON is every answer's content type but the UI's files.
const ContentTypeJSON = "application/json"

// Error answers status with {"error": msg}.
func Error(ctx *fasthttp.RequestCtx, status int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	ctx.SetStatusCode(status)
	ctx.SetContentType(ContentTypeJSON)
	ctx.SetBody(body)
}

// Static answers status with a body built once at start.
func Static(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(ContentTypeJSON)
	ctx.SetBody(body)
}

// JSON answers status with v encoded as JSON.
func JSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		Error(ctx, fasthttp.StatusInternalServerError, "encode response: "+err.Error())
		return
	}
	Static(ctx, status, body)
}
