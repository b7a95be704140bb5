package stages

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/deadletter"
	"github.com/orderd/orderd/stages/internal/stagetest"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/reads"
)

// Every message that enters the pipeline is acked exactly once, whichever
// way it leaves: stored (new or duplicate) or dead-lettered.
func TestIngest_AcksEveryMessageExactlyOnce(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	pg := openPostgres(t, testenv.Postgres(t))
	cache, err := reads.NewCache(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	orders := reads.NewOrders(pg, cache, reads.OrdersOptions{})
	m := testMetrics()
	w, _ := newWriter(pg)
	w.Metrics = m
	dl := deadLetters(t, brokers, m)
	ingest := &Ingest{
		Workers: 2, MaxMessageBytes: 64 << 10, BatchSize: 50, BatchLinger: 5 * time.Millisecond, Writers: 2,
		Writer: w, Orders: orders, DeadLetters: dl, Metrics: m,
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
	var all []*stagetest.Acks
	for _, payload := range inputs {
		msg, a := stagetest.Message(offsets, nil, payload)
		msg.Src.Partition = int32(offsets % 2) // both decode chains at work
		offsets++
		all = append(all, a)
		src <- msg
	}
	endRun(t, src, done, all)

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

	// The counters agree with what happened.
	n := func(c prometheus.Collector) int { return int(testutil.ToFloat64(c)) }
	for name, got := range map[string][2]int{
		"decode received":     {n(m.Decode.In), len(inputs)},
		"cache acked":         {n(m.Cache.Out), len(inputs) - broken},
		"dead-letters sent":   {n(m.DeadLetters.Out), broken},
		"orders inserted":     {n(m.stored[storage.Inserted]), len(valid)},
		"conflicts":           {int(m.DeadLettered()[dlq.ReasonConflict]), 1},
		"write dead-lettered": {n(m.Write.Dead), 1},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %d, want %d", name, got[0], got[1])
		}
	}
}

// panicky panics on a marked message and decodes the rest.
type panicky struct {
	marker []byte
	order.Decoder
}

func (p *panicky) Decode(data []byte, o *order.Order) error {
	if bytes.Contains(data, p.marker) {
		var items []order.Item
		_ = items[len(data)] // a bug of the kind a hostile message finds: index out of range
	}
	return p.Decoder.Decode(data, o)
}

// panickyStore panics while saving any batch holding the order uid.
type panickyStore struct {
	storage.Store
	uid string
}

func (s *panickyStore) SaveOrders(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	for _, r := range recs {
		if r.Order.OrderUID == s.uid {
			panic("saving " + s.uid + " hit a bug")
		}
	}
	return s.Store.SaveOrders(ctx, recs)
}

// A message that makes decoding or saving panic is dead-lettered as
// internal_error with the panic's text; the messages around it are stored,
// and orderd goes on.
func TestIngest_APanicCondemnsOneMessageNotThePipeline(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	pg := openPostgres(t, testenv.Postgres(t))
	gen := orderfake.New(9)
	var valid []order.Order
	for range 60 {
		valid = append(valid, gen.Order())
	}
	savePanics := valid[17].OrderUID
	cache, err := reads.NewCache(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	m := testMetrics()
	w, _ := newWriter(&panickyStore{Store: pg, uid: savePanics})
	w.Metrics = m
	dl := deadLetters(t, brokers, m)
	marker := []byte("decode-panics-here")
	ingest := &Ingest{
		Workers: 2, MaxMessageBytes: 64 << 10, BatchSize: 25, BatchLinger: 5 * time.Millisecond, Writers: 2,
		NewDecoder: func() Decoder { return &panicky{marker: marker} },
		Writer:     w, Orders: reads.NewOrders(pg, cache, reads.OrdersOptions{}), DeadLetters: dl, Metrics: m,
	}

	src := make(chan Message)
	done := make(chan error, 1)
	go func() { done <- ingest.Run(context.Background(), src) }()
	var all []*stagetest.Acks
	send := func(payload []byte) {
		msg, a := stagetest.Message(int64(len(all)), nil, payload)
		all = append(all, a)
		src <- msg
	}
	for i := range valid {
		if i == 30 {
			send(append(order.AppendJSON(nil, &valid[i]), marker...)) // decoding it panics
			continue
		}
		send(order.AppendJSON(nil, &valid[i]))
	}
	endRun(t, src, done, all)
	stored, err := pg.CountOrders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stored != int64(len(valid)-2) {
		t.Fatalf("%d orders stored, want %d: all but the two that panicked", stored, len(valid)-2)
	}
	dead := testenv.ReadTopic(t, brokers, "orders.dlq")
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dead))
	}
	for _, r := range dead {
		if h := stagetest.RecordHeaders(r); h[dlq.HeaderReason] != string(dlq.ReasonInternalError) || !strings.HasPrefix(h[dlq.HeaderError], "panic: ") {
			t.Errorf("dead letter headers %v", h)
		}
	}
	if d, wr := testutil.ToFloat64(m.Decode.Panics), testutil.ToFloat64(m.Write.Panics); d != 1 || wr != 1 {
		t.Fatalf("orderd_panics_total: decode %v, write %v; want 1 each", d, wr)
	}
}

