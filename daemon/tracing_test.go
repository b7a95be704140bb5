package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/daemon/telemetry"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// One order's path, traced through the whole daemon into memory: the
// producer's traceparent is continued by the consumer span, the batch write
// links to every message it holds and its PostgreSQL calls are its
// children, a dead letter carries its message's trace, log lines name it,
// and an HTTP read continues the reader's trace and says how the cache
// answered.
func TestTracing_FollowsOneOrder(t *testing.T) {
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	d := startDaemonIn(t, telemetry.WithTracerProvider(context.Background(), tp), map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","),
		"DATABASE_URL":  dbURL,
		"LOG_LEVEL":     "debug", // the dead letter's line carries its trace id
		"ADMIN_TOKEN":   testAdminToken,
	})
	d.waitHealthy(t)

	// Five orders with a producer's traceparent, one without, and one
	// broken message with one.
	gen := orderfake.New(18)
	type sent struct {
		uid    string
		parent trace.SpanContext // zero: sent without a traceparent
	}
	var (
		recs     []*kgo.Record
		orders   []sent
		personal []string // what must never be in a span
	)
	for i := range 6 {
		o := gen.Order()
		personal = append(personal, o.Delivery.Name, o.Delivery.Phone, o.Delivery.Email)
		rec := &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)}
		s := sent{uid: o.OrderUID}
		if i < 5 {
			s.parent = remoteParent(0x10 + byte(i))
			rec.Headers = traceHeaders(s.parent)
		}
		orders = append(orders, s)
		recs = append(recs, rec)
	}
	brokenParent := remoteParent(0x20)
	recs = append(recs, &kgo.Record{Topic: "orders", Value: []byte(`{"order_uid": "broken`), Headers: traceHeaders(brokenParent)})
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)

	eventually(t, "6 orders in PostgreSQL", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 6 })
	var consumed []tracetest.SpanStub
	eventually(t, "7 consumer spans ended", func() bool {
		consumed = byKind(spans.GetSpans(), trace.SpanKindConsumer)
		return len(consumed) == 7
	})

	// Each traced message's consumer span is the child of its traceparent;
	// the one without starts a trace.
	msgSpan := map[string]tracetest.SpanStub{} // order_uid, or "broken"
	for _, s := range append(orders, sent{uid: "broken", parent: brokenParent}) {
		var found []tracetest.SpanStub
		for _, c := range consumed {
			if s.parent.IsValid() && c.Parent.SpanID() == s.parent.SpanID() ||
				!s.parent.IsValid() && !c.Parent.IsValid() {
				found = append(found, c)
			}
		}
		if len(found) != 1 {
			t.Fatalf("message %s (parent %v): %d consumer spans, want 1", s.uid, s.parent.SpanID(), len(found))
		}
		c := found[0]
		if s.parent.IsValid() && (c.SpanContext.TraceID() != s.parent.TraceID() || !c.Parent.IsRemote()) {
			t.Errorf("message %s: consumer span in trace %s (remote parent %v), want the producer's %s",
				s.uid, c.SpanContext.TraceID(), c.Parent.IsRemote(), s.parent.TraceID())
		}
		for k, want := range map[attribute.Key]string{
			"messaging.system": "kafka", "messaging.destination.name": "orders", "messaging.consumer.group.name": "orderd",
		} {
			if got := attr(c.Attributes, k); got != want {
				t.Errorf("message %s: consumer span %s = %q, want %q", s.uid, k, got, want)
			}
		}
		if s.uid != "broken" && attr(c.Attributes, "orderd.order_uid") != s.uid {
			t.Errorf("message %s: consumer span's orderd.order_uid %q", s.uid, attr(c.Attributes, "orderd.order_uid"))
		}
		if attr(c.Attributes, "messaging.destination.partition.id") == "" || attr(c.Attributes, "messaging.kafka.offset") == "" {
			t.Errorf("message %s: consumer span without partition or offset: %v", s.uid, c.Attributes)
		}
		msgSpan[s.uid] = c
	}

	// The broken message's span says why it was dead-lettered.
	broken := msgSpan["broken"]
	if broken.Status.Code != codes.Error || attr(broken.Attributes, "orderd.dlq.reason") != "invalid_json" {
		t.Errorf("broken message's span: status %v, attributes %v; want an error with orderd.dlq.reason invalid_json", broken.Status, broken.Attributes)
	}

	// The batch spans: roots of their own, linked to every stored
	// message's span; the PostgreSQL calls are their children.
	all := spans.GetSpans()
	linked := map[trace.SpanID]bool{}
	batches := map[trace.SpanID]bool{}
	for _, s := range all {
		if s.Name != "write orders" {
			continue
		}
		if s.Parent.IsValid() {
			t.Errorf("batch span has parent %v; a batch has many parents and takes none", s.Parent.SpanID())
		}
		batches[s.SpanContext.SpanID()] = true
		for _, l := range s.Links {
			linked[l.SpanContext.SpanID()] = true
		}
	}
	for _, s := range orders {
		if !linked[msgSpan[s.uid].SpanContext.SpanID()] {
			t.Errorf("no batch span links to the span of order %s", s.uid)
		}
		// And the message's span leads back to its batch.
		back := false
		for _, e := range msgSpan[s.uid].Events {
			if e.Name == "batch written" {
				id, _ := trace.SpanIDFromHex(attr(e.Attributes, "orderd.batch.span_id"))
				back = back || batches[id]
			}
		}
		if !back {
			t.Errorf("order %s: no \"batch written\" event naming its batch span", s.uid)
		}
	}
	pgUnderBatch := 0
	for _, s := range all {
		if batches[s.Parent.SpanID()] && attr(s.Attributes, "db.system.name") == "postgresql" {
			pgUnderBatch++
		}
	}
	if pgUnderBatch == 0 {
		t.Errorf("no PostgreSQL span (db.system.name postgresql) under a batch span; spans: %v", names(all))
	}

	// The dead letter carries a traceparent in the broken message's trace,
	// child of its consumer span; the log line about it names the trace.
	dead := testenv.ReadTopic(t, brokers, "orders.dlq")
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	wantTP := fmt.Sprintf("00-%s-%s-01", brokenParent.TraceID(), broken.SpanContext.SpanID())
	if got := headers(dead[0])["traceparent"]; got != wantTP {
		t.Errorf("dead letter's traceparent %q, want %q (the message's span, in the producer's trace)", got, wantTP)
	}
	eventually(t, "the dead letter's log line names its trace", func() bool {
		return strings.Contains(d.logs.String(), `"trace_id":"`+brokenParent.TraceID().String()+`"`)
	})

	// Redriving the dead letter, fixed, starts a trace linked to the dead
	// letter's, which the redriven message's consumer span continues.
	fixed := gen.Order()
	ref := fmt.Sprintf("%d:%d", dead[0].Partition, dead[0].Offset)
	if code, body := d.adminDo(t, "POST", "/api/admin/dlq/redrive", testAdminToken,
		map[string]any{"records": []string{ref}, "payload": string(order.AppendJSON(nil, &fixed))}); code != 200 {
		t.Fatalf("redrive: %d %s", code, body)
	}
	var redrive tracetest.SpanStub
	eventually(t, "a redrive span linked to the dead letter's trace", func() bool {
		for _, s := range byKind(spans.GetSpans(), trace.SpanKindProducer) {
			for _, l := range s.Links {
				if l.SpanContext.TraceID() == brokenParent.TraceID() && l.SpanContext.SpanID() == broken.SpanContext.SpanID() {
					redrive = s
					return true
				}
			}
		}
		return false
	})
	if redrive.Parent.IsValid() || redrive.SpanContext.TraceID() == brokenParent.TraceID() {
		t.Errorf("redrive span in trace %s with parent %v; want a trace of its own, linked", redrive.SpanContext.TraceID(), redrive.Parent.SpanID())
	}
	eventually(t, "the redriven message's consumer span, child of the redrive's", func() bool {
		for _, c := range byKind(spans.GetSpans(), trace.SpanKindConsumer) {
			if c.Parent.SpanID() == redrive.SpanContext.SpanID() && c.SpanContext.TraceID() == redrive.SpanContext.TraceID() {
				return true
			}
		}
		return false
	})

	// HTTP: a hit, a miss (read through PostgreSQL) and a negative answer,
	// each continuing its request's trace; and an API route.
	for _, c := range []struct {
		path, route, cache string
		status             int
		parent             trace.SpanContext
	}{
		{"/order/" + orders[0].uid, "/order/{id}", "hit", 200, remoteParent(0x30)},
		{"/order/nosuchorder", "/order/{id}", "miss", 404, remoteParent(0x31)},
		{"/order/nosuchorder", "/order/{id}", "negative", 404, remoteParent(0x32)},
		{"/api/orders", "/api/orders", "", 200, remoteParent(0x33)},
	} {
		if code := getTraced(t, d.base+c.path, c.parent); code != c.status {
			t.Fatalf("GET %s: %d, want %d", c.path, code, c.status)
		}
		var srv tracetest.SpanStub
		eventually(t, "the server span of GET "+c.path, func() bool {
			for _, s := range byKind(spans.GetSpans(), trace.SpanKindServer) {
				if s.SpanContext.TraceID() == c.parent.TraceID() {
					srv = s
					return true
				}
			}
			return false
		})
		if srv.Parent.SpanID() != c.parent.SpanID() || srv.Name != "GET "+c.route ||
			attr(srv.Attributes, "http.route") != c.route || attr(srv.Attributes, "http.response.status_code") != fmt.Sprint(c.status) {
			t.Errorf("GET %s: server span %q parent %v attributes %v; want GET %s under %v with status %d",
				c.path, srv.Name, srv.Parent.SpanID(), srv.Attributes, c.route, c.parent.SpanID(), c.status)
		}
		if got := attr(srv.Attributes, "orderd.cache"); got != c.cache {
			t.Errorf("GET %s: orderd.cache = %q, want %q", c.path, got, c.cache)
		}
		if c.cache == "miss" {
			found := false
			for _, s := range spans.GetSpans() {
				found = found || s.Parent.SpanID() == srv.SpanContext.SpanID() && attr(s.Attributes, "db.system.name") == "postgresql"
			}
			if !found {
				t.Errorf("GET %s: no PostgreSQL span under the server span", c.path)
			}
		}
	}

	// No span holds a customer's data, nor a query's arguments.
	for _, s := range spans.GetSpans() {
		for _, kv := range append(s.Attributes, s.Resource.Attributes()...) {
			if kv.Key == "pgx.query.parameters" {
				t.Errorf("span %q holds the query's arguments", s.Name)
			}
			for _, p := range personal {
				if p != "" && strings.Contains(kv.Value.String(), p) {
					t.Errorf("span %q attribute %s holds personal data", s.Name, kv.Key)
				}
			}
		}
	}

	// Exemplars: the HTTP and batch-write histograms lead to traces, in the
	// OpenMetrics exposition a scraper asks for.
	req, _ := http.NewRequest(http.MethodGet, d.base+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	exemplar := func(metric, traceID string) bool {
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, metric) && strings.Contains(line, `# {trace_id="`+traceID) {
				return true
			}
		}
		return false
	}
	// A bucket keeps its latest exemplar: any of the reads of /order.
	if !exemplar(`orderd_http_request_duration_seconds_bucket{route="order"`, remoteParent(0x30).TraceID().String()) &&
		!exemplar(`orderd_http_request_duration_seconds_bucket{route="order"`, remoteParent(0x31).TraceID().String()) &&
		!exemplar(`orderd_http_request_duration_seconds_bucket{route="order"`, remoteParent(0x32).TraceID().String()) {
		t.Errorf("no exemplar with a read's trace id on orderd_http_request_duration_seconds{route=\"order\"}:\n%s", body)
	}
	if !exemplar("orderd_write_batch_duration_seconds_bucket", "") {
		t.Errorf("no exemplar on orderd_write_batch_duration_seconds")
	}
}

