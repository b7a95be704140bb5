package writes

import (
	"context"
	"fmt"
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

// endAbandonedLater runs endAbandoned in a goroutine of its own, which
// Close waits for. Once Close has begun it does nothing: the pools are
// going, and with them the means to end anything.
func (w *Writer) endAbandonedLater(parent context.Context, b backend) {
	w.endingMu.Lock()
	defer w.endingMu.Unlock()
	if w.closed {
		return
	}
	w.ending.Add(1)
	go func() {
		defer w.ending.Done()
		w.endAbandoned(parent, b)
	}()
}

// endAbandoned ends the server process of a write transaction that
// WRITE_TIMEOUT abandoned, and with it the row locks the retry of its batch
// would wait for.
//
// idle_in_transaction_session_timeout ends such a transaction only once the
// server waits for the next command. A connection lost in the middle of a
// pipelined batch, with a statement's messages received but not the Sync
// that ends them, leaves the server waiting for the rest, in no state any
// timeout covers, until TCP gives up: two hours with the default keepalives, and
// never while something still acknowledges the packets (a proxy, a
// half-open NAT). It is best effort: with PostgreSQL gone there is nothing
// to end, and a failure here changes nothing the retry depends on. Only
// sessions of orderd's own role can be ended, which is all it asks.
//
// The process is named by its PID and its backend_start together: by the
// time this runs the abandoned session may have ended on its own, and its
// PID been given to another session, a healthy writer of this orderd's
// say, which must not lose its transaction.
func (w *Writer) endAbandoned(parent context.Context, b backend) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), rollbackTimeout)
	defer cancel()
	_, _ = w.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE pid = $1 AND backend_start = $2 AND usename = current_user AND xact_start IS NOT NULL`, int64(b.pid), b.start)
}
