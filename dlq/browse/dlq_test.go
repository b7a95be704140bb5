package browse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
)

// deadLetter builds a record the way orderd's dead-letter stage writes it,
// appended to the topic when it failed.
func deadLetter(key string, value string, reason dlq.Reason, failedAt time.Time, sourceOffset int) *kgo.Record {
	r := &kgo.Record{Topic: "orders.dlq", Timestamp: failedAt, Value: []byte(value), Headers: []kgo.RecordHeader{
		{Key: "trace", Value: []byte("t-" + key)},
		{Key: dlq.HeaderReason, Value: []byte(reason)},
		{Key: dlq.HeaderError, Value: []byte("payment.amount: must equal ...")},
		{Key: dlq.HeaderSourceTopic, Value: []byte("orders")},
		{Key: dlq.HeaderSourcePartition, Value: []byte("1")},
		{Key: dlq.HeaderSourceOffset, Value: []byte(fmt.Sprint(sourceOffset))},
		{Key: dlq.HeaderFailedAt, Value: []byte(failedAt.UTC().Format(time.RFC3339))},
	}}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

func saramaClient(t *testing.T, brokers []string) sarama.Client {
	t.Helper()
	c, err := sarama.NewClient(brokers, dlq.ClientConfig("dlq-test"))
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
		reason := dlq.ReasonInvalidOrder
		if i%3 == 0 {
			reason = dlq.ReasonConflict
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
		recs, err := list(ctx, r, filter)
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
	f(Filter{Limit: 3, Reason: dlq.ReasonConflict}, "k27", "k24", "k21")                     // by reason
	f(Filter{Limit: 100, Since: 4*time.Minute + 30*time.Second}, "k29", "k28", "k27", "k26") // by age
	f(Filter{Limit: 5, Reason: dlq.ReasonTooLarge})                                          // none of that reason
}

func TestReader_ParsesTheHeaders(t *testing.T) {
	_, r := fixture(t)
	recs, err := list(context.Background(), r, Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := recs[0]
	if rec.Reason != dlq.ReasonInvalidOrder || rec.SourceTopic != "orders" || rec.SourcePartition != 1 || rec.SourceOffset != 129 ||
		rec.Error == "" || rec.FailedAt.IsZero() || string(rec.Value) != `{"n":29}` || len(rec.Headers) != 7 {
		t.Fatalf("record %+v", rec)
	}

	got, err := r.Get(context.Background(), dlq.Ref{Partition: rec.Partition, Offset: rec.Offset})
	if err != nil || string(got.Key) != "k29" {
		t.Fatalf("Get(%s) = %+v, %v", rec.Ref(), got, err)
	}
}

func TestReader_GetUnknownRecord(t *testing.T) {
	_, r := fixture(t)
	for _, ref := range []dlq.Ref{{Partition: 0, Offset: 999}, {Partition: 7, Offset: 0}} {
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
	if _, err := list(context.Background(), r, Filter{Limit: 1}); !errors.Is(err, ErrUnknownTopic) {
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
	d := dlq.NewRedriver(r, producer, "orders")

	recs, err := list(context.Background(), r, Filter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	first, second := dlq.Ref{Partition: recs[0].Partition, Offset: recs[0].Offset}, dlq.Ref{Partition: recs[1].Partition, Offset: recs[1].Offset}

	if _, err := d.Redrive(context.Background(), []dlq.Ref{first, second}, []byte("x")); !errors.Is(err, dlq.ErrPayloadNeedsOneRecord) {
		t.Fatalf("a payload for two records: %v", err)
	}
	done, err := d.Redrive(context.Background(), []dlq.Ref{first}, []byte(`{"fixed":true}`))
	if err != nil || len(done) != 1 || done[0].From != first || done[0].Topic != "orders" {
		t.Fatalf("Redrive with payload = %+v, %v", done, err)
	}
	if done, err = d.Redrive(context.Background(), []dlq.Ref{second}, nil); err != nil || len(done) != 1 {
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
		if string(rec.Value) != want || h["trace"] == "" || h[dlq.HeaderReason] != "" || h[dlq.HeaderRedrivenFrom] == "" || len(h) != 2 {
			t.Errorf("redriven %s: value %s headers %v", rec.Key, rec.Value, h)
		}
	}
}

func TestParseRef(t *testing.T) {
	f := func(in string, want dlq.Ref, wantErr bool) {
		t.Helper()
		got, err := dlq.ParseRef(in)
		if (err != nil) != wantErr || got != want {
			t.Errorf("dlq.ParseRef(%q) = %v, %v", in, got, err)
		}
	}
	f("0:42", dlq.Ref{Partition: 0, Offset: 42}, false)
	f("12:0", dlq.Ref{Partition: 12, Offset: 0}, false)
	f("0-42", dlq.Ref{}, true) // wrong separator
	f(":42", dlq.Ref{}, true)  // no partition
	f("1:-3", dlq.Ref{}, true) // negative offset
	f("a:b", dlq.Ref{}, true)  // not numbers
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
	for i := range 3*256 + 10 {
		reason := dlq.ReasonInvalidJSON
		if i < 5 {
			reason = dlq.ReasonTooLarge
		}
		recs = append(recs, deadLetter(fmt.Sprint(i), "x", reason, now, i))
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)

	r := NewReader(saramaClient(t, brokers), "orders.dlq")
	got, err := list(context.Background(), r, Filter{Limit: 10, Reason: dlq.ReasonTooLarge})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0].Offset != 4 || got[4].Offset != 0 {
		t.Fatalf("found %d records, first at %d; want the 5 oldest, newest first", len(got), got[0].Offset)
	}
}

// A listing keeps only the start of a large payload; Get reads it whole,
// and a listed record is never sent as it is.
func TestReader_ListingKeepsAPreviewGetReadsWhole(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders", "orders.dlq")
	payload := `{"order_uid":"big","note":"` + strings.Repeat("é", 100_000) + `"}`
	testenv.Produce(t, testenv.KafkaClient(t, brokers), deadLetter("big", payload, dlq.ReasonTooLarge, time.Now(), 1))
	client := saramaClient(t, brokers)
	r := NewReader(client, "orders.dlq")

	recs, err := list(context.Background(), r, Filter{Limit: 1})
	if err != nil || len(recs) != 1 {
		t.Fatalf("List = %d records, %v", len(recs), err)
	}
	listed := recs[0]
	if !listed.Previewed() || len(listed.Value) > PreviewBytes || len(listed.Value) < PreviewBytes-1 ||
		listed.ValueBytes != len(payload) || !strings.HasPrefix(payload, string(listed.Value)) || !utf8.Valid(listed.Value) {
		t.Fatalf("listed %d of %d bytes (previewed %v): want the first %d, cut at a character", len(listed.Value), listed.ValueBytes, listed.Previewed(), PreviewBytes)
	}
	whole, err := r.Get(context.Background(), dlq.Ref{Partition: listed.Partition, Offset: listed.Offset})
	if err != nil || string(whole.Value) != payload || whole.Previewed() {
		t.Fatalf("Get: %d bytes, %v; want the whole %d", len(whole.Value), err, len(payload))
	}

	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	d := dlq.NewRedriver(r, producer, "orders")
	if _, err := d.Send(listed, nil); !errors.Is(err, dlq.ErrPreviewOnly) {
		t.Errorf("Send of a listed record: %v, want dlq.ErrPreviewOnly", err)
	}
	if _, err := r.readWhole(context.Background(), []dlq.Ref{{Partition: listed.Partition, Offset: listed.Offset}}, 1<<10); !errors.Is(err, dlq.ErrRedriveTooLarge) {
		t.Errorf("reading more than the bound: %v, want ErrRedriveTooLarge", err)
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Errorf("%d records sent", n)
	}
}

// A listing answers before its context's deadline even when the broker
// does not answer a fetch in time: partial, with its cursor unchanged.
func TestReader_AnswersBeforeTheDeadlineOfAHungBroker(t *testing.T) {
	brokers, cluster := testenv.Kafka(t, "orders.dlq")
	testenv.Produce(t, testenv.KafkaClient(t, brokers), deadLetter("k", "{}", dlq.ReasonConflict, time.Now(), 1))
	r := NewReader(saramaClient(t, brokers), "orders.dlq")
	first, err := r.ListPage(context.Background(), Filter{Limit: 1, Reason: dlq.ReasonInvalidJSON})
	if err != nil || first.Next != "" {
		t.Fatalf("listing an idle broker: %+v, %v", first, err)
	}

	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) }) // before the cluster closes: cleanups run last first
	cluster.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		cluster.SleepControl(func() { <-hung })
		return nil, nil, false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	page, err := r.ListPage(ctx, Filter{Limit: 1, Reason: dlq.ReasonInvalidJSON, Budget: time.Minute})
	took := time.Since(start)
	if err != nil || !page.Partial || page.Next == "" || len(page.Records) != 0 {
		t.Fatalf("with a hung fetch: %+v, %v; want a partial page with a cursor", page, err)
	}
	if took > 2*time.Second {
		t.Errorf("answered after %s, past the 2s deadline", took)
	}
	t.Logf("answered a hung broker in %s", took)
}

// list returns the records of one page.
func list(ctx context.Context, r *Reader, f Filter) ([]dlq.Record, error) {
	page, err := r.ListPage(ctx, f)
	return page.Records, err
}
