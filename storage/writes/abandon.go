package writes

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// backend names a server process for as long as it lives: its PID alone
// may be reused by a later session once it has ended.
type backend struct {
	pid   uint32
	start time.Time // pg_stat_activity.backend_start
}

// backendStartKey is where RememberBackend keeps a write connection's
// backend_start, in its pgconn's CustomData.
const backendStartKey = "orderd.backend_start"

// RememberBackend reads the backend_start of a new write connection and
// keeps it with the connection, for endAbandoned: one round trip per
// connection, when the pool dials it, and none per attempt (write
// connections live for pool_max_conn_lifetime, an hour by default).
func RememberBackend(ctx context.Context, conn *pgx.Conn) error {
	var start time.Time
	if err := conn.QueryRow(ctx, `SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&start); err != nil {
		return fmt.Errorf("read the session's backend_start: %w", err)
	}
	conn.PgConn().CustomData()[backendStartKey] = start
	return nil
}

// backendOf returns the server process of a write connection, and false if
// its backend_start is unknown (a connection not dialled by the write pool).
func backendOf(conn *pgconn.PgConn) (backend, bool) {
	start, ok := conn.CustomData()[backendStartKey].(time.Time)
	return backend{pid: conn.PID(), start: start}, ok
}

// The tries at ending abandoned transactions back off from endRetryMin to
// endRetryMax while none gets through. A try that gets no answer waits out
// its own timeout first; one that finds PostgreSQL refusing connections
// fails at once, and the backoff is what spaces them.
const (
	endRetryMin = 100 * time.Millisecond
	endRetryMax = time.Second
)

// abandonment is what a Writer keeps to end the server processes of the
// transactions WRITE_TIMEOUT abandoned (see endAbandoned).
type abandonment struct {
	mu      sync.Mutex
	pending []backend // abandoned and not ended yet
	running bool      // the goroutine that ends them (endLoop) runs
	closed  bool
	wake    chan struct{} // one slot: pending has more
	closing chan struct{} // closed by Close
	done    sync.WaitGroup
}

func newAbandonment() abandonment {
	return abandonment{wake: make(chan struct{}, 1), closing: make(chan struct{})}
}

// endAbandonedLater has b ended by a goroutine of the Writer's own, which
// tries until a try gets through and which Close waits for. Once Close has
// begun it does nothing: orderd is stopping.
func (w *Writer) endAbandonedLater(b backend) {
	a := &w.abandoned
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.pending = append(a.pending, b)
	if !a.running {
		a.running = true
		a.done.Add(1)
		// Not any one attempt's context: the loop outlives them all.
		go w.endLoop(context.Background())
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// endLoop ends the pending processes, and tries again, backing off, until
// a try gets through: the outage that made a write time out may still be
// on when it is abandoned, while its session lives on and holds the row
// locks the batch's retry waits for. Nothing else ends that session before
// TCP gives up. Close ends the loop after one last try.
func (w *Writer) endLoop(ctx context.Context) {
	a := &w.abandoned
	defer a.done.Done()
	for {
		select {
		case <-a.wake:
		case <-a.closing:
			_ = w.endPending(ctx)
			return
		}
		for wait := endRetryMin; w.endPending(ctx) != nil; wait = min(2*wait, endRetryMax) {
			select {
			case <-time.After(wait):
			case <-a.closing:
				return
			}
		}
	}
}

// endPending runs one try at ending every pending process, and forgets
// them once it got through.
func (w *Writer) endPending(ctx context.Context) error {
	a := &w.abandoned
	a.mu.Lock()
	pending := a.pending[:len(a.pending):len(a.pending)]
	a.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	if err := w.endAbandoned(ctx, pending...); err != nil {
		return err
	}
	a.mu.Lock()
	a.pending = slices.Clone(a.pending[len(pending):]) // those abandoned meanwhile stay
	a.mu.Unlock()
	return nil
}

// endAbandoned ends the server processes of write transactions that
// WRITE_TIMEOUT abandoned, and with them the row locks the retry of their
// batch would wait for. It is one try, bounded by WRITE_TIMEOUT (or
// rollbackTimeout, if that is shorter or unset); nil means it got through,
// whether a process was still there to end or not.
//
// It dials a connection of its own, with the write pool's settings, rather
// than take one from the pool: after an outage the pool's slots are held by
// the dead connections it is still closing, and its idle ones may be dead
// too, so a try on the pool waits out its timeout behind the very
// connections whose sessions it is there to end (seconds each, measured).
//
// idle_in_transaction_session_timeout ends such a transaction only once the
// server waits for the next command. A connection lost in the middle of a
// pipelined batch, with a statement's messages received but not the Sync
// that ends them, leaves the server waiting for the rest, in no state any
// timeout covers, until TCP gives up: two hours with the default
// keepalives, and never while something still acknowledges the packets (a
// proxy, a half-open NAT). Only sessions of orderd's own role can be ended,
// which is all it asks.
//
// A process is named by its PID and its backend_start together: by the
// time this runs the abandoned session may have ended on its own, and its
// PID been given to another session, a healthy writer of this orderd's
// say, which must not lose its transaction.
func (w *Writer) endAbandoned(ctx context.Context, bs ...backend) error {
	pids := make([]int64, len(bs))
	starts := make([]time.Time, len(bs))
	for i, b := range bs {
		pids[i], starts[i] = int64(b.pid), b.start
	}
	timeout := rollbackTimeout
	if w.timeout > 0 {
		timeout = min(timeout, w.timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, w.pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SELECT pg_terminate_backend(a.pid)
		FROM pg_stat_activity a JOIN unnest($1::int8[], $2::timestamptz[]) AS t(pid, start)
		  ON a.pid = t.pid AND a.backend_start = t.start
		WHERE a.usename = current_user AND a.xact_start IS NOT NULL`, pids, starts)
	return err
}
