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
	parallel(t, 1)
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

// A constraint that every new order violates is the schema's fault, not
// the orders': while it stands, /health is 503 naming it and nothing is
// dead-lettered; once it is dropped, everything is stored.
func TestASchemaThatRefusesEveryOrderStallsInsteadOfDeadLettering(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "RETRY_MAX_BACKOFF": "200ms",
	})
	d.waitHealthy(t)
	gen := orderfake.New(11)
	producer := testenv.KafkaClient(t, brokers)
	testenv.Produce(t, producer, generated(gen, 500)...)
	eventually(t, "500 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 500 })

	execSQL(t, dbURL, `ALTER TABLE items ADD CONSTRAINT no_new_items CHECK (false) NOT VALID`)
	testenv.Produce(t, producer, generated(gen, 1000)...)
	eventually(t, "/health 503 naming the constraint", func() bool {
		code, h := d.health(t)
		detail := h.Components["writer"].Detail
		return code == 503 && contains(h.Failing, "writer") && strings.Contains(detail, "no_new_items") &&
			strings.Contains(detail, "postgresql refuses any order")
	})
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")); n != 0 {
		t.Fatalf("%d orders dead-lettered for the schema's fault", n)
	}
	if n := queryInt(t, dbURL, "SELECT count(*) FROM orders"); n != 500 {
		t.Fatalf("%d orders stored while the constraint stood, want 500", n)
	}

	execSQL(t, dbURL, `ALTER TABLE items DROP CONSTRAINT no_new_items`)
	eventually(t, "1,500 orders stored once the constraint is gone", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 1500
	})
	waitCommittedToEnd(t, brokers, "orderd", "orders")
	d.waitHealthy(t)
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}
