package stages

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/internal/stagetest"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/postgres"
)

// valid wraps o, with its canonical JSON, as the validate stage would.
func valid(offset int64, o *order.Order) (Valid, *stagetest.Acks) {
	msg, a := stagetest.Message(offset, []byte(o.OrderUID), nil)
	return pipeline.Carry(msg, storage.Record{Order: o, JSON: order.AppendJSON(nil, o)}), a
}

func openPostgres(t *testing.T, dbURL string) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The tests count what was stored through the list pool, whose queue
	// timeout (100ms by default) is for a service under many requests: on
	// a loaded test machine, opening the pool's first connection alone can
	// take longer.
	pools := postgres.DefaultPools
	pools.ListWait = 10 * time.Second
	pg, err := postgres.OpenWith(ctx, dbURL, pools)
	if err != nil {
		t.Fatalf("OpenPostgresWith: %v", err)
	}
	t.Cleanup(pg.Close)
	return pg
}

func newWriter(store storage.Store) (*Writer, *health.Registry) {
	reg := health.New()
	parts := reg.Aggregate("writer", "writers", 1)
	parts[0].OK()
	return &Writer{
		Store:   store,
		Health:  parts,
		Log:     zerolog.Nop(),
		Metrics: testMetrics(),
		Retry:   pipeline.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond},
	}, reg
}

// storeRetries is how many attempts of w's to save a batch failed.
func storeRetries(w *Writer) int {
	return int(testutil.ToFloat64(w.Metrics.retries.WithLabelValues(health.RetryStore)))
}

func TestWriter_StoresAndCondemnsPerOrder(t *testing.T) {
	pg := openPostgres(t, testenv.Postgres(t))
	model := orderfake.Model()
	if _, err := pg.SaveOrders(context.Background(), []storage.Record{{Order: &model, JSON: order.AppendJSON(nil, &model)}}); err != nil {
		t.Fatalf("store the model order: %v", err)
	}

	fresh := orderfake.New(7).Order()
	redelivered := orderfake.Model()
	conflicting := orderfake.Model()
	conflicting.Items = append(conflicting.Items, conflicting.Items[0]) // a different version of a stored order
	refused := orderfake.New(8).Order()
	refused.Delivery.City = "Kiryat\x00Mozkin" // PostgreSQL text cannot hold NUL; validation is bypassed here

	w, reg := newWriter(pg)
	in := make(chan []Valid, 1)
	out := make(chan Valid, 4)
	dead := make(chan Dead, 4)
	var batch []Valid
	var all []*stagetest.Acks
	for i, o := range []*order.Order{&fresh, &redelivered, &conflicting, &refused} {
		v, a := valid(int64(i), o)
		batch = append(batch, v)
		all = append(all, a)
	}
	in <- batch
	close(in)
	if err := w.Stage(0, dead, nil)(context.Background(), in, out); err != nil {
		t.Fatalf("write stage: %v", err)
	}

	if got := stagetest.Recv(t, (<-chan Valid)(out)); got.Src.Offset != 0 {
		t.Fatalf("first stored = offset %d, want the new order (0)", got.Src.Offset)
	}
	if got := stagetest.Recv(t, (<-chan Valid)(out)); got.Src.Offset != 1 {
		t.Fatalf("second stored = offset %d, want the identical redelivery (1)", got.Src.Offset)
	}
	stagetest.Quiet(t, (<-chan Valid)(out), 0)

	d := stagetest.Recv(t, (<-chan Dead)(dead))
	if d.Src.Offset != 2 || d.Value.Reason != dlq.ReasonConflict {
		t.Fatalf("dead letter at %d as %s, want offset 2 as conflict", d.Src.Offset, d.Value.Reason)
	}
	d = stagetest.Recv(t, (<-chan Dead)(dead))
	if d.Src.Offset != 3 || d.Value.Reason != dlq.ReasonInvalidOrder || !strings.Contains(d.Value.Err.Error(), "22021") {
		t.Fatalf("dead letter at %d as %s: %v; want offset 3 as invalid_order with SQLSTATE 22021", d.Src.Offset, d.Value.Reason, d.Value.Err)
	}
	for _, a := range all {
		a.Assert(t, 0, 0) // the cache and dead-letter stages ack, not the writer
	}
	if !reg.Report().OK {
		t.Fatal("writer unhealthy after a successful batch")
	}
}

func TestWriter_RetriesAnOutageAndNeverDeadLettersIt(t *testing.T) {
	dbURL := testenv.Postgres(t)
	viaProxy, proxy := testenv.BehindProxy(t, dbURL)
	pg := openPostgres(t, viaProxy)

	w, reg := newWriter(pg)
	in := make(chan []Valid, 1)
	out := make(chan Valid, 2)
	dead := make(chan Dead, 2)
	done := make(chan error, 1)
	go func() { done <- w.Stage(0, dead, nil)(context.Background(), in, out) }()

	proxy.Cut() // PostgreSQL goes away
	gen := orderfake.New(9)
	o1, o2 := gen.Order(), gen.Order()
	v1, _ := valid(0, &o1)
	v2, _ := valid(1, &o2)
	in <- []Valid{v1, v2}

	testenv.Eventually(t, stagetest.WaitFor, "writer reported unhealthy", func() bool { return !reg.Report().OK })
	if detail := reg.Report().Components[0].Detail; !strings.Contains(detail, "retrying") {
		t.Fatalf("health detail %q does not say the batch is being retried", detail)
	}
	// Several attempts failed, and none let anything through.
	testenv.Eventually(t, stagetest.WaitFor, "three attempts failed", func() bool { return storeRetries(w) >= 3 })
	stagetest.Quiet(t, (<-chan Valid)(out), 0) // nothing passes while the store is down
	stagetest.Quiet(t, (<-chan Dead)(dead), 0) // and nothing is dead-lettered for it

	proxy.Restore()
	stagetest.Recv(t, (<-chan Valid)(out))
	stagetest.Recv(t, (<-chan Valid)(out))
	if !reg.Report().OK {
		t.Fatal("writer still unhealthy after the batch was saved")
	}
	close(in)
	if err := stagetest.Recv(t, (<-chan error)(done)); err != nil {
		t.Fatalf("write stage: %v", err)
	}
}

func TestWriter_StopsRetryingWhenContextEnds(t *testing.T) {
	dbURL := testenv.Postgres(t)
	viaProxy, proxy := testenv.BehindProxy(t, dbURL)
	pg := openPostgres(t, viaProxy)
	proxy.Cut()

	w, _ := newWriter(pg)
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan []Valid, 1)
	o := orderfake.New(10).Order()
	v, a := valid(0, &o)
	in <- []Valid{v}
	done := make(chan error, 1)
	go func() { done <- w.Stage(0, make(chan Dead, 1), nil)(ctx, in, make(chan Valid, 1)) }()
	testenv.Eventually(t, stagetest.WaitFor, "the writer retrying", func() bool { return storeRetries(w) > 0 })
	cancel()
	if err := stagetest.Recv(t, (<-chan error)(done)); err == nil {
		t.Fatal("write stage returned nil after being cancelled mid-retry")
	}
	a.Assert(t, 0, 0) // unfinished: its offset stays uncommitted
}