// Of two versions of one order consumed one after the other, the first is
// stored and the second is a conflict, however the workers and writers
// interleave: a partition's messages go through one decode and validate
// chain, and an order_uid through one writer.
func TestIngest_TheFirstVersionOfAnOrderIsTheOneStored(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	pg := openPostgres(t, testenv.Postgres(t))
	cache, err := reads.NewCache(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	m := testMetrics()
	w, _ := newWriter(pg)
	w.Health = health.New().Aggregate("writer", "writers", 3) // a part per writer
	w.Metrics = m
	dl := deadLetters(t, brokers, m)
	ingest := &Ingest{
		Workers: 3, MaxMessageBytes: 64 << 10, BatchSize: 4, BatchLinger: time.Millisecond, Writers: 3,
		Writer: w, Orders: reads.NewOrders(pg, cache, reads.OrdersOptions{}), DeadLetters: dl, Metrics: m,
	}
	src := make(chan Message)
	done := make(chan error, 1)
	go func() { done <- ingest.Run(context.Background(), src) }()

	gen := orderfake.New(3)
	first := map[string][]byte{}
	offsets := map[int32]int64{}
	var all []*stagetest.Acks
	send := func(partition int32, payload []byte) {
		msg, a := stagetest.Message(offsets[partition], nil, payload)
		msg.Src.Partition = partition
		offsets[partition]++
		all = append(all, a)
		src <- msg
	}
	const pairs = 300
	for k := range pairs {
		o := gen.Order()
		v1 := order.AppendJSON(nil, &o)
		o.Locale = "zz"
		v2 := order.AppendJSON(nil, &o)
		first[o.OrderUID] = v1
		p := int32(k % 3)
		send(p, v1)
		filler := gen.Order()
		send((p+1)%3, order.AppendJSON(nil, &filler)) // so that versions can straddle batches
		send(p, v2)
	}
	endRun(t, src, done, all)
	lost := 0
	for uid, v1 := range first {
		got, err := pg.OrderJSON(context.Background(), uid)
		if err != nil || !bytes.Equal(got, v1) {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("for %d of %d orders the later version was stored, not the first", lost, pairs)
	}
	if got := int(m.DeadLettered()[dlq.ReasonConflict]); got != pairs {
		t.Fatalf("%d conflicts dead-lettered, want %d", got, pairs)
	}
}

// hangs blocks decoding a message holding marker until release is closed:
// the kind of bug (an endless loop, a deadlock) that only a restart ends.
type hangs struct {
	marker  []byte
	release <-chan struct{}
	order.Decoder
}

func (h *hangs) Decode(data []byte, o *order.Order) error {
	if bytes.Contains(data, h.marker) {
		<-h.release
	}
	return h.Decoder.Decode(data, o)
}

// Loops names a worker busy with one message for too long, and only that
// one: the writers retrying a PostgreSQL outage and the stages waiting
// behind them are waiting, not stuck.
func TestIngest_AStuckWorkerIsNamedAndWaitingIsNot(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders.dlq")
	dl := deadLetters(t, brokers, testMetrics())
	dbURL := testenv.Postgres(t)
	viaProxy, proxy := testenv.BehindProxy(t, dbURL)
	pg := openPostgres(t, viaProxy)
	cache, err := reads.NewCache(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	w, _ := newWriter(pg)
	loops := new(health.Loops)
	marker, release := []byte("decoding-this-hangs"), make(chan struct{})
	ingest := &Ingest{
		Workers: 2, MaxMessageBytes: 64 << 10, BatchSize: 10, BatchLinger: 5 * time.Millisecond, Writers: 2,
		NewDecoder: func() Decoder { return &hangs{marker: marker, release: release, Decoder: *order.NewDecoder()} },
		Writer:     w, Orders: reads.NewOrders(pg, cache, reads.OrdersOptions{}), DeadLetters: dl, Metrics: testMetrics(),
		Loops: loops,
	}
	const limit = 300 * time.Millisecond
	stuck := func() []health.Stuck { return loops.Stuck(time.Now(), limit) }

	src := make(chan Message)
	done := make(chan error, 1)
	go func() { done <- ingest.Run(context.Background(), src) }()
	gen := orderfake.New(11)
	var all []*stagetest.Acks
	send := func(payload []byte) {
		msg, a := stagetest.Message(int64(len(all)), nil, payload)
		all = append(all, a)
		src <- msg
	}

	proxy.Cut() // PostgreSQL away: the writers retry
	for range 50 {
		o := gen.Order()
		send(order.AppendJSON(nil, &o))
	}
	// "Waiting is not stuck" means something only if the writers really
	// wait: they fail, and go on failing, for longer than the limit, and
	// no loop is named stuck at any look in between.
	testenv.Eventually(t, stagetest.WaitFor, "the writers failing to save", func() bool { return storeRetries(w) > 0 })
	start, before := time.Now(), storeRetries(w)
	var named []health.Stuck
	testenv.Eventually(t, stagetest.WaitFor, "the writers retrying for 3 stall limits", func() bool {
		if named = stuck(); len(named) != 0 {
			return true
		}
		return time.Since(start) > 3*limit && storeRetries(w) >= before+3
	})
	if len(named) != 0 {
		t.Fatalf("during an outage, stuck: %v; waiting out an outage is not being stuck", named)
	}
	for i, a := range all {
		if a.Acked.Load() != 0 {
			t.Fatalf("message %d acked while PostgreSQL was away: nothing waited", i)
		}
	}
	proxy.Restore()

	o := gen.Order()
	send(append(order.AppendJSON(nil, &o), marker...))
	testenv.Eventually(t, stagetest.WaitFor, "the hanging decoder named stuck", func() bool {
		s := stuck()
		return len(s) == 1 && strings.HasPrefix(s[0].Name, "decode/")
	})
	close(release)

	endRun(t, src, done, all)
	// With a limit of 0, every loop still busy at all.
	if s := loops.Stuck(time.Now(), 0); len(s) != 0 {
		t.Fatalf("with everything done, still busy: %v", s)
	}
}

// endRun closes src, waits for Run to return nil, and checks that every
// message was acked exactly once.
func endRun(t *testing.T, src chan Message, done <-chan error, all []*stagetest.Acks) {
	t.Helper()
	close(src)
	if err := stagetest.Recv(t, done); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, a := range all {
		a.Assert(t, 1, 0)
		if t.Failed() {
			t.Fatalf("message %d", i)
		}
	}
}

// deadLetters is the dead-letter stage of the ingest tests: it publishes to
// orders.dlq and counts on m.
func deadLetters(t *testing.T, brokers []string, m *Metrics) *deadletter.DeadLetters {
	t.Helper()
	comp := health.New().Component("dlq")
	comp.OK()
	backoff := pipeline.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond}
	return &deadletter.DeadLetters{
		Producer: stagetest.SyncProducer(t, brokers), Topic: "orders.dlq", MaxRecordBytes: 1 << 20, MaxBatch: 2,
		Health: comp, Log: zerolog.Nop(), Metrics: m.DeadLetters, Retry: backoff,
	}
}
