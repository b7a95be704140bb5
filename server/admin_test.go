package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/storage"
)

const (
	adminToken = "s3cret-admin-token"
	// secretPayload marks the dead letter's bytes: no refused request may
	// answer with them.
	secretPayload = `{"order_uid":"leak-me","card":"4111111111111111"}`
)

// adminFixture is the server with the admin API over a real dead-letter
// topic on kfake holding one record at 0:0.
func adminFixture(t *testing.T) (*fixture, []string) {
	t.Helper()
	brokers, _ := testenv.Kafka(t, "orders", "orders.dlq")
	testenv.Produce(t, testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner())), &kgo.Record{
		Topic: "orders.dlq", Partition: 0, Key: []byte("leak-me"), Value: []byte(secretPayload),
		Headers: []kgo.RecordHeader{
			{Key: dlq.HeaderReason, Value: []byte(dlq.ReasonInvalidOrder)},
			{Key: dlq.HeaderError, Value: []byte("payment.amount: must equal goods_total + delivery_cost + custom_fee")},
			{Key: dlq.HeaderSourceTopic, Value: []byte("orders")},
			{Key: dlq.HeaderSourcePartition, Value: []byte("2")},
			{Key: dlq.HeaderSourceOffset, Value: []byte("41")},
			{Key: dlq.HeaderFailedAt, Value: []byte("2026-11-26T06:22:19Z")},
		},
	})
	client, err := sarama.NewClient(brokers, dlq.ClientConfig("server-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { producer.Close() })
	reader := dlq.NewReader(client, "orders.dlq")

	f := newFixture(t, storage.NewMemory())
	f.deps.DLQ = struct {
		*dlq.Reader
		*dlq.Redriver
	}{reader, dlq.NewRedriver(reader, producer, "orders")}
	f.deps.AdminToken = adminToken
	f.rebuild(t)
	return f, brokers
}

func (f *fixture) admin(method, uri, token, body string) *fasthttp.RequestCtx {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if token != "" {
		ctx.Request.Header.Set("Authorization", token)
	}
	if body != "" {
		ctx.Request.SetBodyString(body)
	}
	f.handler(ctx)
	return ctx
}

func TestAdmin_RefusesWithoutTheTokenAndLeaksNothing(t *testing.T) {
	f, brokers := adminFixture(t)
	for _, uri := range []string{"/api/admin/dlq", "/api/admin/dlq/0/0"} {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + adminToken + "x", "Basic " + adminToken, adminToken, "bearer " + adminToken} {
			ctx := f.admin("GET", uri, auth, "")
			body := string(ctx.Response.Body())
			if ctx.Response.StatusCode() != 401 || strings.Contains(body, "leak-me") || strings.Contains(body, "4111") {
				t.Fatalf("GET %s with %q: %d %s", uri, auth, ctx.Response.StatusCode(), body)
			}
			if msg := jsonError(t, ctx); !strings.Contains(msg, "admin token") {
				t.Fatalf("error %q", msg)
			}
		}
	}
	ctx := f.admin("POST", "/api/admin/dlq/redrive", "Bearer nope", `{"records":["0:0"]}`)
	if ctx.Response.StatusCode() != 401 {
		t.Fatalf("redrive without the token: %d", ctx.Response.StatusCode())
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("%d records redriven by a refused request", n)
	}
}

