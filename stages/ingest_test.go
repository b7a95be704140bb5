package stages

import (
	"context"
	"testing"
	"time"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage"
)

// Every message that enters the pipeline is acked exactly once, whichever
// way it leaves: stored (new or duplicate) or dead-lettered.
func TestIngest_AcksEveryMessageExactlyOnce(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	pg := openPostgres(t, testenv.Postgres(t))
	cache, err := storage.NewCache(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	orders := storage.NewOrders(pg, cache, storage.OrdersOptions{})
	w, _ := newWriter(pg)
	dl, _ := deadLetters(t, brokers, "orders.dlq")
	ingest := &Ingest{
		Workers: 2, MaxMessageBytes: 64 << 10, BatchSize: 50, BatchLinger: 5 * time.Millisecond, Writers: 2,
		Writer: w, Orders: orders, DeadLetters: dl,
	}

	gen := orderfake.New(42)
	var (
		inputs  [][]byte
		valid   []order.Order
		broken  int
		offsets int64
	)
	for i := range 300 {
		switch {
		case i%10 == 3:
			payload, _ := gen.Broken()
			inputs = append(inputs, payload)
			broken++
		case i%10 == 7 && len(valid) > 0: // a redelivery
			inputs = append(inputs, order.AppendJSON(nil, &valid[len(valid)-1]))
		default:
			o := gen.Order()
			valid = append(valid, o)
			inputs = append(inputs, order.AppendJSON(nil, &o))
		}
	}
	conflicting := valid[0]
	conflicting.Locale = "xx" // a different version of a stored order: dead-lettered as conflict
	inputs = append(inputs, order.AppendJSON(nil, &conflicting))
	broken++

	src := make(chan Message)
	done := make(chan error, 1)
	go func() { done <- ingest.Run(context.Background(), src) }()
	var all []*acks
	for _, payload := range inputs {
		msg, a := message(offsets, nil, payload)
		offsets++
		all = append(all, a)
		src <- msg
	}
	close(src)
	if err := recv(t, (<-chan error)(done)); err != nil {
		t.Fatalf("Run: %v", err)
	}

	for i, a := range all {
		if a.acked.Load() != 1 || a.nacked.Load() != 0 {
			t.Fatalf("message %d acked %d, nacked %d times; want acked once", i, a.acked.Load(), a.nacked.Load())
		}
	}
	for _, o := range valid {
		got, err := orders.Get(context.Background(), o.OrderUID)
		if err != nil || string(got) != string(order.AppendJSON(nil, &o)) {
			t.Fatalf("order %s: %s, %v", o.OrderUID, got, err)
		}
	}
	if q := orders.Stats().Queries; q != 0 {
		t.Fatalf("%d read-through queries: stored orders should all be in the cache", q)
	}
	if recs := testenv.ReadTopic(t, brokers, "orders.dlq"); len(recs) != broken {
		t.Fatalf("%d dead letters, want %d", len(recs), broken)
	}
}
