package feed

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
)

func readAll(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", len(recs), n)
		}
		recs = append(recs, fs.Records()...)
	}
	return recs
}

func TestGenerate_PublishesTheRequestedMix(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	pub, err := NewPublisher(brokers, "orders")
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
	for _, r := range readAll(t, brokers, "orders", 500) {
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
