package dlq

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
)

// deadLetter builds a record the way orderd's dead-letter stage writes it.
func deadLetter(key string, value string, reason Reason, failedAt time.Time, sourceOffset int) *kgo.Record {
	r := &kgo.Record{Topic: "orders.dlq", Value: []byte(value), Headers: []kgo.RecordHeader{
		{Key: "trace", Value: []byte("t-" + key)},
		{Key: HeaderReason, Value: []byte(reason)},
		{Key: HeaderError, Value: []byte("payment.amount: must equal ...")},
		{Key: HeaderSourceTopic, Value: []byte("orders")},
		{Key: HeaderSourcePartition, Value: []byte("1")},
		{Key: HeaderSourceOffset, Value: []byte(fmt.Sprint(sourceOffset))},
		{Key: HeaderFailedAt, Value: []byte(failedAt.UTC().Format(time.RFC3339))},
	}}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

func saramaClient(t *testing.T, brokers []string) sarama.Client {
	t.Helper()
	c, err := sarama.NewClient(brokers, ClientConfig("dlq-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fixture: 30 dead letters over the last 30 minutes, one a minute, every
// third one a conflict, spread over three partitions.
func fixture(t *testing.T) ([]string, *Reader) {
	t.Helper()
	brokers, _ := testenv.Kafka(t, "orders", "orders.dlq")
	now := time.Now()
	var recs []*kgo.Record
	for i := range 30 {
		reason := ReasonInvalidOrder
		if i%3 == 0 {
			reason = ReasonConflict
		}
		recs = append(recs, deadLetter(fmt.Sprintf("k%02d", i), fmt.Sprintf(`{"n":%d}`, i), reason,
			now.Add(-time.Duration(30-i)*time.Minute), 100+i))
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)
	return brokers, NewReader(saramaClient(t, brokers), "orders.dlq")
}

func TestReader_ListsNewestFirstWithFilters(t *testing.T) {
	_, r := fixture(t)
	ctx := context.Background()
	f := func(filter Filter, wantKeys ...string) {
		t.Helper()
		recs, err := r.List(ctx, filter)
		if err != nil {
			t.Fatalf("List(%+v): %v", filter, err)
		}
		var got []string
		for _, rec := range recs {
			got = append(got, string(rec.Key))
		}
		if fmt.Sprint(got) != fmt.Sprint(wantKeys) {
			t.Errorf("List(%+v) = %v, want %v", filter, got, wantKeys)
		}
	}
	f(Filter{Limit: 3}, "k29", "k28", "k27")                                                 // newest first, across partitions
	f(Filter{Limit: 3, Reason: ReasonConflict}, "k27", "k24", "k21")                         // by reason
	f(Filter{Limit: 100, Since: 4*time.Minute + 30*time.Second}, "k29", "k28", "k27", "k26") // by age
	f(Filter{Limit: 5, Reason: ReasonTooLarge})                                              // none of that reason
}

func TestReader_ParsesTheHeaders(t *testing.T) {
	_, r := fixture(t)
	recs, err := r.List(context.Background(), Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[0]
	if rec.Reason != ReasonInvalidOrder || rec.SourceTopic != "orders" || rec.SourcePartition != 1 || rec.SourceOffset != 129 ||
		rec.Error == "" || rec.FailedAt.IsZero() || string(rec.Value) != `{"n":29}` || len(rec.Headers) != 7 {
		t.Fatalf("record %+v", rec)
	}

	got, err := r.Get(context.Background(), Ref{rec.Partition, rec.Offset})
	if err != nil || string(got.Key) != "k29" {
		t.Fatalf("Get(%s) = %+v, %v", rec.Ref(), got, err)
	}
}

func TestReader_GetUnknownRecord(t *testing.T) {
	_, r := fixture(t)
	for _, ref := range []Ref{{0, 999}, {7, 0}} {
		if _, err := r.Get(context.Background(), ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) = %v, want ErrNotFound", ref, err)
		}
	}
	if n, err := r.Size(context.Background()); err != nil || n != 30 {
		t.Fatalf("Size = %d, %v; want 30", n, err)
	}
}

func TestReader_UnknownTopic(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders")
	r := NewReader(saramaClient(t, brokers), "no.such.topic")
	if _, err := r.List(context.Background(), Filter{Limit: 1}); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("List = %v, want ErrUnknownTopic", err)
	}
}

func TestRedriver_PublishesToTheOrdersTopicWithProvenance(t *testing.T) {
	brokers, r := fixture(t)
	producer, err := sarama.NewSyncProducerFromClient(saramaClient(t, brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	d := NewRedriver(r, producer, "orders")

	recs, err := r.List(context.Background(), Filter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	first, second := Ref{recs[0].Partition, recs[0].Offset}, Ref{recs[1].Partition, recs[1].Offset}

	if _, err := d.Redrive(context.Background(), []Ref{first, second}, []byte("x")); !errors.Is(err, ErrPayloadNeedsOneRecord) {
		t.Fatalf("a payload for two records: %v", err)
	}
	done, err := d.Redrive(context.Background(), []Ref{first}, []byte(`{"fixed":true}`))
	if err != nil || len(done) != 1 || done[0].From != first || done[0].Topic != "orders" {
		t.Fatalf("Redrive with payload = %+v, %v", done, err)
	}
	if done, err = d.Redrive(context.Background(), []Ref{second}, nil); err != nil || len(done) != 1 {
		t.Fatalf("Redrive = %+v, %v", done, err)
	}

	out := testenv.ReadTopic(t, brokers, "orders")
	if len(out) != 2 {
		t.Fatalf("%d records on orders, want 2", len(out))
	}
	for _, rec := range out {
		h := map[string]string{}
		for _, kv := range rec.Headers {
			h[kv.Key] = string(kv.Value)
		}
		want := map[string]string{"k29": `{"fixed":true}`, "k28": `{"n":28}`}[string(rec.Key)]
		if string(rec.Value) != want || h["trace"] == "" || h[HeaderReason] != "" || h[HeaderRedrivenFrom] == "" || len(h) != 2 {
			t.Errorf("redriven %s: value %s headers %v", rec.Key, rec.Value, h)
		}
	}
}

func TestParseRef(t *testing.T) {
	f := func(in string, want Ref, wantErr bool) {
		t.Helper()
		got, err := ParseRef(in)
		if (err != nil) != wantErr || got != want {
			t.Errorf("ParseRef(%q) = %v, %v", in, got, err)
		}
	}
	f("0:42", Ref{0, 42}, false)
	f("12:0", Ref{12, 0}, false)
	f("0-42", Ref{}, true) // wrong separator
	f(":42", Ref{}, true)  // no partition
	f("1:-3", Ref{}, true) // negative offset
	f("a:b", Ref{}, true)  // not numbers
}

// A match far from the end is found by walking back chunk by chunk.
func TestReader_WalksBackPastManyRecords(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	now := time.Now()
	var recs []*kgo.Record
	for i := range 3*scanChunk + 10 {
		reason := ReasonInvalidJSON
		if i < 5 {
			reason = ReasonTooLarge
		}
		recs = append(recs, deadLetter(fmt.Sprint(i), "x", reason, now, i))
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)

	r := NewReader(saramaClient(t, brokers), "orders.dlq")
	got, err := r.List(context.Background(), Filter{Limit: 10, Reason: ReasonTooLarge})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].Offset != 4 || got[4].Offset != 0 {
		t.Fatalf("found %d records, first at %d; want the 5 oldest, newest first", len(got), got[0].Offset)
	}
}