// orderd -h lists every tracing variable.
func TestTracing_HelpListsTheVariables(t *testing.T) {
	var out strings.Builder
	if err := Run(context.Background(), []string{"-h"}, func(string) string { return "" }, io.Discard, &out); err != nil {
		t.Fatal(err)
	}
	for _, name := range telemetry.Settings() {
		if !strings.Contains(out.String(), "\n  "+name+"\n") {
			t.Errorf("orderd -h does not list %s", name)
		}
	}
}

// A collector that accepts connections and never answers holds each export
// until it times out. Ingest does not wait for it: every order is stored
// while the first export is still hanging, and the spans it held are
// counted as dropped once it fails.
func TestTracing_CollectorDownDoesNotHoldIngest(t *testing.T) {
	// Alone in a process: t.Setenv, for the SDK reads OTEL_BSP_* from the
	// process environment.
	if !inOwnProcess(t, 1) {
		return
	}
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	collector := newSilentCollector(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")      // export at once
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "64")      // and fill the queue soon
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3000") // each export hangs this long
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS":               strings.Join(brokers, ","),
		"DATABASE_URL":                dbURL,
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + collector.addr(),
	})
	d.waitHealthy(t)

	gen := orderfake.New(1818)
	const n = 500
	recs := make([]*kgo.Record, n)
	for i := range recs {
		o := gen.Order()
		recs[i] = &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o),
			Headers: traceHeaders(remoteParent(byte(i)))}
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)
	// Every message finished: stored, cached, acked (its span ended) and
	// committed. Had ending a span waited for room in the queue, the n
	// consumer spans alone would have waited for n/64 exports of 3s each.
	ends := testenv.EndOffsets(t, brokers, "orders")
	testenv.Eventually(t, 15*time.Second, fmt.Sprint(n, " orders committed with the collector silent"), func() bool {
		got := testenv.CommittedOffsets(t, brokers, "orderd", "orders")
		for p, end := range ends {
			if got[p] != end {
				return false
			}
		}
		return true
	})
	if got := queryInt(t, dbURL, "SELECT count(*) FROM orders"); got != n {
		t.Fatalf("%d orders stored, want %d", got, n)
	}
	if !collector.reached() {
		t.Fatal("no export reached the collector: the test proves nothing")
	}
	m := d.metrics(t)
	if m["orderd_trace_spans_exported_total"] != 0 || m["orderd_trace_spans_ended_total"] < n {
		t.Errorf("exported %v of %v spans ended; want none of at least %d", m["orderd_trace_spans_exported_total"], m["orderd_trace_spans_ended_total"], n)
	}
	eventually(t, "failed exports counted as dropped spans", func() bool {
		return d.metrics(t)["orderd_trace_spans_dropped_total"] > 0
	})
}

