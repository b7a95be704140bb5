package writes

import (
	"sync"
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

	// ending counts the terminations of abandoned transactions in flight
	// (see endAbandoned), which Close waits for; closed, under endingMu,
	// makes later ones give up instead of starting on a closing pool.
	endingMu sync.Mutex
	ending   sync.WaitGroup
	closed   bool
}

// New returns a Writer on pool, whose connections must run RememberBackend
// after connecting. timeout is WRITE_TIMEOUT, bounding each transaction
// (0: unbounded); origin, if set, names this orderd in the announcement of
// each committed batch on storage.CommitsChannel.
func New(pool *pgxpool.Pool, timeout time.Duration, origin string) *Writer {
	return &Writer{pool: pool, timeout: timeout, origin: origin}
}

// Close waits for the terminations of abandoned transactions in flight
// (each bounded by rollbackTimeout) and makes later ones give up. The pool
// is its owner's to close, afterwards.
func (w *Writer) Close() {
	w.endingMu.Lock()
	w.closed = true
	w.endingMu.Unlock()
	w.ending.Wait()
}
