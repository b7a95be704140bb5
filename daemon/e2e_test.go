package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// The whole daemon, through Run: the canonical order, 1,000 generated ones
// and 52 broken messages go in through a real Kafka client; every valid
// order comes back over HTTP byte for byte, every broken one is on the
// dead-letter topic with its headers, and the group has committed the whole
// topic.
func TestEndToEnd(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t) // orderd creates its topics
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","),
		"DATABASE_URL":  proxiedURL,
		"LOG_LEVEL":     "debug", // every line orderd may write, for the privacy check at the end
	})
	d.waitHealthy(t)

	gen := orderfake.New(2026)
	recs := []*kgo.Record{{Topic: "orders", Key: []byte("b563feb7b2b84b6test"), Value: orderfake.ModelJSON}}
	want := map[string][]byte{} // order_uid → the JSON GET must return
	for range 1000 {
		o := gen.Order()
		doc := order.AppendJSON(nil, &o)
		want[o.OrderUID] = doc
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: doc})
	}
	brokenKinds := map[string]orderfake.Kind{} // payload → kind
	for len(brokenKinds) < 50 {
		payload, kind := gen.Broken()
		brokenKinds[string(payload)] = kind
	}
	// Two whose reason quotes their personal data: it goes to dlq-error,
	// never to the log.
	for _, edit := range []func(o *order.Order){
		func(o *order.Order) { o.Delivery.Email = "no-at-sign.example.com" },
		func(o *order.Order) { o.Delivery.Phone = "call me at 555 0100" },
	} {
		o := gen.Order()
		edit(&o)
		brokenKinds[string(order.AppendJSON(nil, &o))] = orderfake.RuleViolation
	}
	for payload := range brokenKinds {
		recs = append(recs, &kgo.Record{Topic: "orders", Value: []byte(payload)})
	}
	rand.Shuffle(len(recs)-1, func(i, j int) { recs[i+1], recs[j+1] = recs[j+1], recs[i+1] })
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)

	eventually(t, "1,001 orders in PostgreSQL", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 1001
	})
	for table, n := range map[string]int{"deliveries": 1001, "payments": 1001} {
		if got := queryInt(t, dbURL, "SELECT count(*) FROM "+table); got != n {
			t.Errorf("%s: %d rows, want %d", table, got, n)
		}
	}

	// The canonical order: JSON equal to model.json.
	code, body := d.get(t, "/order/b563feb7b2b84b6test")
	var got, model any
	_ = json.Unmarshal(body, &got)
	_ = json.Unmarshal(orderfake.ModelJSON, &model)
	if code != http.StatusOK || !reflect.DeepEqual(got, model) {
		t.Fatalf("GET the canonical order: %d %s", code, body)
	}
	// Every generated order: byte for byte what was published.
	for uid, doc := range want {
		if code, body := d.get(t, "/order/"+uid); code != http.StatusOK || !bytes.Equal(body, doc) {
			t.Fatalf("GET /order/%s: %d %s\nwant %s", uid, code, body, doc)
		}
	}

	// Every broken message: on the DLQ, unchanged, with its reason (the
	// two with personal data in theirs included).
	dead := testenv.ReadTopic(t, brokers, "orders.dlq")
	if len(dead) != len(brokenKinds) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(brokenKinds))
	}
	for _, r := range dead {
		kind, ok := brokenKinds[string(r.Value)]
		if !ok {
			t.Fatalf("dead letter with bytes that were not published broken: %.80q", r.Value)
		}
		h := headers(r)
		wantReason := string(dlq.ReasonInvalidOrder)
		if kind.Syntax() {
			wantReason = string(dlq.ReasonInvalidJSON)
		}
		if h[dlq.HeaderReason] != wantReason || h[dlq.HeaderError] == "" || h[dlq.HeaderSourceTopic] != "orders" ||
			h[dlq.HeaderSourcePartition] == "" || h[dlq.HeaderSourceOffset] == "" || h[dlq.HeaderFailedAt] == "" {
			t.Fatalf("dead letter of a %s message has headers %v, want reason %s and all dlq-* headers", kind, h, wantReason)
		}
	}

	waitCommittedToEnd(t, brokers, "orderd", "orders")

	// The metrics tell the same story.
	invalidJSON := 0
	for _, kind := range brokenKinds {
		if kind.Syntax() {
			invalidJSON++
		}
	}
	metrics := d.metrics(t)
	for series, want := range map[string]float64{
		`orderd_orders_stored_total{outcome="inserted"}`:         1001,
		`orderd_dlq_records_total{reason="invalid_json"}`:        float64(invalidJSON),
		`orderd_dlq_records_total{reason="invalid_order"}`:       float64(len(brokenKinds) - invalidJSON),
		`orderd_stage_received_total{stage="decode"}`:            float64(len(recs)),
		`orderd_http_requests_total{route="order",status="200"}`: 1001,
		`orderd_cache_entries`:                                   1001,
		`orderd_readthrough_queries_total`:                       0,
		`orderd_pipeline_in_flight`:                              0,
	} {
		if got, ok := metrics[series]; !ok || got != want {
			t.Errorf("%s = %v (present: %v), want %v", series, got, ok, want)
		}
	}
	if metrics[`orderd_kafka_messages_consumed_total{partition="0"}`]+metrics[`orderd_kafka_messages_consumed_total{partition="1"}`]+
		metrics[`orderd_kafka_messages_consumed_total{partition="2"}`] != float64(len(recs)) {
		t.Errorf("consumed per partition does not add up to %d", len(recs))
	}

	// The orders are served from the cache: with PostgreSQL cut off they
	// are still there, while a miss cannot be answered and /health says so.
	proxy.Cut()
	n := 0
	for uid, doc := range want {
		if code, body := d.get(t, "/order/"+uid); code != http.StatusOK || !bytes.Equal(body, doc) {
			t.Fatalf("with PostgreSQL down, GET /order/%s: %d %s", uid, code, body)
		}
		if n++; n == 100 {
			break
		}
	}
	if code, body := d.get(t, "/order/not-stored-anywhere"); code != http.StatusServiceUnavailable {
		t.Fatalf("a miss with PostgreSQL down: %d %s, want 503", code, body)
	}
	eventually(t, "/health reports the store down", func() bool {
		code, h := d.health(t)
		return code == http.StatusServiceUnavailable && contains(h.Failing, "store")
	})
	proxy.Restore()
	d.waitHealthy(t)

	if err := d.stop(t); err != nil {
		t.Fatalf("orderd stopped with %v", err)
	}
	if !strings.Contains(d.logs.String(), "orderd stopped cleanly") {
		t.Fatal("no clean-shutdown line in the log")
	}

	// Private data stays out of the log, at debug too: no customer's
	// name, phone, email or address of any order sent, valid or broken.
	logs := d.logs.String()
	for _, r := range recs {
		for _, v := range personalData(r.Value) {
			if strings.Contains(logs, v) {
				t.Fatalf("the log holds %q, personal data of a message sent (%.60q)", v, r.Value)
			}
		}
	}
}

