package server

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/storage/memory"
)

// answered fails unless ctx holds one of the statuses allowed, with a JSON
// body when it is an error.
func answered(t *testing.T, ctx *fasthttp.RequestCtx, what string, allowed ...int) {
	t.Helper()
	status := ctx.Response.StatusCode()
	if !slices.Contains(allowed, status) {
		t.Fatalf("%s: status %d, want one of %v: %s", what, status, allowed, ctx.Response.Body())
	}
	if status >= 400 && !json.Valid(ctx.Response.Body()) {
		t.Fatalf("%s: a %d whose body is not JSON: %q", what, status, ctx.Response.Body())
	}
}

// FuzzOrderID: whatever follows /order/, GET answers 200, 400, 404 or 503,
// never panics, and errors are JSON. Seeds in testdata/fuzz/FuzzOrderID.
func FuzzOrderID(f *testing.F) {
	for _, s := range []string{"b563feb7b2b84b6test", "no-such-order", "a b", "%00", "x/y", "", "é", "..%2f"} {
		f.Add(s)
	}
	fx := newFixture(f, memory.New())
	f.Fuzz(func(t *testing.T, id string) {
		// Escaped: raw control bytes in a request line never reach a
		// handler, fasthttp's parser refuses them (see the daemon's
		// malformed-request test).
		ctx := fx.do(nil, "GET", "/order/"+url.PathEscape(id))
		answered(t, ctx, "GET /order/"+id, 200, 400, 404, 503)
	})
}

// FuzzListQuery: whatever the query string, GET /api/orders answers 200,
// 400 or 503. Seeds in testdata/fuzz/FuzzListQuery.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"limit=5", "limit=0", "limit=101", "before=12&limit=3", "before=-1", "before=99999999999999999999", "limit=%zz", "&&=&"} {
		f.Add(s)
	}
	fx := newFixture(f, memory.New())
	f.Fuzz(func(t *testing.T, query string) {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.URI().SetPath("/api/orders")
		ctx.Request.URI().SetQueryString(query)
		fx.handler(ctx)
		answered(t, ctx, "GET /api/orders?"+query, 200, 400, 503)
	})
}

// acceptingDLQ redrives whatever it is asked to.
type acceptingDLQ struct{ noDLQ }

func (acceptingDLQ) Redrive(_ context.Context, refs []dlq.Ref, _ []byte) ([]dlq.Redriven, error) {
	out := make([]dlq.Redriven, len(refs))
	for i, r := range refs {
		out[i] = dlq.Redriven{From: r, Topic: "orders"}
	}
	return out, nil
}

// FuzzRedriveBody: whatever the body, an authorized redrive answers 200 or a
// 4xx with a JSON error, never panics. Seeds in testdata/fuzz/FuzzRedriveBody.
func FuzzRedriveBody(f *testing.F) {
	for _, s := range []string{`{"records":["0:1"]}`, `{"records":["0:1"],"payload":"{}"}`, `{"records":[]}`,
		`{"records":["x"]}`, `{"records":["0:1","0:2"],"payload":"x"}`, `{"unknown":1}`, `[]`, `{"records":null}`, `{`, ``} {
		f.Add(s)
	}
	fx := newFixture(f, memory.New())
	fx.deps.DLQ, fx.deps.AdminToken = acceptingDLQ{}, adminToken
	fx.rebuild(f)
	f.Fuzz(func(t *testing.T, body string) {
		ctx := fx.admin("POST", "/api/admin/dlq/redrive", "Bearer "+adminToken, body)
		answered(t, ctx, "redrive "+body, 200, 400, 404, 409, 413)
	})
}
