package deadletter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/internal/stagetest"
	"github.com/orderd/orderd/storage"
)

func deadLetters(t *testing.T, brokers []string, topic string) (*DeadLetters, *health.Registry) {
	t.Helper()
	reg := health.New()
	comp := reg.Component("dlq")
	comp.OK()
	return &DeadLetters{
		Producer: stagetest.SyncProducer(t, brokers),
		Topic:    topic,
		Health:   comp,
		Log:      zerolog.Nop(),
		Metrics:  testMetrics(),
		Retry:    pipeline.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		MaxBatch: 2,
		// The test producer's limit, sarama's default.
		MaxRecordBytes: 1 << 20,
	}, reg
}

func condemned(offset int64, key []byte, value string, reason dlq.Reason, cause error, headers ...pipeline.Header) (Dead, *stagetest.Acks) {
	msg, a := stagetest.Message(offset, key, []byte(value))
	msg.Src.Headers = headers
	return pipeline.Carry(msg, Poison{Reason: reason, Err: cause, FailedAt: time.Date(2026, 11, 26, 6, 22, 19, 0, time.UTC)}), a
}

func TestDLQ_PublishesOriginalBytesWithReasonHeadersThenAcks(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	dl, reg := deadLetters(t, brokers, "orders.dlq")

	// Each dead letter's ack records the topic's end offsets when it is
	// called: the record must already be below them, published before it
	// was acked. Both have happened by the time Run returns, whatever their
	// order, so the ack itself looks.
	adm := kadm.NewClient(testenv.KafkaClient(t, brokers))
	var mu sync.Mutex
	endsAtAck := map[string]map[int32]int64{} // by source offset
	type sent struct {
		dead Dead
		acks *stagetest.CheckedAcks
	}
	var all []sent
	add := func(d Dead, _ *stagetest.Acks) {
		at := fmt.Sprint(d.Src.Offset)
		d, a := stagetest.AckChecked(d, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), stagetest.WaitFor)
			defer cancel()
			ends, err := adm.ListEndOffsets(ctx, "orders.dlq")
			if err == nil {
				err = ends.Error()
			}
			if err != nil {
				return fmt.Errorf("end offsets of orders.dlq: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			endsAtAck[at] = map[int32]int64{}
			ends.Each(func(o kadm.ListedOffset) { endsAtAck[at][o.Partition] = o.Offset })
			return nil
		})
		all = append(all, sent{d, a})
	}
	add(condemned(10, []byte("k1"), "not json", dlq.ReasonInvalidJSON, errors.New("invalid JSON: cannot parse")))
	add(condemned(11, nil, `{"order_uid":"x"}`, dlq.ReasonInvalidOrder, errors.New("payment.amount: missing"),
		pipeline.Header{Key: []byte("trace"), Value: []byte("abc")},             // kept
		pipeline.Header{Key: []byte("dlq-reason"), Value: []byte("too_large")})) // an earlier dead-lettering's: replaced
	add(condemned(12, []byte("k3"), "{}", dlq.ReasonConflict, fmt.Errorf("order x: %w", storage.ErrConflict)))

	in := make(chan Dead, len(all))
	for _, s := range all {
		in <- s.dead
	}
	close(in)
	if err := dl.Run(context.Background(), in); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, s := range all {
		s.acks.Assert(t, 1, 0)
		s.acks.AssertCheckedAtAck(t)
	}
	if !reg.Report().OK {
		t.Fatal("dlq unhealthy after publishing")
	}

	bySourceOffset := map[string]sent{}
	for _, s := range all {
		bySourceOffset[fmt.Sprint(s.dead.Src.Offset)] = s
	}
	for _, r := range testenv.ReadTopic(t, brokers, "orders.dlq") {
		headers := map[string]string{}
		for _, h := range r.Headers {
			if _, dup := headers[h.Key]; dup {
				t.Fatalf("record repeats header %s", h.Key)
			}
			headers[h.Key] = string(h.Value)
		}
		at := headers[dlq.HeaderSourceOffset]
		src, ok := bySourceOffset[at]
		if !ok {
			t.Fatalf("record with dlq-source-offset %q, want one of 10, 11, 12", at)
		}
		delete(bySourceOffset, at)
		mu.Lock()
		end, acked := endsAtAck[at][r.Partition]
		mu.Unlock()
		if !acked || r.Offset >= end {
			t.Errorf("record %s is at %d of partition %d, but the partition ended at %d when it was acked: acked before it was published",
				at, r.Offset, r.Partition, end)
		}
		if string(r.Value) != string(src.dead.Src.Value) || string(r.Key) != string(src.dead.Src.Key) {
			t.Errorf("record %s: key %q value %q, want the original %q %q", at, r.Key, r.Value, src.dead.Src.Key, src.dead.Src.Value)
		}
		want := map[string]string{
			dlq.HeaderReason:          string(src.dead.Value.Reason),
			dlq.HeaderError:           src.dead.Value.Err.Error(),
			dlq.HeaderSourceTopic:     "orders",
			dlq.HeaderSourcePartition: "0",
			dlq.HeaderFailedAt:        "2026-11-26T06:22:19Z",
		}
		for k, v := range want {
			if headers[k] != v {
				t.Errorf("record %s: header %s = %q, want %q", at, k, headers[k], v)
			}
		}
		if at == "11" && headers["trace"] != "abc" {
			t.Errorf("original header lost: %v", headers)
		}
	}
	if len(bySourceOffset) != 0 {
		t.Fatalf("no dead letter for source offsets %v", bySourceOffset)
	}
}

