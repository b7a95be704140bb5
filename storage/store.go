// Package storage is the vocabulary every part of orderd's storage shares:
// the Store interface and what goes in and out of it (Record, Result,
// Outcome, OrderSummary, OrderFilter, SearchCursor, Estimate), its errors,
// the progress hook of a save, and the commit announcements the PostgreSQL
// writers send and the followers read. Its sub-packages do the work, one job
// each: postgres (the PostgreSQL store), schema (its migrations), memory (the
// demo-mode store), reads (the cache and the read path in front of a Store)
// and follow (the LISTEN/NOTIFY follower that keeps a replica's cache fresh).
//
// It never imports its sub-packages, pgx, bigcache or Prometheus: a caller
// that only speaks Store pulls in none of them. Nothing in storage logs; it
// returns errors and exposes counters, and the caller decides what is worth
// a log line.
package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/orderd/orderd/order"
)

var (
	// ErrNotFound means no order is stored under the requested order_uid.
	ErrNotFound = errors.New("order not found")
	// ErrConflict explains a Conflict result: orders are immutable, so a
	// second, different version of a stored order is never applied.
	ErrConflict = errors.New("order_uid already stored with different content")
	// ErrRefused explains a Refused result; the error wrapping it carries
	// PostgreSQL's message and SQLSTATE.
	ErrRefused = errors.New("postgresql refused the order")
	// ErrBusy means reads.Orders.Get found no free read-through slot within
	// reads.OrdersOptions.ReadQueueTimeout. It protects PostgreSQL from a flood of
	// cache misses; the HTTP layer answers 503 with the message.
	ErrBusy = errors.New("too many concurrent order reads from the store")
	// ErrListBusy means a list or count query found no free connection of
	// its own within postgres.Pools.ListWait: list and stats requests get
	// their own small budget so that a flood of them cannot starve the
	// writers or the cache misses. The API answers 503.
	ErrListBusy = errors.New("too many list and count queries at once (raise LIST_CONCURRENCY or LIST_QUEUE_TIMEOUT)")
)

// Record is an order ready to store: the validated order and its canonical
// JSON (what GET /order serves, byte for byte). Order must not be nil, and
// neither field may be modified while a SaveOrders call that holds the record
// is running.
type Record struct {
	Order *order.Order
	JSON  []byte
}

// Outcome of storing one record.
type Outcome uint8

// The outcomes of SaveOrders. The zero Outcome is deliberately not one of
// them, so a result that was never filled in cannot pass for a success.
const (
	Inserted  Outcome = iota + 1 // new order, now stored
	Duplicate                    // the same order_uid was already stored with identical JSON: nothing changed
	Conflict                     // the order_uid is stored with different content; orders are immutable, nothing changed
	Refused                      // PostgreSQL refused a value of this order (SQLSTATE class 22 or 23, or 54000: too large to index); nothing of it stored
)

// String returns the outcome's lowercase name, as used in metrics labels.
func (o Outcome) String() string {
	switch o {
	case Inserted:
		return "inserted"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Result for one record; Err explains Conflict and Refused (wrapping
// ErrConflict / ErrRefused), nil otherwise.
type Result struct {
	Outcome Outcome
	Err     error
}

// Estimate is about how many orders a store holds and their size
// (Store.EstimateOrders), what a cache is sized for.
type Estimate struct {
	Orders int64
	// Bytes is their JSON and their order_uids together, what the cache
	// stores of them.
	Bytes int64
}

// WarmUpStreams is how many queries EachOrderJSON runs at once, at most.
// One PostgreSQL backend reads and sends the orders about as fast as
// orderd caches them, each taking a core; two let either side use the
// other core while its peer waits (see docs/PERFORMANCE.md). More would
// only take connections the writers might need.
const WarmUpStreams = 2

// Store is what the pipeline writes to and the read path falls back to. Two
// implementations: *postgres.Store and *memory.Store.
type Store interface {
	// SaveOrders stores a batch. results[i] belongs to recs[i]. The returned
	// error is only for failures that are not any one order's fault
	// (connection lost, timeout, serialization failure, unknown table...): the
	// caller retries the whole batch, which is safe because saving is
	// idempotent. recs may hold the same order_uid more than once: the first
	// occurrence in slice order is the one stored, a later identical one is
	// Duplicate, a later different one is Conflict.
	SaveOrders(ctx context.Context, recs []Record) ([]Result, error)
	// OrderJSON returns the stored JSON of one order, or ErrNotFound.
	OrderJSON(ctx context.Context, uid string) ([]byte, error)
	// EachOrderJSON calls fn for every stored order (for cache warm-up), in
	// up to streams goroutines at once. With one stream, orders come oldest
	// stored first; with more, the ingest sequence is split into that many
	// ranges, each read oldest first. The slices passed to fn are only valid
	// during the call. fn's first error stops the iteration and is returned.
	EachOrderJSON(ctx context.Context, streams int, fn func(uid string, json []byte) error) error
	// EstimateOrders returns about how many orders are stored and how large
	// they are, cheaply (from statistics, not a count), for sizing the cache
	// before it fills.
	EstimateOrders(ctx context.Context) (Estimate, error)
	// ListOrders returns up to limit orders (at most MaxListLimit), newest
	// first, stored before the one with Seq before (from the newest when
	// before <= 0). The last summary's Seq is the next page's before.
	ListOrders(ctx context.Context, before int64, limit int) ([]OrderSummary, error)
	// SearchOrders returns up to limit orders (at most MaxListLimit) that
	// match f, newest created first (date_created, then Seq, descending),
	// after the cursor (from the newest when it is zero); CursorAfter of the
	// last one is the next page's. Every filter is answered by an index.
	SearchOrders(ctx context.Context, f OrderFilter, after SearchCursor, limit int) ([]OrderSummary, error)
	// CountOrders returns how many orders are stored.
	CountOrders(ctx context.Context) (int64, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close()
}

// ConflictErr explains why an order was not applied over the stored version.
func ConflictErr(uid string) error {
	return fmt.Errorf("order %s: %w", QuoteUID(uid), ErrConflict)
}

// QuoteUID quotes uid for an error message, cut short: a refused uid may be
// kilobytes long.
func QuoteUID(uid string) string {
	const keep = 64
	if len(uid) > keep {
		return fmt.Sprintf("%q...(%d bytes)", uid[:keep], len(uid))
	}
	return fmt.Sprintf("%q", uid)
}
