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
