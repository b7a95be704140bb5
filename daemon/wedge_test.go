package daemon

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// A broker whose message.max.bytes was raised to 8 MiB, with topics that
// inherit it and set nothing themselves: orderd learns the real limit with
// DescribeConfigs, sizes the dead-letter topic from it, and messages of 2
// and 6 MiB are dead-lettered whole as too_large. A 12 MiB message that
// arrived compressed to fit the orders topic is cut to fit the dead-letter
// topic. Nothing waits behind them: every valid order is stored, every
// broken one is dead-lettered, and the group commits every partition to
// its end.
func TestLargeMessagesOnABrokerWithRaisedLimits(t *testing.T) {
	parallel(t, 1)
	const brokerLimit = 8 << 20
	brokers, _ := testenv.KafkaWith(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(brokerLimit)}))
	dbURL := testenv.Postgres(t)
	d := startDaemon(t, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL})
	d.waitHealthy(t)
	if !strings.Contains(d.logs.String(), `"max_message_bytes":8388608,"from":"inherited from the broker's message.max.bytes"`) {
		t.Fatalf("orderd did not learn the orders topic's inherited limit; log:\n%s", d.logs)
	}

	big := map[string][]byte{ // key → payload
		"big-2mib": bytes.Repeat([]byte("2"), 2<<20),
		"big-6mib": bytes.Repeat([]byte("6"), 6<<20),
	}
	huge := bytes.Repeat([]byte(`{"filler":"0123456789"}`), (12<<20)/23) // 12 MiB, compresses well
	gen := orderfake.New(10)
	var recs []*kgo.Record
	want := map[string][]byte{}
	for range 1000 {
		o := gen.Order()
		doc := order.AppendJSON(nil, &o)
		want[o.OrderUID] = doc
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: doc})
	}
	broken := map[string]orderfake.Kind{}
	for len(broken) < 200 {
		payload, kind := gen.Broken()
		broken[string(payload)] = kind
	}
	for payload := range broken {
		recs = append(recs, &kgo.Record{Topic: "orders", Value: []byte(payload)})
	}
	rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	// The large ones first, one on each partition, so that everything
	// else has to pass them.
	producer := testenv.KafkaClient(t, brokers, kgo.ProducerBatchMaxBytes(16<<20), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	testenv.Produce(t, producer,
		&kgo.Record{Topic: "orders", Partition: 0, Key: []byte("big-2mib"), Value: big["big-2mib"]},
		&kgo.Record{Topic: "orders", Partition: 1, Key: []byte("big-6mib"), Value: big["big-6mib"]})
	compressed := testenv.KafkaClient(t, brokers, kgo.ProducerBatchMaxBytes(16<<20), kgo.ProducerBatchCompression(kgo.ZstdCompression()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	testenv.Produce(t, compressed, &kgo.Record{Topic: "orders", Partition: 2, Key: []byte("huge"), Value: huge})
	for i, r := range recs {
		r.Partition = int32(i % 3)
	}
	testenv.Produce(t, producer, recs...)

	eventually(t, "1,000 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 1000 })
	waitCommittedToEnd(t, brokers, "orderd", "orders")
	d.waitHealthy(t)

	dead := testenv.ReadTopic(t, brokers, "orders.dlq")
	if len(dead) != len(broken)+3 {
		t.Fatalf("%d dead letters, want %d", len(dead), len(broken)+3)
	}
	for _, r := range dead {
		h := headers(r)
		switch key := string(r.Key); key {
		case "big-2mib", "big-6mib":
			if h[dlq.HeaderReason] != string(dlq.ReasonTooLarge) || !bytes.Equal(r.Value, big[key]) || h[dlq.HeaderTruncated] != "" {
				t.Errorf("%s: %d bytes, headers %v; want it whole, too_large", key, len(r.Value), h)
			}
		case "huge":
			sum := sha256.Sum256(huge)
			if h[dlq.HeaderReason] != string(dlq.ReasonTooLarge) || h[dlq.HeaderTruncated] != "true" ||
				h[dlq.HeaderOriginalBytes] != strconv.Itoa(len(huge)) || h[dlq.HeaderOriginalSHA256] != hex.EncodeToString(sum[:]) ||
				len(r.Value) > brokerLimit+dlq.HeaderRoom || !bytes.HasPrefix(huge, r.Value) || len(r.Value) < brokerLimit {
				t.Errorf("the 12 MiB message: %d bytes on the DLQ, headers %v; want it cut to fit", len(r.Value), h)
			}
		default:
			kind, ok := broken[string(r.Value)]
			wantReason := string(dlq.ReasonInvalidOrder)
			if kind.Syntax() {
				wantReason = string(dlq.ReasonInvalidJSON)
			}
			if !ok || h[dlq.HeaderReason] != wantReason {
				t.Errorf("dead letter %.60q with headers %v", r.Value, h)
			}
		}
	}
	for uid, doc := range want {
		if code, body := d.get(t, "/order/"+uid); code != 200 || !bytes.Equal(body, doc) {
			t.Fatalf("GET /order/%s: %d", uid, code)
		}
	}
	if m := d.metrics(t); m["orderd_dlq_truncated_total"] != 1 || m[`orderd_dlq_records_total{reason="too_large"}`] != 3 {
		t.Fatalf("truncated %v, too_large %v; want 1 and 3", m["orderd_dlq_truncated_total"], m[`orderd_dlq_records_total{reason="too_large"}`])
	}
}
