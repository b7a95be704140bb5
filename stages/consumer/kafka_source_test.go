package consumer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/stages/internal/stagetest"
)

// sourceRun is a KafkaSource consuming topic in a goroutine.
type sourceRun struct {
	out    chan stages.Message
	health *health.Registry
	cancel context.CancelFunc
	done   chan error
	err    error
	group  sarama.ConsumerGroup
	once   sync.Once
}

// stop stops consuming and leaves the group, as orderd does at shutdown, and
// returns Run's error.
func (r *sourceRun) stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
		r.group.Close()
	})
	return r.err
}

func runSource(t *testing.T, brokers []string, group, topic string, inFlight int, tune ...func(*KafkaSource)) *sourceRun {
	t.Helper()
	reg := health.New()
	out := make(chan stages.Message, 1000)
	cg := stagetest.ConsumerGroup(t, brokers, group)
	m := stages.NewMetrics(prometheus.NewRegistry())
	retry := (&health.Retries{Health: reg.Component("kafka"), Log: zerolog.Nop(), Metrics: m}).Retry(health.Work{Cause: health.RetryKafka, What: "consuming"},
		pipeline.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}, IsClosed)
	src := &KafkaSource{
		Group:        cg,
		Topics:       []string{topic},
		Out:          out,
		InFlight:     pipeline.NewInFlight(inFlight, 1<<30),
		MaxAhead:     1 << 20,
		DrainTimeout: 200 * time.Millisecond,
		Metrics:      m,
		Log:          zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Retry:        retry,
	}
	for _, f := range tune {
		f(src)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &sourceRun{out: out, health: reg, cancel: cancel, done: make(chan error, 1), group: cg}
	go func() { r.done <- src.Run(ctx) }()
	t.Cleanup(func() { r.stop() })
	return r
}

// single-partition topic, so offsets are 0..n-1 in produce order.
func singlePartition(t *testing.T, topic string, n int) ([]string, *kfake.Cluster) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("m%d", i))})
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)
	return brokers, c
}

func TestKafkaSource_CommitsOnlyUpToTheFirstUnackedOffset(t *testing.T) {
	brokers, cluster := singlePartition(t, "orders", 10)
	// Every commit of the group reaches the broker here: one past offset
	// 5 while 5 is unfinished is sent on pastGap. (kfake's goroutine runs
	// this; it reports, the test fails.)
	var finished atomic.Bool // offset 5
	pastGap := make(chan int64, 1)
	cluster.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		for _, rt := range req.(*kmsg.OffsetCommitRequest).Topics {
			for _, rp := range rt.Partitions {
				if rp.Offset > 5 && !finished.Load() {
					select {
					case pastGap <- rp.Offset:
					default:
					}
				}
			}
		}
		return nil, nil, false
	})
	marks := NewMarks()
	run := runSource(t, brokers, "g1", "orders", 100, func(s *KafkaSource) { s.Marks = marks })

	msgs := make([]stages.Message, 10)
	for i := range msgs {
		msgs[i] = stagetest.Recv(t, (<-chan stages.Message)(run.out))
		if msgs[i].Src.Offset != int64(i) || string(msgs[i].Value) != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d: offset %d value %q", i, msgs[i].Src.Offset, msgs[i].Value)
		}
	}
	if !run.health.Report().OK {
		t.Fatal("kafka component unhealthy while consuming")
	}
	// Everything but offset 5, in reverse order.
	for i := 9; i >= 0; i-- {
		if i != 5 {
			msgs[i].Ack()
		}
	}
	// An ack marks at once, on the ack's goroutine: the last mark is 5
	// already.
	if got, ok := marks.Marked(0); !ok || got != 5 {
		t.Fatalf("marked %d (%v) with offset 5 unfinished, want 5", got, ok)
	}
	testenv.Eventually(t, stagetest.WaitFor, "offset 5 committed", func() bool {
		return len(pastGap) > 0 || testenv.CommittedOffsets(t, brokers, "g1", "orders")[0] == 5
	})
	// A commit that must not come has no event to wait for: none has come,
	// and none comes within four auto-commit intervals (50ms, see
	// consumerGroup).
	stagetest.Quiet(t, (<-chan int64)(pastGap), 200*time.Millisecond)
	finished.Store(true)
	msgs[5].Ack()
	if got, _ := marks.Marked(0); got != 10 {
		t.Fatalf("marked %d with every offset acked, want 10", got)
	}
	testenv.Eventually(t, stagetest.WaitFor, "offset 10 committed", func() bool { return testenv.CommittedOffsets(t, brokers, "g1", "orders")[0] == 10 })
}

