package daemon

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order/orderfake"
)

// hostileOrder is the canonical order with its items array replaced by n
// zeros: valid JSON, about 2n bytes, with valid leading fields.
func hostileOrder(n int) []byte {
	doc := string(orderfake.ModelJSON)
	i := strings.Index(doc, `"items"`)
	j := strings.Index(doc, `"locale"`)
	return []byte(doc[:i] + `"items": [` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `],` + "\n  " + doc[j:])
}

// 40 messages of about 1 MB whose items array holds 500,000 zeros are
// dead-lettered as invalid_order without orderd building what they claim:
// its memory stays near its resting level.
func TestHostileArraysDoNotInflateMemory(t *testing.T) {
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	p := startProcess(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "MAX_IN_FLIGHT_MB": "16",
	})
	p.waitHealthy(t)
	rest, _ := p.memory(t)

	hostile := hostileOrder(500_000)
	producer := testenv.KafkaClient(t, brokers)
	for range 40 {
		testenv.Produce(t, producer, &kgo.Record{Topic: "orders", Value: hostile})
	}
	eventually(t, "40 dead letters", func() bool { return testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 40 })
	waitCommittedToEnd(t, brokers, "orderd", "orders")
	rss, peak := p.memory(t)
	t.Logf("40 messages of %d bytes: resting RSS %d MiB, peak %d MiB, after %d MiB", len(hostile), rest>>20, peak>>20, rss>>20)
	for _, r := range testenv.ReadTopic(t, brokers, "orders.dlq") {
		if h := headers(r); h[dlq.HeaderReason] != string(dlq.ReasonInvalidOrder) || !strings.Contains(h[dlq.HeaderError], "JSON values") {
			t.Fatalf("dead letter headers %v", h)
		}
	}
	// What orderd may hold of them: MAX_IN_FLIGHT_MB in the pipeline and 16
	// messages per partition in the consumer (48 MB here), and the heap
	// may reach twice what is live. Each message building what it claims
	// (half a million items, a tree of half a million values) would cost
	// some 17 MB of it.
	if grew := peak - rest; grew > 160<<20 {
		t.Fatalf("RSS peaked %d MiB above its resting %d MiB for 40 MB of hostile messages", grew>>20, rest>>20)
	}
}
