package feed

import (
	"github.com/orderd/orderd/kafkaauth"

	"context"
	"testing"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

func TestGenerate_PublishesTheRequestedMix(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	pub, err := NewPublisher(brokers, "orders", kafkaauth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := Generate(context.Background(), pub, Options{Count: 500, Broken: 0.2, Duplicates: 0.1, Seed: 3})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if stats.Total() != 500 || stats.Broken < 60 || stats.Broken > 140 || stats.Duplicates < 20 || stats.Duplicates > 80 {
		t.Fatalf("stats %+v: want 500 messages, about 20%% broken and 10%% duplicates", stats)
	}
	if pub.Acked() != 500 {
		t.Fatalf("Kafka acknowledged %d of 500", pub.Acked())
	}

	var dec order.Decoder
	valid, broken, seen := 0, 0, map[string]int{}
	for _, r := range testenv.ReadTopic(t, brokers, "orders") {
		var o order.Order
		if err := dec.Decode(r.Value, &o); err != nil || order.Validate(&o) != nil {
			broken++
			continue
		}
		if string(r.Key) != o.OrderUID {
			t.Fatalf("valid order %s published under key %q", o.OrderUID, r.Key)
		}
		valid++
		seen[o.OrderUID]++
	}
	if broken != stats.Broken || valid != stats.Valid+stats.Duplicates || len(seen) != stats.Valid {
		t.Fatalf("read %d broken, %d valid (%d distinct); stats %+v", broken, valid, len(seen), stats)
	}
}

func TestGenerate_RefusesImpossibleShares(t *testing.T) {
	if _, err := Generate(context.Background(), nil, Options{Count: 1, Broken: 0.7, Duplicates: 0.5}); err == nil {
		t.Fatal("broken + duplicate shares above 1 accepted")
	}
}

// Sent faster than the broker answers, sarama packs many orders into one
// request; every batch must still fit the topic's max.message.bytes.
func TestPublisher_FullSpeedBatchesFitTheTopic(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	pub, err := NewPublisher(brokers, "orders", kafkaauth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	gen := orderfake.New(5)
	msgs := make([][]byte, 20000)
	for i := range msgs {
		msgs[i] = gen.OrderJSON() // about 2.5 KB each: 50 MB in all
	}
	for _, m := range msgs {
		if err := pub.Send(context.Background(), nil, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if pub.Acked() != int64(len(msgs)) {
		t.Fatalf("acknowledged %d of %d", pub.Acked(), len(msgs))
	}
}