func TestDLQ_FailureMarksNothing(t *testing.T) {
	// The dead-letter topic does not exist and cannot be created: every
	// publish fails.
	brokers, _ := testenv.Kafka(t, "orders")
	dl, reg := deadLetters(t, brokers, "missing.dlq")

	d, a := condemned(5, nil, "garbage", dlq.ReasonInvalidJSON, errors.New("invalid JSON"))
	in := make(chan Dead, 1)
	in <- d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dl.Run(ctx, in) }()

	testenv.Eventually(t, stagetest.WaitFor, "dlq reported unhealthy", func() bool { return !reg.Report().OK })
	// It says what the broker answered and what to do.
	if detail := reg.Report().Components[0].Detail; !strings.Contains(detail, "missing.dlq") ||
		!strings.Contains(detail, "does not exist") || !strings.Contains(detail, "KAFKA_CREATE_TOPICS") {
		t.Fatalf("health detail %q does not name the topic, the broker's answer and the setting", detail)
	}
	a.Assert(t, 0, 0) // still being retried
	cancel()
	err := stagetest.Recv(t, (<-chan error)(done))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "dead-letter 1 records") {
		t.Fatalf("Run = %v; want the cancellation joined with the publish error", err)
	}
	// Never acked, so its offset is never committed; nacked, so nothing
	// after it in the partition is either.
	a.Assert(t, 0, 1)
}

// publishAll runs dl over the given dead letters until they are all
// published.
func publishAll(t *testing.T, dl *DeadLetters, dead ...Dead) {
	t.Helper()
	in := make(chan Dead, len(dead))
	for _, d := range dead {
		in <- d
	}
	close(in)
	ctx, cancel := context.WithTimeout(context.Background(), stagetest.WaitFor)
	defer cancel()
	if err := dl.Run(ctx, in); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A dead letter too large for the dead-letter topic is published cut to
// fit, with what was cut, and acked; the small ones sharing its batch go
// whole. This holds whether the stage knew the limit (it fits before
// sending), believed a larger one (the broker refuses, it shrinks), or the
// producer's own limit is the smaller (sarama refuses before sending).
func TestDLQ_TooLargeIsPublishedTruncatedNotRetried(t *testing.T) {
	const topicLimit = 64 << 10
	f := func(name string, maxRecordBytes, producerLimit int) {
		t.Run(name, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.dlq"),
				kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(topicLimit)}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			brokers := c.ListenAddrs()
			dl, reg := deadLetters(t, brokers, "orders.dlq")
			dl.MaxBatch = 10
			dl.MaxRecordBytes = maxRecordBytes
			if producerLimit > 0 {
				dl.Producer = stagetest.SyncProducer(t, brokers, func(c *sarama.Config) { c.Producer.MaxMessageBytes = producerLimit })
			}
			big := bytes.Repeat([]byte("b"), 200_000)
			d1, a1 := condemned(1, []byte("k1"), "small one", dlq.ReasonInvalidJSON, errors.New("invalid JSON"))
			d2, a2 := condemned(2, []byte("k2"), string(big), dlq.ReasonTooLarge, fmt.Errorf("message is %d bytes, more than the %d-byte limit", len(big), 1<<20))
			d3, a3 := condemned(3, []byte("k3"), "small two", dlq.ReasonInvalidJSON, errors.New("invalid JSON"))
			publishAll(t, dl, d1, d2, d3)
			for _, a := range []*stagetest.Acks{a1, a2, a3} {
				a.Assert(t, 1, 0)
			}
			if !reg.Report().OK {
				t.Fatalf("dlq unhealthy: %+v", reg.Report())
			}
			if got := testutil.ToFloat64(dl.Metrics.truncated); got != 1 {
				t.Fatalf("orderd_dlq_truncated_total = %v, want 1", got)
			}
			sum := sha256.Sum256(big)
			seen := map[string]int{}
			for _, r := range testenv.ReadTopic(t, brokers, "orders.dlq") {
				seen[string(r.Key)]++
				h := stagetest.RecordHeaders(r)
				switch string(r.Key) {
				case "k1", "k3":
					if h[dlq.HeaderTruncated] != "" || !strings.HasPrefix(string(r.Value), "small") {
						t.Errorf("%s: %q, headers %v; want it whole", r.Key, r.Value, h)
					}
				case "k2":
					if h[dlq.HeaderTruncated] != "true" || h[dlq.HeaderOriginalBytes] != "200000" ||
						h[dlq.HeaderOriginalSHA256] != hex.EncodeToString(sum[:]) || h[dlq.HeaderReason] != "too_large" ||
						len(r.Value) == 0 || len(r.Value) >= topicLimit || !bytes.HasPrefix(big, r.Value) {
						t.Errorf("the large one: %d bytes, headers %v", len(r.Value), h)
					}
				default:
					t.Errorf("unexpected record with key %q", r.Key)
				}
			}
			// Each once: the checks above hold for the records there are.
			if fmt.Sprint(seen) != "map[k1:1 k2:1 k3:1]" {
				t.Errorf("records by key %v, want k1, k2 and k3 once each", seen)
			}
		})
	}
	f("limit known", topicLimit-dlq.BatchOverhead, 0)
	f("broker refuses", 1<<20, 0)
	f("producer refuses", 1<<20, 32<<10)
}