// personalData returns the delivery's name, phone, email and address in
// msg, where they can be read, as the log would show them. Short values
// are left out, since they occur anywhere.
func personalData(msg []byte) []string {
	var doc struct {
		Delivery map[string]any `json:"delivery"`
	}
	if json.Unmarshal(msg, &doc) != nil {
		return nil
	}
	var out []string
	for _, k := range []string{"name", "phone", "email", "address"} {
		if v, ok := doc.Delivery[k].(string); ok && len(v) >= 6 {
			out = append(out, v)
			if q := strconv.Quote(v); q != `"`+v+`"` {
				out = append(out, q[1:len(q)-1]) // as JSON may escape it
			}
		}
	}
	return out
}

func headers(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Stopping orderd in the middle of a stream and starting it again on the
// same database loses nothing and stores nothing twice.
func TestRestartMidStream(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	env := map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "BATCH_SIZE": "100"}

	first := startDaemon(t, env)
	first.waitHealthy(t)

	const total = 3000
	gen := orderfake.New(77)
	var recs []*kgo.Record
	items := 0
	for range total {
		o := gen.Order()
		items += len(o.Items)
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
	}
	producer := testenv.KafkaClient(t, brokers)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		// Paced, so that the stop comes while most are still to be
		// produced: all at once, the first orderd has often fetched them
		// all before it stops, and its drain then stores them all.
		for i := 0; i < len(recs); i += 100 {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			err := producer.ProduceSync(ctx, recs[i:i+100]...).FirstErr()
			cancel()
			if err != nil {
				t.Errorf("produce: %v", err) // not Fatal: this is not the test's goroutine
				return
			}
			time.Sleep(20 * time.Millisecond) // the pace
		}
	}()

	eventually(t, "the first orders stored", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 300
	})
	if err := first.stop(t); err != nil {
		t.Fatalf("first orderd stopped with %v", err)
	}
	stoppedAt := queryInt(t, dbURL, "SELECT count(*) FROM orders")
	<-produced
	if stoppedAt >= total {
		t.Fatalf("all %d orders were stored before the stop; the test did not stop mid-stream", total)
	}

	second := startDaemon(t, env)
	second.waitHealthy(t)
	eventually(t, fmt.Sprintf("all %d orders stored (%d before the restart)", total, stoppedAt), func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == total
	})
	waitCommittedToEnd(t, brokers, "orderd", "orders")
	for query, want := range map[string]int{
		"SELECT count(DISTINCT order_uid) FROM orders": total,
		"SELECT count(*) FROM deliveries":              total,
		"SELECT count(*) FROM payments":                total,
		"SELECT count(*) FROM items":                   items,
	} {
		if got := queryInt(t, dbURL, query); got != want {
			t.Errorf("%s = %d, want %d", query, got, want)
		}
	}
	if dead := testenv.EndOffsets(t, brokers, "orders.dlq"); testenv.Sum(dead) != 0 {
		t.Fatalf("%d dead letters for valid orders redelivered after a restart", testenv.Sum(dead))
	}
}
