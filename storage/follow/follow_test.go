package follow

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/postgres"
	"github.com/orderd/orderd/storage/reads"
)

// replica is one orderd's store, read path and Follower over a shared
// database.
type replica struct {
	pg      *postgres.Store
	cache   *reads.Cache
	orders  *reads.Orders
	metrics *Metrics
	live    chan struct{} // a session is listening and caught up
}

// startReplica opens the database at url as the orderd named origin and
// runs its Follower, session after session, until the test ends.
func startReplica(t *testing.T, url, origin string, opts Options) *replica {
	t.Helper()
	pg, err := postgres.OpenWith(storetest.Context(t), url, postgres.Pools{Writers: 1, Reads: 2, Lists: 1, Origin: origin})
	if err != nil {
		t.Fatalf("OpenPostgresWith: %v", err)
	}
	t.Cleanup(pg.Close)
	cache, err := reads.NewCache(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	r := &replica{
		pg:      pg,
		cache:   cache,
		orders:  reads.NewOrders(pg, cache, reads.OrdersOptions{NegativeTTL: time.Hour}),
		metrics: NewMetrics(prometheus.NewRegistry()),
		live:    make(chan struct{}, 100),
	}
	opts.Origin, opts.Metrics = origin, r.metrics
	f := New(pg.ConnConfig(), r.orders, opts)
	runSessions(t, f, origin, r.live)
	select {
	case <-f.Listening():
	case <-time.After(30 * time.Second):
		t.Fatalf("replica %s: not listening after 30s", origin)
	}
	select {
	case <-f.Tried():
	default:
		t.Fatalf("replica %s: listening, and Tried is not closed", origin)
	}
	<-r.live
	return r
}

// runSessions runs f session after session, as the daemon does, until the
// test ends. Each session that is live says so on live.
func runSessions(t *testing.T, f *Follower, origin string, live chan<- struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := f.Session(ctx, func() { live <- struct{}{} })
			if ctx.Err() == nil {
				t.Logf("replica %s: session ended: %v", origin, err)
				time.Sleep(50 * time.Millisecond) // the pause between sessions, not a wait for a condition
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// waitCached waits until every uid is in r's cache, and fails the test
// naming how many are not after 30s.
func waitCached(t *testing.T, r *replica, uids []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		missing := slices.DeleteFunc(slices.Clone(uids), func(uid string) bool { _, ok := r.cache.Get(uid); return ok })
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d orders not in the cache after 30s, %q first", len(missing), len(uids), missing[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("metric %v has no value", c.Desc())
	return 0
}

func TestFollower_CachesWhatAnotherReplicaCommits(t *testing.T) {
	url := testenv.Postgres(t)
	a := startReplica(t, url, "a", Options{})
	b := startReplica(t, url, "b", Options{})

	uids := storetest.SaveN(t, a.pg, "from-a", 300, 50)
	waitCached(t, b, uids)
	for _, uid := range uids {
		if _, err := b.orders.Get(storetest.Context(t), uid); err != nil {
			t.Fatalf("b: Get(%s): %v", uid, err)
		}
	}
	if q := b.orders.Stats().Queries; q != 0 {
		t.Errorf("b read %d orders through from PostgreSQL; want 0, all of them filled from a's commits", q)
	}
	if got := value(t, b.metrics.Filled); got != 300 {
		t.Errorf("b filled %v orders; want 300", got)
	}
	if got := value(t, b.metrics.Lag); got != 6 {
		t.Errorf("b observed the lag of %v commits; want 6, one per batch", got)
	}
	// a's own six batches are announced to a too, and cost it nothing.
	testenv.Eventually(t, 10*time.Second, "a hears its own 6 announcements", func() bool { return value(t, a.metrics.Notifications) >= 6 })
	if got := value(t, a.metrics.Filled); got != 0 {
		t.Errorf("a filled %v orders from its own commits; want 0", got)
	}
}

func TestFollower_ACommitEndsANotFoundAtOnce(t *testing.T) {
	url := testenv.Postgres(t)
	a := startReplica(t, url, "a", Options{})
	b := startReplica(t, url, "b", Options{})
	ctx := storetest.Context(t)

	if _, err := b.orders.Get(ctx, "early-0"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("b: Get before the order exists: %v; want ErrNotFound", err)
	}
	storetest.SaveN(t, a.pg, "early", 1, 1)
	// The negative TTL is an hour: only the announcement can end it.
	testenv.Eventually(t, 10*time.Second, "b serves the order", func() bool {
		_, err := b.orders.Get(ctx, "early-0")
		return err == nil
	})
	if q := b.orders.Stats().Queries; q != 1 {
		t.Errorf("b queried PostgreSQL %d times; want 1, for the first not found", q)
	}
}

// A batch still open when the listener's connection drops took lower
// sequence numbers than batches that committed before it: the catch-up must
// not start after the highest number it saw.
func TestFollower_CatchesUpAfterItsConnectionIsCut(t *testing.T) {
	url := testenv.Postgres(t)
	viaProxy, proxy := testenv.BehindProxy(t, url)
	a := startReplica(t, url, "a", Options{})
	b := startReplica(t, viaProxy, "b", Options{Window: time.Minute})
	ctx := storetest.Context(t)

	late, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close(context.Background())
	tx, err := late.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lateDoc := string(storetest.Rec(t, storetest.OrderWith(t, "late", nil)).JSON)
	if _, err := tx.Exec(ctx, `INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id,
		delivery_service, shardkey, sm_id, date_created, oof_shard, doc) VALUES ('late', '', '', '', '', '', '', '', 0, now(), '', $1)`, lateDoc); err != nil {
		t.Fatal(err)
	}
	before := storetest.SaveN(t, a.pg, "before", 10, 10)
	waitCached(t, b, before)

	proxy.Cut()
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, 'other 1 1 1 0')`, storage.CommitsChannel); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	during := storetest.SaveN(t, a.pg, "during", 2500, 500) // more than a catch-up page
	time.Sleep(200 * time.Millisecond)
	proxy.Restore()

	waitCached(t, b, append(during, "late"))
	if got := value(t, b.metrics.Catchups); got != 1 {
		t.Errorf("b caught up %v times; want 1", got)
	}
	if got := value(t, b.metrics.CaughtUp); got < 2501 {
		t.Errorf("b's catch-up read %v orders; want at least 2,501", got)
	}
	if q := b.orders.Stats().Queries; q != 0 {
		t.Errorf("b read %d orders through; want 0", q)
	}
}

// The Follower's own connection refused at first (max_connections, say):
// Tried closes all the same, so the warm-up can go on, and the first
// session that listens catches up with what was committed meanwhile.
func TestFollower_CatchesUpWhenItsFirstSessionsFail(t *testing.T) {
	url := testenv.Postgres(t)
	viaProxy, proxy := testenv.BehindProxy(t, url)
	a := startReplica(t, url, "a", Options{})
	pg, err := postgres.OpenWith(storetest.Context(t), viaProxy, postgres.Pools{Writers: 1, Reads: 2, Lists: 1, Origin: "b"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	cache, err := reads.NewCache(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	b := &replica{pg: pg, cache: cache, orders: reads.NewOrders(pg, cache, reads.OrdersOptions{NegativeTTL: time.Hour}),
		metrics: NewMetrics(prometheus.NewRegistry()), live: make(chan struct{}, 100)}

	before := storetest.SaveN(t, a.pg, "before", 10, 10) // the warm-up's: not the Follower's to catch up
	proxy.Cut()
	f := New(pg.ConnConfig(), b.orders, Options{Origin: "b", Metrics: b.metrics, Window: time.Minute})
	runSessions(t, f, "b", b.live)
	select {
	case <-f.Tried():
	case <-time.After(30 * time.Second):
		t.Fatal("Tried not closed 30s after the first session began")
	}
	select {
	case <-f.Listening():
		t.Fatal("listening through a cut connection")
	default:
	}

	during := storetest.SaveN(t, a.pg, "during", 1500, 500) // more than a catch-up page
	proxy.Restore()
	select {
	case <-f.Listening():
	case <-time.After(30 * time.Second):
		t.Fatal("not listening 30s after the connection was restored")
	}
	waitCached(t, b, during)
	if got := value(t, b.metrics.Catchups); got != 1 {
		t.Errorf("b caught up %v times; want 1", got)
	}
	// The catch-up went back Window before the Follower was made, no
	// further: the orders stored just before it are in that window.
	if got := value(t, b.metrics.CaughtUp); got != float64(len(before)+len(during)) {
		t.Errorf("b's catch-up read %v orders; want %d", got, len(before)+len(during))
	}
	if q := b.orders.Stats().Queries; q != 0 {
		t.Errorf("b read %d orders through; want 0", q)
	}
}

// A server that vanishes without closing the socket sends no error: the
// heartbeat notices, and the next session catches up.
func TestFollower_ASilentConnectionIsNoticedAndReplaced(t *testing.T) {
	url := testenv.Postgres(t)
	viaProxy, proxy := testenv.BehindProxy(t, url)
	a := startReplica(t, url, "a", Options{})
	b := startReplica(t, viaProxy, "b", Options{Heartbeat: 200 * time.Millisecond, Window: time.Minute})

	proxy.Blackhole()
	uids := storetest.SaveN(t, a.pg, "silent", 100, 20)
	waitCached(t, b, uids)
	if got := value(t, b.metrics.Catchups); got < 1 {
		t.Errorf("b caught up %v times; want at least 1", got)
	}
}

func TestParseCommit(t *testing.T) {
	c, err := storage.ParseCommit("a1b2 4294967295 10 20 1767225600000000")
	if err != nil {
		t.Fatal(err)
	}
	if want := (storage.Commit{Origin: "a1b2", Xact: 4294967295, From: 10, To: 20, At: time.UnixMicro(1767225600000000)}); c != want {
		t.Errorf("parseCommit = %+v; want %+v", c, want)
	}
	for _, bad := range []string{"", "a 7 1 2", "a 7 1 2 3 4", "a 7 x 2 3", "a 7 3 2 1", "a 7 1 2 noon", "a 4294967296 1 2 3", "a -1 1 2 3"} {
		if _, err := storage.ParseCommit(bad); err == nil {
			t.Errorf("parseCommit(%q) accepted it", bad)
		}
	}
}

// Under the simple protocol (a URL's default_query_exec_mode, which some
// poolers need) PostgreSQL sends sequence numbers as text.
func TestFollower_WorksUnderTheSimpleProtocol(t *testing.T) {
	url := testenv.Postgres(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	simple := url + sep + "default_query_exec_mode=simple_protocol"
	a := startReplica(t, simple, "a", Options{})
	b := startReplica(t, simple, "b", Options{})
	uids := storetest.SaveN(t, a.pg, "simple", 20, 10)
	waitCached(t, b, uids)
}
