package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/server/admin"
	"github.com/orderd/orderd/storage/memory"
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
	return adminFixtureWith(t, &kgo.Record{
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
}

// adminFixtureWith is adminFixture with recs on the dead-letter topic, each
// on the partition it names.
func adminFixtureWith(t *testing.T, recs ...*kgo.Record) (*fixture, []string) {
	t.Helper()
	brokers, _ := testenv.Kafka(t, "orders", "orders.dlq")
	testenv.Produce(t, testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner())), recs...)
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
	reader := browse.NewReader(client, "orders.dlq")

	f := newFixture(t, memory.New())
	f.deps.DLQ = struct {
		*browse.Reader
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
		Records []admin.Record `json:"records"`
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
	// A record kept whole says nothing about truncation.
	if body := string(ctx.Response.Body()); strings.Contains(body, `"truncated"`) || strings.Contains(body, `"original_`) {
		t.Fatalf("list of a whole record mentions truncation: %s", body)
	}
	ctx = f.admin("GET", "/api/admin/dlq?reason=conflict", auth, "")
	if !strings.Contains(string(ctx.Response.Body()), `"records":[]`) {
		t.Fatalf("filtered list: %s", ctx.Response.Body())
	}

	ctx = f.admin("GET", "/api/admin/dlq/0/0", auth, "")
	var shown admin.Record
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
	check("GET", "/api/admin/dlq?cursor=yesterday", "", 400, "invalid cursor")
	check("GET", "/api/admin/dlq/0/99", "", 404, "not found")
	check("GET", "/api/admin/dlq/9/0", "", 404, "not found")
	check("GET", "/api/admin/dlq/x/0", "", 400, "PARTITION:OFFSET")
	check("POST", "/api/admin/dlq/redrive", `{"records":[]}`, 400, "records")
	tooMany, _ := json.Marshal(map[string]any{"records": slices.Repeat([]string{"0:0"}, admin.MaxRedrive+1)})
	check("POST", "/api/admin/dlq/redrive", string(tooMany), 400, "at most 500 records, got 501")
	check("POST", "/api/admin/dlq/redrive", `{"records":["0-0"]}`, 400, "PARTITION:OFFSET")
	check("POST", "/api/admin/dlq/redrive", `{"recs":["0:0"]}`, 400, "invalid request body")
	check("POST", "/api/admin/dlq/redrive", `{"records":["0:0","0:0"],"payload":"{}"}`, 400, "exactly one record")
	check("POST", "/api/admin/dlq/redrive", `{"records":["0:7"]}`, 404, "not found")
}

// truncatedLetter is a dead letter cut to fit a small dead-letter topic the
// way orderd cuts it (dlq.Letter.Fit), as a record for kgo, with the
// original payload it was cut from.
func truncatedLetter(t *testing.T) (*kgo.Record, []byte) {
	t.Helper()
	original := []byte(`{"order_uid":"big","items":[` + strings.Repeat(`{"chrt_id":9934930,"name":"Mascaras"},`, 200) + `{}]}`)
	letter := dlq.Letter{
		SourceTopic: "orders", SourcePartition: 1, SourceOffset: 7, Key: []byte("big"), Value: original,
		Reason: dlq.ReasonTooLarge, Error: "message is 7.6 KiB, larger than MAX_MESSAGE_BYTES", FailedAt: time.Now(),
	}
	msg, truncated := letter.Fit("orders.dlq", 2048)
	if !truncated {
		t.Fatal("the letter fits whole: make it larger than the limit")
	}
	rec := &kgo.Record{Topic: "orders.dlq", Partition: 0, Key: []byte("big")}
	rec.Value, _ = msg.Value.Encode()
	for _, h := range msg.Headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
	}
	return rec, original
}

func TestAdmin_TruncatedRecordShowsItsOriginal(t *testing.T) {
	rec, original := truncatedLetter(t)
	f, _ := adminFixtureWith(t, rec)
	auth := "Bearer " + adminToken
	sum := sha256.Sum256(original)
	check := func(what string, r admin.Record) {
		t.Helper()
		if !r.Truncated || r.OriginalBytes != int64(len(original)) || r.OriginalSHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: truncated %v, original %d bytes, sha256 %q; want true, %d, %x",
				what, r.Truncated, r.OriginalBytes, r.OriginalSHA256, len(original), sum)
		}
	}

	ctx := f.admin("GET", "/api/admin/dlq", auth, "")
	var list struct {
		Records []admin.Record `json:"records"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &list); err != nil || len(list.Records) != 1 {
		t.Fatalf("list: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	check("listed", list.Records[0])

	ctx = f.admin("GET", "/api/admin/dlq/0/0", auth, "")
	var shown admin.Record
	if err := json.Unmarshal(ctx.Response.Body(), &shown); err != nil || shown.Payload == nil {
		t.Fatalf("show: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	check("shown", shown)
	// The payload is what was kept: the start of the original, and less.
	if kept := *shown.Payload; len(kept) == 0 || len(kept) >= len(original) || !strings.HasPrefix(string(original), kept) || shown.PayloadIsJSON {
		t.Errorf("shown payload: %d bytes, JSON %v; want a prefix of the %d-byte original", len(kept), shown.PayloadIsJSON, len(original))
	}
}

func TestAdmin_RedriveOfTruncatedRecordNeedsAPayload(t *testing.T) {
	rec, _ := truncatedLetter(t)
	f, brokers := adminFixtureWith(t, rec)
	auth := "Bearer " + adminToken

	// The cut payload as it is: refused, saying why and what to send.
	ctx := f.admin("POST", "/api/admin/dlq/redrive", auth, `{"records":["0:0"]}`)
	if ctx.Response.StatusCode() != 409 {
		t.Fatalf("redrive without a payload: %d %s, want 409", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	for _, want := range []string{"0:0", "cut to fit the dead-letter topic", "bytes kept", `"payload"`} {
		if msg := jsonError(t, ctx); !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("%d records redriven by a refused request", n)
	}

	// With the whole message corrected, it goes.
	fixed := `{"order_uid":"big","items":[]}`
	body, _ := json.Marshal(map[string]any{"records": []string{"0:0"}, "payload": fixed})
	ctx = f.admin("POST", "/api/admin/dlq/redrive", auth, string(body))
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("redrive with a payload: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if out := testenv.ReadTopic(t, brokers, "orders"); len(out) != 1 || string(out[0].Value) != fixed {
		t.Fatalf("orders topic after redrive: %v", out)
	}
}
