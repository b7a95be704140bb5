package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/api"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// Every answer orderd gives, success or error, fits api/openapi.yaml: the
// daemon runs through Run against PostgreSQL and Kafka, and each request
// and its real response are validated against the document it serves.
func TestOpenAPI_RealAnswersFitTheDocument(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	proxy.Cut() // PostgreSQL away at start: neither healthy nor ready, yet alive
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS":     strings.Join(brokers, ","),
		"DATABASE_URL":      proxiedURL,
		"ADMIN_TOKEN":       testAdminToken,
		"HTTP_READ_TIMEOUT": "2s", // for the 408, without a long wait
	})
	c := newOpenAPICheck(t, d.base)

	eventually(t, "orderd serves HTTP", func() bool { code, _ := d.health(t); return code != 0 })
	c.do("GET", "/health", "", nil, 503, true)
	c.do("GET", "/readyz", "", nil, 503, true)
	c.do("GET", "/livez", "", nil, 200, true)
	proxy.Restore()
	d.waitHealthy(t)

	// The canonical order and two more, for two pages of two; and one
	// broken order, for a dead letter.
	gen := orderfake.New(3030)
	recs := []*kgo.Record{{Topic: "orders", Key: []byte("b563feb7b2b84b6test"), Value: orderfake.ModelJSON}}
	for range 2 {
		o := gen.Order()
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
	}
	fixed := gen.Order()
	good := order.AppendJSON(nil, &fixed)
	fixed.Payment.Amount++
	recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(fixed.OrderUID), Value: order.AppendJSON(nil, &fixed)})
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)
	eventually(t, "3 orders stored and 1 dead letter", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 3 &&
			testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 1
	})

	// Orders.
	body := c.do("GET", "/order/b563feb7b2b84b6test", "", nil, 200, true)
	var got, model any
	_ = json.Unmarshal(body, &got)
	_ = json.Unmarshal(orderfake.ModelJSON, &model)
	if !reflect.DeepEqual(got, model) {
		t.Fatalf("GET the canonical order: %s", body)
	}
	c.rejectsOrder(body)
	c.do("GET", "/order/"+strings.Repeat("a", 65), "", nil, 400, false) // too long for an order_uid
	c.do("GET", "/order/", "", nil, 400, true)
	c.do("GET", "/order/not-stored-anywhere", "", nil, 404, true)
	// OpenAPI cannot say that a GET takes no body: the request passes,
	// and orderd's 400 is what the document lists.
	c.do("GET", "/api/stats", "", []byte(`{"x":1}`), 400, true)

	// Pages of the newest orders.
	var page struct {
		Orders []json.RawMessage `json:"orders"`
		Next   string            `json:"next"`
	}
	_ = json.Unmarshal(c.do("GET", "/api/orders?limit=2", "", nil, 200, true), &page)
	if len(page.Orders) != 2 || page.Next == "" {
		t.Fatalf("first page: %d orders, next %q; want 2 and a cursor", len(page.Orders), page.Next)
	}
	before := page.Next
	page.Orders, page.Next = nil, "" // absent keys leave a field as it was
	_ = json.Unmarshal(c.do("GET", "/api/orders?limit=2&before="+before, "", nil, 200, true), &page)
	if len(page.Orders) != 1 || page.Next != "" {
		t.Fatalf("second page: %d orders, next %q; want 1 and none", len(page.Orders), page.Next)
	}
	c.do("GET", "/api/orders?limit=0", "", nil, 400, false)
	c.do("GET", "/api/orders?before=x", "", nil, 400, false)
	// Searches, a page of one and the next by its cursor; refusals.
	c.do("GET", "/api/orders?track_number=WBILMTESTTRACK&customer_id=test", "", nil, 200, true)
	window := "/api/orders?limit=1&created_from=2000-01-01T00:00:00Z&created_to=2100-01-01T00:00:00%2B03:00"
	page.Orders, page.Next = nil, ""
	_ = json.Unmarshal(c.do("GET", window, "", nil, 200, true), &page)
	if len(page.Orders) != 1 || page.Next == "" {
		t.Fatalf("first page of a search: %d orders, next %q; want 1 and a cursor", len(page.Orders), page.Next)
	}
	c.do("GET", window+"&before="+page.Next, "", nil, 200, true)
	c.do("GET", "/api/orders?created_from=yesterday", "", nil, 400, false)
	c.do("GET", "/api/orders?track_number=", "", nil, 400, false)
	c.do("GET", "/api/stats", "", nil, 200, true)
	eventually(t, "a sample of the history", func() bool {
		var h struct{ At []int64 }
		return json.Unmarshal(c.do("GET", "/api/stats/history", "", nil, 200, true), &h) == nil && len(h.At) > 0
	})

	// Probes, metrics, the UI and the document itself.
	c.do("GET", "/health", "", nil, 200, true)
	c.do("GET", "/readyz", "", nil, 200, true)
	c.do("GET", "/metrics", "", nil, 200, true)
	c.do("GET", "/", "", nil, 200, true)
	c.do("GET", "/assets/main.js", "", nil, 200, true)
	c.do("GET", "/assets/style.css", "", nil, 200, true)
	c.do("GET", "/assets/nothing.js", "", nil, 404, true)
	if body := c.do("GET", "/openapi.yaml", "", nil, 200, true); !bytes.Equal(body, api.OpenAPI) {
		t.Fatal("GET /openapi.yaml is not api/openapi.yaml")
	}

	// The admin API.
	c.do("GET", "/api/admin/dlq", "", nil, 401, false)
	c.do("GET", "/api/admin/dlq", "not-the-admin-token", nil, 401, true) // a bearer token, just not orderd's
	var list struct {
		Records []struct {
			Ref       string `json:"ref"`
			Partition int32  `json:"partition"`
			Offset    int64  `json:"offset"`
		} `json:"records"`
	}
	_ = json.Unmarshal(c.do("GET", "/api/admin/dlq?reason=invalid_order&limit=10&since=1h", testAdminToken, nil, 200, true), &list)
	if len(list.Records) != 1 {
		t.Fatalf("%d dead letters listed, want 1", len(list.Records))
	}
	rec := list.Records[0]
	c.do("GET", "/api/admin/dlq?reason=no_such_reason", testAdminToken, nil, 400, false)
	c.do("GET", "/api/admin/dlq?cursor=not-a-cursor", testAdminToken, nil, 400, true)
	c.do("GET", fmt.Sprintf("/api/admin/dlq/%d/%d", rec.Partition, rec.Offset), testAdminToken, nil, 200, true)
	c.do("GET", fmt.Sprintf("/api/admin/dlq/%d/%d", rec.Partition, rec.Offset+1000), testAdminToken, nil, 404, true)
	jsonBody := func(v any) []byte { b, _ := json.Marshal(v); return b }
	c.do("POST", "/api/admin/dlq/redrive", testAdminToken, jsonBody(map[string]any{"records": []string{rec.Ref}, "payload": string(good)}), 200, true)
	c.do("POST", "/api/admin/dlq/redrive", testAdminToken,
		jsonBody(map[string]any{"records": []string{fmt.Sprintf("%d:%d", rec.Partition, rec.Offset+1000)}}), 404, true)
	c.do("POST", "/api/admin/dlq/redrive", testAdminToken, jsonBody(map[string]any{"records": []string{}}), 400, false)
	c.do("POST", "/api/admin/dlq/redrive", testAdminToken, []byte(`{"records":["0:0"],"extra":1}`), 400, false)
	eventually(t, "the redriven order stored", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 4
	})

	// The errors any route can give.
	c.generic("POST", "/livez", 405, "MethodNotAllowed")
	c.generic("GET", "/no/such/endpoint", 404, "NoSuchEndpoint")
	c.raw("GET", "/livez", "GET /livez HTTP/1.1\r\nHost: o\r\nX-Big: "+strings.Repeat("a", 9<<10)+"\r\n\r\n", 431)
	c.raw("GET", "/livez", "GET /livez HTTP/1.1\r\nHost: o\r\nno colon in this header\r\n\r\n", 400)
	c.raw("POST", "/api/admin/dlq/redrive", fmt.Sprintf("POST /api/admin/dlq/redrive HTTP/1.1\r\nHost: o\r\nContent-Length: %d\r\n\r\n", 5<<20)+
		strings.Repeat("x", 1<<10), 413) // announced beyond HTTP_MAX_BODY_BYTES
	c.raw("GET", "/livez", "GET /livez HTTP/1.1\r\nHost: o\r\n", 408) // never finished

	// PostgreSQL away: a miss cannot be answered, nor a list; /health says
	// so, while a replica that can serve its cache stays ready.
	proxy.Cut()
	c.do("GET", "/order/stored-nowhere-either", "", nil, 503, true)
	c.do("GET", "/api/orders", "", nil, 503, true)
	eventually(t, "/health reports the store down", func() bool { code, _ := d.health(t); return code == 503 })
	c.do("GET", "/health", "", nil, 503, true)
	c.do("GET", "/readyz", "", nil, 200, true)
	proxy.Restore()
	d.waitHealthy(t)
}

