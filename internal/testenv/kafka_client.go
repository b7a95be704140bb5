package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaTimeout bounds each of the helpers' requests to Kafka.
const kafkaTimeout = 30 * time.Second

// KafkaClient returns a franz-go client for brokers, closed when the test
// ends. Tests produce their input and read orderd's output with it, an
// independent client, so sarama is never checked only against itself.
func KafkaClient(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ProducerBatchMaxBytes(2 << 20)}
	c, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("testenv: kafka client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Produce writes recs and waits for Kafka's acknowledgement.
func Produce(t testing.TB, c *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaTimeout)
	defer cancel()
	if err := c.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("testenv: produce %d records: %v", len(recs), err)
	}
}

// ReadTopic returns every record of topic up to its end offsets as they are
// when it is called.
func ReadTopic(t testing.TB, brokers []string, topic string) []*kgo.Record {
	t.Helper()
	want := int64(0)
	for _, end := range EndOffsets(t, brokers, topic) {
		want += end
	}
	c := KafkaClient(t, brokers, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), kafkaTimeout)
	defer cancel()
	var got []*kgo.Record
	for int64(len(got)) < want {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("testenv: read %d of %d records of %s", len(got), want, topic)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("testenv: fetch %s[%d]: %v", topic, p, err) })
		got = append(got, fs.Records()...)
	}
	return got
}

// EndOffsets returns the end offset of each partition of topic: how many
// records each has had.
func EndOffsets(t testing.TB, brokers []string, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaTimeout)
	defer cancel()
	ends, err := kadm.NewClient(KafkaClient(t, brokers)).ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("testenv: end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// CommittedOffsets returns group's committed offset in each partition of
// topic that has one.
func CommittedOffsets(t testing.TB, brokers []string, group, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaTimeout)
	defer cancel()
	offs, err := kadm.NewClient(KafkaClient(t, brokers)).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("testenv: committed offsets of %s: %v", group, err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

// Sum adds up offsets, e.g. the records of a whole topic.
func Sum(offsets map[int32]int64) int64 {
	var n int64
	for _, o := range offsets {
		n += o
	}
	return n
}
