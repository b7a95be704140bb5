package daemon

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// With PostgreSQL cut and some 320 MB of 900-item orders waiting in Kafka
// (two and a half times the larger bound, so that the consumer must pause
// at either), orderd takes in MAX_IN_FLIGHT_MB of them, each counted at what it holds
// (its bytes, the decoded order, its canonical JSON), and pauses. Its memory
// grows by at most twice the bound (Go's collector lets the heap reach twice
// what is live) plus 64 MiB for what lies outside the bound (sarama's
// buffers, the runtime), at a small bound and a large one, however large
// the backlog. Once PostgreSQL is back everything is stored.
func TestInFlightBytesBoundMemoryWhileTheStoreIsDown(t *testing.T) {
	schedule(t, load{instances: 1, long: true})
	// Orders of 900 items of their own: every byte is content the decoder
	// keeps, about 200 KB of JSON each.
	gen := orderfake.New(500)
	var recs []*kgo.Record
	backlog := 0
	for i := 0; backlog < 320<<20; i++ {
		o := gen.OrderWithItems(900)
		doc := order.AppendJSON(nil, &o)
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: int32(i % 3), Key: []byte(o.OrderUID), Value: doc})
		backlog += len(doc)
	}
	for _, boundMB := range []int{16, 128} {
		t.Run(fmt.Sprintf("MAX_IN_FLIGHT_MB=%d", boundMB), func(t *testing.T) {
			boundMemory(t, recs, backlog, boundMB)
		})
	}
}

func boundMemory(t *testing.T, recs []*kgo.Record, backlog, boundMB int) {
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	p := startProcess(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": proxiedURL,
		"RETRY_MAX_BACKOFF": "200ms", "MAX_IN_FLIGHT_MB": strconv.Itoa(boundMB),
	})
	p.waitHealthy(t)
	rest, _ := p.memory(t)

	proxy.Cut()
	producer := testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(4<<20))
	for i := 0; i < len(recs); i += 20 {
		var batch []*kgo.Record // fresh records: a produced one keeps its context
		for _, r := range recs[i:min(i+20, len(recs))] {
			batch = append(batch, &kgo.Record{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value})
		}
		testenv.Produce(t, producer, batch...)
	}
	largest := 0
	for _, r := range recs {
		largest = max(largest, len(r.Key)+len(r.Value))
	}
	// Full: less room left than one more message would be charged.
	eventually(t, "the in-flight bytes reach their bound", func() bool {
		return p.metrics(t)["orderd_pipeline_in_flight_bytes"] > float64(boundMB<<20-3*largest)
	})
	// The consumer stays paused while the writers retry the cut store.
	retries := p.metrics(t)[`orderd_retries_total{cause="store"}`]
	eventually(t, "the writers retry the cut store five times more", func() bool {
		return p.metrics(t)[`orderd_retries_total{cause="store"}`] >= retries+5
	})
	m := p.metrics(t)
	rss, peak := p.memory(t)
	consumed := m[`orderd_kafka_messages_consumed_total{partition="0"}`] + m[`orderd_kafka_messages_consumed_total{partition="1"}`] +
		m[`orderd_kafka_messages_consumed_total{partition="2"}`]
	t.Logf("backlog %d MiB in %d orders; resting RSS %d MiB, now %d MiB, peak %d MiB (grew %d MiB); in flight %.1f MiB, %v messages; consumed %v",
		backlog>>20, len(recs), rest>>20, rss>>20, peak>>20, (peak-rest)>>20, m["orderd_pipeline_in_flight_bytes"]/(1<<20),
		m["orderd_pipeline_in_flight"], consumed)
	if consumed >= float64(len(recs)) {
		t.Fatalf("all %d orders consumed while PostgreSQL was cut: the backlog did not test the bound", len(recs))
	}
	if grew, limit := peak-rest, int64(2*boundMB+64)<<20; grew > limit {
		t.Errorf("RSS peaked %d MiB above its resting %d MiB with MAX_IN_FLIGHT_MB=%d: want at most 2 × %d + 64 = %d MiB",
			grew>>20, rest>>20, boundMB, boundMB, limit>>20)
	}

	proxy.Restore()
	// 320 MiB of orders to decode and write, on cores the parallel tests
	// share: a minute is not always enough, and nothing here is about speed.
	testenv.Eventually(t, 3*time.Minute, "every order stored once PostgreSQL is back", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == len(recs)
	})
	waitCommittedToEnd(t, brokers, "orderd", "orders")
}