// openapiCheck validates requests to one orderd, and its answers, against
// api/openapi.yaml.
type openapiCheck struct {
	t      *testing.T
	base   string
	doc    *openapi3.T
	router routers.Router
}

func newOpenAPICheck(t *testing.T, base string) *openapiCheck {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &openapiCheck{t: t, base: base, doc: doc, router: r}
}

var (
	// requestOptions check the admin API's bearer scheme: a token must be
	// sent; whether it is orderd's is orderd's to say.
	requestOptions = &openapi3filter.Options{
		MultiError: true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
				return errors.New("no bearer token")
			}
			return nil
		},
	}
	// responseOptions fail a status the document does not list.
	responseOptions = &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}
)

func (c *openapiCheck) request(method, path, token string, body []byte) *http.Request {
	c.t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// route finds the operation of method and path in the document.
func (c *openapiCheck) route(req *http.Request) *openapi3filter.RequestValidationInput {
	c.t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s is not in api/openapi.yaml: %v", req.Method, req.URL.RequestURI(), err)
	}
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: requestOptions}
}

// do sends a request and returns the answer's body, after checking that
// the document accepts the request (or, with valid false, refuses it),
// that orderd answered want, and that the answer fits the document.
func (c *openapiCheck) do(method, path, token string, body []byte, want int, valid bool) []byte {
	c.t.Helper()
	in := c.route(c.request(method, path, token, body))
	if err := openapi3filter.ValidateRequest(context.Background(), in); (err == nil) != valid {
		c.t.Errorf("%s %s: the document accepts the request: %v, want %v (%v)", method, path, err == nil, valid, err)
	}
	resp, err := httpClient.Do(c.request(method, path, token, body))
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %.300s, want %d", method, path, resp.StatusCode, got, want)
	}
	if err := c.validate(in, resp.StatusCode, resp.Header, got); err != nil {
		c.t.Errorf("%s %s: %d %.300s does not fit api/openapi.yaml: %v", method, path, resp.StatusCode, got, err)
	}
	return got
}