func TestAdmin_DisabledWithoutAToken(t *testing.T) {
	f, _ := adminFixture(t)
	f.deps.AdminToken = ""
	f.rebuild(t)
	for _, auth := range []string{"", "Bearer " + adminToken, "Bearer "} {
		ctx := f.admin("GET", "/api/admin/dlq", auth, "")
		if ctx.Response.StatusCode() != 404 || !strings.Contains(jsonError(t, ctx), "ADMIN_TOKEN") {
			t.Fatalf("with %q: %d %s", auth, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func TestAdmin_ListShowRedrive(t *testing.T) {
	f, brokers := adminFixture(t)
	auth := "Bearer " + adminToken

	ctx := f.admin("GET", "/api/admin/dlq?reason=invalid_order&limit=10&since=8760h", auth, "")
	var list struct {
		Records []dlqRecordJSON `json:"records"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &list); err != nil || ctx.Response.StatusCode() != 200 {
		t.Fatalf("list: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if len(list.Records) != 1 {
		t.Fatalf("list: %d records", len(list.Records))
	}
	r := list.Records[0]
	if r.Ref != "0:0" || r.Reason != dlq.ReasonInvalidOrder || r.SourcePartition != 2 || r.SourceOffset != 41 ||
		r.Key != "leak-me" || !strings.HasPrefix(r.Preview, `{"order_uid"`) || r.Payload != nil {
		t.Fatalf("listed %+v", r)
	}
	ctx = f.admin("GET", "/api/admin/dlq?reason=conflict", auth, "")
	if !strings.Contains(string(ctx.Response.Body()), `"records":[]`) {
		t.Fatalf("filtered list: %s", ctx.Response.Body())
	}

	ctx = f.admin("GET", "/api/admin/dlq/0/0", auth, "")
	var shown dlqRecordJSON
	if err := json.Unmarshal(ctx.Response.Body(), &shown); err != nil || shown.Payload == nil || *shown.Payload != secretPayload ||
		!shown.PayloadIsJSON || len(shown.Headers) != 6 || shown.PayloadBase64 == "" {
		t.Fatalf("show: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}

	fixed := `{"order_uid":"leak-me","fixed":true}`
	body, _ := json.Marshal(map[string]any{"records": []string{"0:0"}, "payload": fixed})
	ctx = f.admin("POST", "/api/admin/dlq/redrive", auth, string(body))
	if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), `"from":"0:0","topic":"orders"`) {
		t.Fatalf("redrive: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	out := testenv.ReadTopic(t, brokers, "orders")
	if len(out) != 1 || string(out[0].Value) != fixed || string(out[0].Key) != "leak-me" {
		t.Fatalf("orders topic after redrive: %v", out)
	}
}

func TestAdmin_BadRequests(t *testing.T) {
	f, _ := adminFixture(t)
	auth := "Bearer " + adminToken
	check := func(method, uri, body string, wantStatus int, wantInError string) {
		t.Helper()
		ctx := f.admin(method, uri, auth, body)
		if ctx.Response.StatusCode() != wantStatus {
			t.Errorf("%s %s %s: %d %s, want %d", method, uri, body, ctx.Response.StatusCode(), ctx.Response.Body(), wantStatus)
			return
		}
		if msg := jsonError(t, ctx); !strings.Contains(msg, wantInError) {
			t.Errorf("%s %s: error %q, want it to mention %q", method, uri, msg, wantInError)
		}
	}
	check("GET", "/api/admin/dlq?reason=bogus", "", 400, "invalid reason")
	check("GET", "/api/admin/dlq?limit=0", "", 400, "invalid limit")
	check("GET", "/api/admin/dlq?since=yesterday", "", 400, "invalid since")
	check("GET", "/api/admin/dlq/0/99", "", 404, "not found")
	check("GET", "/api/admin/dlq/9/0", "", 404, "not found")
	check("GET", "/api/admin/dlq/x/0", "", 400, "PARTITION:OFFSET")
	check("POST", "/api/admin/dlq/redrive", `{"records":[]}`, 400, "records")
	check("POST", "/api/admin/dlq/redrive", `{"records":["0-0"]}`, 400, "PARTITION:OFFSET")
	check("POST", "/api/admin/dlq/redrive", `{"recs":["0:0"]}`, 400, "invalid request body")
	check("POST", "/api/admin/dlq/redrive", `{"records":["0:0","0:0"],"payload":"{}"}`, 400, "exactly one record")
	check("POST", "/api/admin/dlq/redrive", `{"records":["0:7"]}`, 404, "not found")
}
