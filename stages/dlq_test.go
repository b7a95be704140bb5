package stages

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
)

func deadLetters(t *testing.T, brokers []string, topic string) (*DeadLetters, *health.Registry) {
	t.Helper()
	reg := health.New()
	comp := reg.Component("dlq")
	comp.OK()
	return &DeadLetters{
		Producer: syncProducer(t, brokers),
		Topic:    topic,
		Health:   comp,
		Log:      zerolog.Nop(),
		Metrics:  testMetrics(),
		Retry:    pipeline.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		MaxBatch: 2,
	}, reg
}

func condemned(offset int64, key []byte, value string, reason dlq.Reason, cause error, headers ...pipeline.Header) (Dead, *acks) {
	msg, a := message(offset, key, []byte(value))
	msg.Src.Headers = headers
	return pipeline.Carry(msg, Poison{Reason: reason, Err: cause, FailedAt: time.Date(2026, 11, 26, 6, 22, 19, 0, time.UTC)}), a
}

func TestDLQ_PublishesOriginalBytesWithReasonHeadersThenAcks(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	dl, reg := deadLetters(t, brokers, "orders.dlq")

	type sent struct {
		dead Dead
		acks *acks
	}
	var all []sent
	add := func(d Dead, a *acks) { all = append(all, sent{d, a}) }
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
		s.acks.assert(t, 1, 0)
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

	testenv.Eventually(t, waitFor, "dlq reported unhealthy", func() bool { return !reg.Report().OK })
	if detail := reg.Report().Components[0].Detail; !strings.Contains(detail, "missing.dlq") {
		t.Fatalf("health detail %q does not name the topic", detail)
	}
	a.assert(t, 0, 0) // still being retried
	cancel()
	err := recv(t, (<-chan error)(done))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "dead-letter 1 records") {
		t.Fatalf("Run = %v; want the cancellation joined with the publish error", err)
	}
	// Never acked, so its offset is never committed; nacked, so nothing
	// after it in the partition is either.
	a.assert(t, 0, 1)
}

func TestDeadLetterRecord_TruncatesLongErrorsAtARuneBoundary(t *testing.T) {
	long := strings.Repeat("é", maxErrorHeader) // two bytes each
	d, _ := condemned(1, nil, "{}", dlq.ReasonInvalidOrder, errors.New(long))
	rec := DeadLetterRecord("orders.dlq", d)
	for _, h := range rec.Headers {
		if string(h.Key) != dlq.HeaderError {
			continue
		}
		if len(h.Value) > maxErrorHeader || !strings.HasSuffix(string(h.Value), "…") || !strings.HasPrefix(string(h.Value), "éé") {
			t.Fatalf("dlq-error is %d bytes ending %q", len(h.Value), h.Value[len(h.Value)-8:])
		}
		if s := string(h.Value); strings.ToValidUTF8(s, "?") != s {
			t.Fatal("dlq-error cut inside a character")
		}
		return
	}
	t.Fatal("no dlq-error header")
}