func TestKafkaSource_StopsPullingWhenInFlightIsFull(t *testing.T) {
	brokers, _ := singlePartition(t, "orders", 20)
	run := runSource(t, brokers, "g2", "orders", 5)

	var msgs []stages.Message
	for range 5 {
		msgs = append(msgs, stagetest.Recv(t, (<-chan stages.Message)(run.out)))
	}
	stagetest.Quiet(t, (<-chan stages.Message)(run.out), 200*time.Millisecond) // five in flight: the consumer waits
	msgs[0].Ack()
	msgs[1].Ack()
	stagetest.Recv(t, (<-chan stages.Message)(run.out))
	stagetest.Recv(t, (<-chan stages.Message)(run.out))
	stagetest.Quiet(t, (<-chan stages.Message)(run.out), 200*time.Millisecond)
}

// A message that never finishes pauses its partition once MaxAhead
// messages are held behind it; the other partitions are consumed to the end.
func TestKafkaSource_AStuckMessagePausesOnlyItsPartition(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "orders"), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range 20 {
			recs = append(recs, &kgo.Record{Topic: "orders", Partition: p, Value: []byte(fmt.Sprintf("p%d-m%d", p, i))})
		}
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner())), recs...)

	run := runSource(t, brokers, "g5", "orders", 1000, func(s *KafkaSource) { s.MaxAhead = 5 })
	got := map[int32]int{}
	for got[0] < 5 || got[1] < 20 {
		m := stagetest.Recv(t, (<-chan stages.Message)(run.out))
		got[m.Src.Partition]++
		if m.Src.Partition == 0 && m.Src.Offset == 0 {
			continue // stuck: never acked
		}
		m.Ack()
	}
	if got[0] != 5 {
		t.Fatalf("consumed %d of partition 0, want 5: paused behind its stuck message", got[0])
	}
	// Partition 1 is consumed to its end; partition 0 gives nothing more.
	stagetest.Quiet(t, (<-chan stages.Message)(run.out), 200*time.Millisecond)
}

func TestKafkaSource_ReturnsPromptlyWhenStoppedWithWorkUnfinished(t *testing.T) {
	brokers, _ := singlePartition(t, "orders", 5)
	run := runSource(t, brokers, "g3", "orders", 1)

	m := stagetest.Recv(t, (<-chan stages.Message)(run.out)) // never acked; the source is blocked on the in-flight limit
	stopped := make(chan error, 1)
	go func() { stopped <- run.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(stagetest.WaitFor):
		t.Fatal("Run did not return after cancellation while ConsumeClaim was blocked")
	}
	stagetest.Closed(t, (<-chan stages.Message)(run.out))
	if got := testenv.CommittedOffsets(t, brokers, "g3", "orders")[0]; got > m.Src.Offset {
		t.Fatalf("committed %d past the unfinished offset %d", got, m.Src.Offset)
	}
}

func TestKafkaSource_ResumesFromTheCommittedOffset(t *testing.T) {
	brokers, _ := singlePartition(t, "orders", 6)
	first := runSource(t, brokers, "g4", "orders", 100)
	for i := range 6 {
		m := stagetest.Recv(t, (<-chan stages.Message)(first.out))
		if i < 3 {
			m.Ack()
		}
	}
	testenv.Eventually(t, stagetest.WaitFor, "offset 3 committed", func() bool { return testenv.CommittedOffsets(t, brokers, "g4", "orders")[0] == 3 })
	if err := first.stop(); err != nil {
		t.Fatalf("first member: %v", err)
	}

	// A new member of the group gets the unfinished messages again.
	second := runSource(t, brokers, "g4", "orders", 100)
	for want := int64(3); want < 6; want++ {
		if m := stagetest.Recv(t, (<-chan stages.Message)(second.out)); m.Src.Offset != want {
			t.Fatalf("redelivered offset %d, want %d", m.Src.Offset, want)
		}
	}
}