func (c *openapiCheck) validate(in *openapi3filter.RequestValidationInput, status int, h http.Header, body []byte) error {
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Options: responseOptions,
	})
}

// rejectsOrder checks the order schema is strict: the canonical order
// with a field of the wrong type, a field missing, or a field too many
// does not fit.
func (c *openapiCheck) rejectsOrder(doc []byte) {
	c.t.Helper()
	in := c.route(c.request("GET", "/order/b563feb7b2b84b6test", "", nil))
	h := http.Header{"Content-Type": {"application/json"}}
	for what, edit := range map[string]func(o map[string]any){
		"sm_id as a string":        func(o map[string]any) { o["sm_id"] = "99" },
		"amount as a fraction":     func(o map[string]any) { o["payment"].(map[string]any)["amount"] = 18.17 },
		"no oof_shard":             func(o map[string]any) { delete(o, "oof_shard") },
		"no item price":            func(o map[string]any) { delete(o["items"].([]any)[0].(map[string]any), "price") },
		"a key not in the model":   func(o map[string]any) { o["note"] = "x" },
		"delivery as null":         func(o map[string]any) { o["delivery"] = nil },
		"date_created not RFC3339": func(o map[string]any) { o["date_created"] = "26.11.2021" },
	} {
		var o map[string]any
		if err := json.Unmarshal(doc, &o); err != nil {
			c.t.Fatal(err)
		}
		edit(o)
		b, _ := json.Marshal(o)
		if c.validate(in, 200, h, b) == nil {
			c.t.Errorf("an order with %s fits api/openapi.yaml", what)
		}
	}
}

// generic checks an answer that no operation lists, since its request
// matches none (a wrong method, an unknown path), against the document's
// response name.
func (c *openapiCheck) generic(method, path string, want int, name string) {
	c.t.Helper()
	resp, err := httpClient.Do(c.request(method, path, "", nil))
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %.300s, want %d", method, path, resp.StatusCode, got, want)
	}
	ref := c.doc.Components.Responses[name]
	if ref == nil {
		c.t.Fatalf("api/openapi.yaml has no response %s", name)
	}
	for hname, hdr := range ref.Value.Headers {
		if hdr.Value.Required && resp.Header.Get(hname) == "" {
			c.t.Errorf("%s %s: no %s header, which %s requires", method, path, hname, name)
		}
	}
	mt := ref.Value.Content.Get(resp.Header.Get("Content-Type"))
	if mt == nil {
		c.t.Fatalf("%s %s: Content-Type %q is not %s's", method, path, resp.Header.Get("Content-Type"), name)
	}
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		c.t.Fatalf("%s %s: %.300s: %v", method, path, got, err)
	}
	if err := mt.Schema.Value.VisitJSON(v); err != nil {
		c.t.Errorf("%s %s: %d %.300s does not fit %s: %v", method, path, resp.StatusCode, got, name, err)
	}
}

// raw writes req as it is on a connection of its own (a request no HTTP
// client would send) and checks that orderd answers want, and that the
// answer fits what the document lists for method and path.
func (c *openapiCheck) raw(method, path, req string, want int) {
	c.t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(c.base, "http://"), 5*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	go func() { _, _ = io.WriteString(conn, req) }() // orderd may answer before it has read it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		c.t.Fatalf("%s %s (%.40q…): no answer: %v", method, path, req, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s (%.40q…): %d %.300s, want %d", method, path, req, resp.StatusCode, got, want)
	}
	in := c.route(c.request(method, path, "", nil))
	if err := c.validate(in, resp.StatusCode, resp.Header, got); err != nil {
		c.t.Errorf("%s %s (%.40q…): %d %.300s does not fit api/openapi.yaml: %v", method, path, req, resp.StatusCode, got, err)
	}
}