// A refusal that is no one record's fault is retried, and /health says what
// the broker answered and what to grant; once the cause is gone, everything
// is published and acked.
func TestDLQ_AuthorizationDenialIsRetriedAndExplained(t *testing.T) {
	brokers, cluster := testenv.Kafka(t, "orders.dlq")
	dl, reg := deadLetters(t, brokers, "orders.dlq")
	denied := cluster.Fault(kfake.Fault{
		Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders.dlq", Err: kerr.TopicAuthorizationFailed, Count: -1,
	})
	d, a := condemned(7, []byte("k"), "garbage", dlq.ReasonInvalidJSON, errors.New("invalid JSON"))
	in := make(chan Dead, 1)
	in <- d
	close(in)
	done := make(chan error, 1)
	go func() { done <- dl.Run(context.Background(), in) }()

	testenv.Eventually(t, stagetest.WaitFor, "dlq reported unhealthy", func() bool { return !reg.Report().OK })
	detail := reg.Report().Components[0].Detail
	if !strings.Contains(detail, "not authorized") && !strings.Contains(detail, "Authorization") ||
		!strings.Contains(detail, "grant it WRITE") {
		t.Fatalf("health detail %q: want the broker's answer and what to grant", detail)
	}
	if strings.Contains(detail, "Failed to deliver") {
		t.Fatalf("health detail %q hides the record's own error", detail)
	}
	a.Assert(t, 0, 0)
	denied.Remove()
	if err := stagetest.Recv(t, (<-chan error)(done)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	a.Assert(t, 1, 0)
	if !reg.Report().OK {
		t.Fatal("dlq still unhealthy after the denial was lifted")
	}
}

func TestIsTooLarge_TheBrokersRefusalsAndSaramas(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if isTooLarge(err) != want {
			t.Errorf("isTooLarge(%v) = %v", err, !want)
		}
	}
	f(sarama.ErrMessageSizeTooLarge, true)    // the broker: MESSAGE_TOO_LARGE
	f(sarama.ErrMessageSetSizeTooLarge, true) // the broker: RECORD_LIST_TOO_LARGE
	f(sarama.ConfigurationError("Attempt to produce message larger than configured Producer.MaxMessageBytes: 2 > 1"), true)
	f(sarama.ErrUnknownTopicOrPartition, false)
	f(sarama.ConfigurationError("Producing headers requires Kafka at least v0.11"), false)
}

// A broker that takes the dead letter's request and never answers holds a
// sarama send for its read timeout and retries, and a send cannot be
// cancelled. When the stage's context ends (SHUTDOWN_TIMEOUT), Run stops
// waiting for it at once and nacks the record, which stays uncommitted.
func TestDLQ_ABrokerThatNeverAnswersIsLeftWhenTheContextEnds(t *testing.T) {
	brokers, cluster := testenv.Kafka(t, "orders.dlq")
	dl, _ := deadLetters(t, brokers, "orders.dlq")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var hung atomic.Int32
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		hung.Add(1)
		cluster.SleepControl(func() { <-release })
		return nil, nil, false
	})

	d, a := condemned(9, nil, "garbage", dlq.ReasonInvalidJSON, errors.New("invalid JSON"))
	in := make(chan Dead, 1)
	in <- d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dl.Run(ctx, in) }()
	testenv.Eventually(t, stagetest.WaitFor, "the dead letter's produce request reaching the broker", func() bool { return hung.Load() > 0 })
	cancel()
	if err := stagetest.Recv(t, (<-chan error)(done)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want the cancellation", err)
	}
	a.Assert(t, 0, 1)
}
