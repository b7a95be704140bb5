package browse

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
)

// A record cut to fit a small dead-letter topic is accepted by the broker,
// read back as truncated with its original size and digest, and refused by
// redrive unless a corrected payload is given.
func TestTruncatedRecord_ReadsAsTruncatedAndIsNotRedrivenAsItIs(t *testing.T) {
	const topicLimit = 32 << 10
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders.dlq"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(topicLimit)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	client := saramaClient(t, brokers)
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	payload := bytes.Repeat([]byte("y"), 100_000)
	// Redriven once before: the next redrive replaces the provenance.
	letter := dlq.Letter{
		SourceTopic: "orders", SourcePartition: 2, SourceOffset: 41,
		Key: []byte("k1"), Value: payload, Reason: dlq.ReasonTooLarge, Error: "message is too large",
		FailedAt: time.Date(2026, 11, 26, 6, 22, 19, 0, time.UTC),
		Headers:  []sarama.RecordHeader{{Key: []byte(dlq.HeaderRedrivenFrom), Value: []byte("orders.dlq/9/9")}},
	}
	msg, truncated := letter.Fit("orders.dlq", topicLimit-dlq.BatchOverhead)
	if !truncated {
		t.Fatal("not truncated")
	}
	p, o, err := producer.SendMessage(msg)
	if err != nil {
		t.Fatalf("the broker refused the fitted record: %v", err)
	}

	r := NewReader(client, "orders.dlq")
	rec, err := r.Get(context.Background(), dlq.Ref{Partition: p, Offset: o})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	if !rec.Truncated || rec.OriginalBytes != 100_000 || rec.OriginalSHA256 != hex.EncodeToString(sum[:]) ||
		len(rec.Value) == 0 || len(rec.Value) >= topicLimit {
		t.Fatalf("read back: truncated %v, original %d bytes, sha256 %s, %d bytes kept",
			rec.Truncated, rec.OriginalBytes, rec.OriginalSHA256, len(rec.Value))
	}

	d := dlq.NewRedriver(r, producer, "orders")
	if _, err := d.Redrive(context.Background(), []dlq.Ref{{Partition: p, Offset: o}}, nil); !errors.Is(err, dlq.ErrTruncated) ||
		!strings.Contains(err.Error(), "100000 bytes") {
		t.Fatalf("Redrive of a truncated record = %v, want dlq.ErrTruncated naming the original size", err)
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("%d records on orders after a refused redrive", n)
	}
	done, err := d.Redrive(context.Background(), []dlq.Ref{{Partition: p, Offset: o}}, []byte(`{"fixed":true}`))
	if err != nil || len(done) != 1 {
		t.Fatalf("Redrive with a corrected payload = %v, %v", done, err)
	}
	out := testenv.ReadTopic(t, brokers, "orders")
	var from []string
	for _, h := range out[0].Headers {
		if dlq.IsOwnHeader(h.Key) {
			t.Errorf("redriven record keeps %s", h.Key)
		}
		if h.Key == dlq.HeaderRedrivenFrom {
			from = append(from, string(h.Value))
		}
	}
	if want := "orders.dlq/" + strconv.Itoa(int(p)) + "/" + strconv.FormatInt(o, 10); len(from) != 1 || from[0] != want {
		t.Fatalf("redriven-from headers %q, want just %q", from, want)
	}
}
