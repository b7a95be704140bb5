package stagetest

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SyncProducer is a producer for the tests to write with.
func SyncProducer(t *testing.T, brokers []string, tune ...func(*sarama.Config)) sarama.SyncProducer {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Backoff = 20 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 20 * time.Millisecond
	cfg.Metadata.AllowAutoTopicCreation = false
	for _, f := range tune {
		f(cfg)
	}
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("sync producer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// ConsumerGroup joins group with the settings orderd uses, tuned to
// rebalance quickly.
func ConsumerGroup(t *testing.T, brokers []string, group string) sarama.ConsumerGroup {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = 50 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	// Joins and leaves are signalled through heartbeats, so a short
	// interval makes rebalances quick. The session timeout stays long: the
	// broker answers one request per connection at a time, and a heartbeat
	// queued behind a fetch's long poll (up to MaxWaitTime, 500ms) under
	// -race must not look like a dead member.
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 10 * time.Second
	g, err := sarama.NewConsumerGroup(brokers, group, cfg)
	if err != nil {
		t.Fatalf("consumer group: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// RecordHeaders is r's headers by key.
func RecordHeaders(r *kgo.Record) map[string]string {
	h := map[string]string{}
	for _, kv := range r.Headers {
		h[kv.Key] = string(kv.Value)
	}
	return h
}
