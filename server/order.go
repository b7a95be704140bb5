package server

import (
	"context"
	"errors"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/server/reply"
	"github.com/orderd/orderd/storage"
)

var (
	bodyNotFound  = []byte(`{"error":"order not found"}`)
	bodyInvalidID = []byte(`{"error":"invalid order id: an order_uid is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"}`)
	bodyMissingID = []byte(`{"error":"missing order id: use /order/{order_uid}"}`)
	bodyBusy      = []byte(`{"error":"too many cache misses waiting for PostgreSQL; retry, or raise READ_CONCURRENCY / READ_QUEUE_TIMEOUT"}`)
	bodyStoreDown = []byte(`{"error":"order store unavailable; retry later"}`)
)

// handleOrder answers GET /order/{id}. A cache hit writes the stored JSON as
// it is: nothing is encoded, copied again or logged on this path.
//
// reads is the context the read runs in: context.Background(), or one
// holding the request's span when tracing is on.
func handleOrder(orders OrderReader) func(ctx *fasthttp.RequestCtx, id []byte, reads context.Context) {
	return func(ctx *fasthttp.RequestCtx, id []byte, reads context.Context) {
		// The id is a view of fasthttp's request buffer, valid only until
		// this handler returns; the read path copies it before keeping it.
		uid := unsafe.String(unsafe.SliceData(id), len(id))
		if !order.ValidUID(uid) {
			reply.Static(ctx, fasthttp.StatusBadRequest, bodyInvalidID)
			return
		}
		// Not ctx: a RequestCtx must not outlive the handler, and a read
		// through to PostgreSQL may be shared with other requests. The read
		// path bounds its own queries (QueryTimeout).
		doc, err := orders.Get(reads, uid)
		switch {
		case err == nil:
			ctx.SetContentType(reply.ContentTypeJSON)
			// doc is a copy owned by this request, so the response may keep
			// it without another copy.
			ctx.Response.SetBodyRaw(doc)
		case errors.Is(err, storage.ErrNotFound):
			reply.Static(ctx, fasthttp.StatusNotFound, bodyNotFound)
		case errors.Is(err, storage.ErrBusy):
			ctx.Response.Header.Set("Retry-After", "1")
			reply.Static(ctx, fasthttp.StatusServiceUnavailable, bodyBusy)
		default:
			ctx.Response.Header.Set("Retry-After", "1")
			reply.Static(ctx, fasthttp.StatusServiceUnavailable, bodyStoreDown)
		}
	}
}

func handleMissingID() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		reply.Static(ctx, fasthttp.StatusBadRequest, bodyMissingID)
	}
}