// silentCollector accepts connections and reads them, never answering.
type silentCollector struct {
	ln    net.Listener
	conns chan net.Conn
}

func newSilentCollector(t *testing.T) *silentCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &silentCollector{ln: ln, conns: make(chan net.Conn, 1024)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns <- conn
			go func() { _, _ = io.Copy(io.Discard, conn) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case conn := <-c.conns:
				conn.Close()
			default:
				return
			}
		}
	})
	return c
}

func (c *silentCollector) addr() string { return c.ln.Addr().String() }

// reached reports whether an exporter has connected; the connection is put
// back for the cleanup to close.
func (c *silentCollector) reached() bool {
	select {
	case conn := <-c.conns:
		c.conns <- conn
		return true
	default:
		return false
	}
}

// remoteParent is a sampled span context as a producer would send it,
// with ids derived from b.
func remoteParent(b byte) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x18, 0x18, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, b},
		SpanID:     trace.SpanID{0x18, b, 1, 2, 3, 4, 5, b},
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
}

func traceHeaders(sc trace.SpanContext) []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: "traceparent", Value: []byte(fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID()))},
		{Key: "tracestate", Value: []byte("producer=1")},
	}
}

// getTraced GETs url with parent's traceparent and returns the status.
func getTraced(t *testing.T, url string, parent trace.SpanContext) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", fmt.Sprintf("00-%s-%s-01", parent.TraceID(), parent.SpanID()))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func byKind(spans tracetest.SpanStubs, kind trace.SpanKind) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == kind {
			out = append(out, s)
		}
	}
	return out
}

// attr is the value of attribute k, as text; "" if absent.
func attr(kvs []attribute.KeyValue, k attribute.Key) string {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
