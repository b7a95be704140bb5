package main

import (
	"context"
	"strings"
	"testing"

	"github.com/orderd/orderd/internal/testenv"
)

func TestRun_PublishesAFileKeyedByItsOrderUID(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	var out strings.Builder
	args := []string{"-brokers", brokers[0], "-file", "../../order/orderfake/model.json"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), `key "b563feb7b2b84b6test"`) {
		t.Fatalf("output %q", out.String())
	}

	recs := testenv.ReadTopic(t, brokers, "orders")
	if len(recs) != 1 || string(recs[0].Key) != "b563feb7b2b84b6test" || !strings.Contains(string(recs[0].Value), `"order_uid": "b563feb7b2b84b6test"`) {
		t.Fatalf("published %d records: %v", len(recs), recs)
	}
}

func TestRun_GeneratesABoundedCount(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	var out strings.Builder
	env := map[string]string{"KAFKA_BROKERS": brokers[0]}
	args := []string{"-n", "50", "-rate", "0", "-broken", "0.1", "-seed", "9"}
	if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), "published 50 messages to orders") {
		t.Fatalf("output %q", out.String())
	}
	if n := len(testenv.ReadTopic(t, brokers, "orders")); n != 50 {
		t.Fatalf("%d records on the topic, want 50", n)
	}
	if err := run(context.Background(), []string{"-n", "0"}, func(k string) string { return env[k] }, &out, &out); err == nil {
		t.Fatal("-n 0 accepted: the producer must never run unbounded")
	}
}

// -trace puts a traceparent of a new, sampled trace on the message and
// prints its trace id.
func TestRun_TracePutsATraceparent(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	var out strings.Builder
	args := []string{"-brokers", brokers[0], "-file", "../../order/orderfake/model.json", "-trace"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	_, traceID, ok := strings.Cut(out.String(), "trace ")
	traceID = strings.TrimSpace(traceID)
	if !ok || len(traceID) != 32 {
		t.Fatalf("output %q names no trace id", out.String())
	}
	recs := testenv.ReadTopic(t, brokers, "orders")
	if len(recs) != 1 || len(recs[0].Headers) != 1 || recs[0].Headers[0].Key != "traceparent" {
		t.Fatalf("published %v", recs)
	}
	tp := string(recs[0].Headers[0].Value)
	if parts := strings.Split(tp, "-"); len(parts) != 4 || parts[0] != "00" || parts[1] != traceID || len(parts[2]) != 16 || parts[3] != "01" {
		t.Fatalf("traceparent %q, want 00-%s-<span id>-01", tp, traceID)
	}
}
