package writes

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// openSession opens a session of the test's own (orderd's role) in a
// transaction, and returns it with its PID and backend_start.
func openSession(t *testing.T, url string) (pgx.Tx, backend) {
	t.Helper()
	ctx := storetest.Context(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b backend
	var pid int64
	if err := tx.QueryRow(ctx, `SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&pid, &b.start); err != nil {
		t.Fatal(err)
	}
	b.pid = uint32(pid)
	return tx, b
}

// alive reports whether the server process b still runs.
func alive(t *testing.T, pool *pgxpool.Pool, b backend) bool {
	t.Helper()
	return storetest.Count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, int64(b.pid)) == 1
}

// openWriter opens a Writer on a database of its own (see writerOn), and
// returns it with its pool and the database's URL.
func openWriter(t *testing.T) (*Writer, *pgxpool.Pool, string) {
	t.Helper()
	url := testenv.Postgres(t)
	w, pool := writerOn(t, url, 0)
	return w, pool, url
}

// writerOn opens a Writer with WRITE_TIMEOUT timeout on url, on a write
// pool that runs RememberBackend as the store's does. The Writer and the
// pool close when the test ends.
func writerOn(t *testing.T, url string, timeout time.Duration) (*Writer, *pgxpool.Pool) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AfterConnect = RememberBackend
	pool, err := pgxpool.NewWithConfig(storetest.Context(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := New(pool, timeout, "")
	t.Cleanup(func() { w.Close(); pool.Close() })
	return w, pool
}

// A PID names a server process only until it ends: a later session may get
// it. endAbandoned ends a process only if its backend_start matches too.
func TestWriter_EndAbandonedEndsOnlyTheSessionItNames(t *testing.T) {
	w, pool, url := openWriter(t)
	ctx := storetest.Context(t)
	tx, victim := openSession(t, url)

	// Same PID, another session: one that started a moment later.
	if err := w.endAbandoned(ctx, backend{pid: victim.pid, start: victim.start.Add(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatalf("a termination naming another backend_start ended the session: %v", err)
	}
	if !alive(t, pool, victim) {
		t.Fatal("a termination naming another backend_start ended the session")
	}

	if err := w.endAbandoned(ctx, victim); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "the session named by its PID and backend_start ends", func() bool { return !alive(t, pool, victim) })
	if _, err := tx.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("the terminated session still answers")
	}
}

// The write pool knows each connection's backend_start without asking per
// attempt.
func TestWriter_WriteConnectionsKnowTheirBackendStart(t *testing.T) {
	_, pool, _ := openWriter(t)
	ctx := storetest.Context(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	b, ok := backendOf(conn.Conn().PgConn())
	if !ok {
		t.Fatal("a write connection's backend_start is not known")
	}
	var want time.Time
	if err := conn.QueryRow(ctx, `SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if !b.start.Equal(want) || b.pid != conn.Conn().PgConn().PID() {
		t.Errorf("backendOf = %d %v; want %d %v", b.pid, b.start, conn.Conn().PgConn().PID(), want)
	}
}

// Close does not return before the terminations started are done: the
// session named is ended, although Close was called the moment after.
func TestWriter_CloseWaitsForTerminationsInFlight(t *testing.T) {
	w, admin, url := openWriter(t)
	_, victim := openSession(t, url)

	w.endAbandonedLater(victim)
	w.Close()
	// A signalled process leaves pg_stat_activity a moment later; one
	// that was not signalled stays for as long as the test runs.
	testenv.Eventually(t, 5*time.Second, "the session is ended", func() bool { return !alive(t, admin, victim) })

	// Once closed, it gives up at once: orderd is stopping.
	_, other := openSession(t, url)
	w.endAbandonedLater(other)
	if !alive(t, admin, other) {
		t.Error("a termination after Close ended a session")
	}
}

// PostgreSQL vanished from the write pool's connections, idle ones too,
// and refuses new ones for a while: the first tries to end an abandoned
// session cannot get through. The session still holds the row locks the
// batch's retry waits for, and nothing else ends it, so the writer tries
// again until one gets through.
func TestWriter_EndAbandonedTriesAgainUntilItGetsThrough(t *testing.T) {
	url := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, url)
	w, pool := writerOn(t, proxiedURL, 500*time.Millisecond) // each try is bounded by WRITE_TIMEOUT
	ctx := storetest.Context(t)
	admin, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)

	// As after the outage that abandoned a write: every connection the
	// pool may hand out is open and idle, then silenced, so a try on the
	// pool would wait behind them; new connections are refused (the
	// startup message names the user).
	held := make([]*pgxpool.Conn, pool.Config().MaxConns)
	for i := range held {
		if held[i], err = pool.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range held {
		c.Release()
	}
	_, victim := openSession(t, url)
	proxy.Blackhole()
	proxy.RefuseFirst([]byte("user"))

	w.endAbandonedLater(victim)
	time.Sleep(2 * time.Second) // tries that cannot get through, a few of them
	if !alive(t, admin, victim) {
		t.Fatal("the session ended while PostgreSQL could not be reached: the test proves nothing")
	}
	proxy.Restore()
	restored := time.Now()
	testenv.Eventually(t, 15*time.Second, "the abandoned session is ended once a try gets through", func() bool { return !alive(t, admin, victim) })
	t.Logf("ended %s after PostgreSQL's return", time.Since(restored).Round(time.Millisecond))
}
