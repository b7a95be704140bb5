package writes

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Writer saves batches of orders (SaveOrders) on the pool it is given, the
// writers' and nothing else's. It is safe for concurrent use.
type Writer struct {
	pool *pgxpool.Pool
	// timeout bounds each transaction SaveOrders runs (0: unbounded).
	timeout time.Duration
	// origin names this orderd in its commit notifications; empty, it
	// sends none.
	origin string

	// abandoned: the transactions WRITE_TIMEOUT abandoned, to be ended
	// on the server (see endAbandoned).
	abandoned abandonment
}

// New returns a Writer on pool, whose connections must run RememberBackend
// after connecting. timeout is WRITE_TIMEOUT, bounding each transaction
// (0: unbounded); origin, if set, names this orderd in the announcement of
// each committed batch on storage.CommitsChannel.
func New(pool *pgxpool.Pool, timeout time.Duration, origin string) *Writer {
	return &Writer{pool: pool, timeout: timeout, origin: origin, abandoned: newAbandonment()}
}

// Close makes one last try at ending the abandoned transactions still
// pending, waits for it (bounded as each try is, see endAbandoned), and
// makes later ones give up. The pool is its owner's to close, afterwards.
func (w *Writer) Close() {
	a := &w.abandoned
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.closing)
	}
	a.mu.Unlock()
	a.done.Wait()
}
