package server

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/api"
	"github.com/orderd/orderd/storage/memory"
)

// pathParam is a path parameter, {id} in the router, {order_uid} in the
// document: the names may differ, the places may not.
var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// Every route the router has is in api/openapi.yaml with its method, and
// the document has no other: neither can change without the other.
func TestRoutes_AreThoseOfTheOpenAPIDocument(t *testing.T) {
	f := newFixture(t, memory.New())
	d := f.deps
	d.MetricsHandler = func(*fasthttp.RequestCtx) {} // else /metrics is left out
	_, r, err := routes(d)
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for method, paths := range r.List() {
		for _, p := range paths {
			served = append(served, method+" "+pathParam.ReplaceAllString(p, "{}"))
		}
	}

	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for p, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+pathParam.ReplaceAllString(p, "{}"))
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Fatalf("the router and api/openapi.yaml differ:\nrouter:   %s\ndocument: %s",
			strings.Join(served, ", "), strings.Join(documented, ", "))
	}
}

func TestOpenAPI_ServedAsYAML(t *testing.T) {
	f := newFixture(t, memory.New())
	ctx := f.do(nil, "GET", "/openapi.yaml")
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.ContentType()) != "application/yaml" ||
		!bytes.Equal(ctx.Response.Body(), api.OpenAPI) {
		t.Fatalf("GET /openapi.yaml: %d, Content-Type %q, %d bytes; want 200, application/yaml and api.OpenAPI",
			ctx.Response.StatusCode(), ctx.Response.Header.ContentType(), len(ctx.Response.Body()))
	}
}
