package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/schema"
	"github.com/orderd/orderd/storage/writes"
)

// Store is the storage.Store on PostgreSQL: normalized tables for querying, plus
// each order's canonical JSON in orders.doc for reads and cache warm-up
// without re-encoding. It is safe for concurrent use.
//
// Each kind of work has a connection pool of its own (see Pools), so that no
// kind can take another's connections: a flood of list queries cannot make
// the writers wait, and neither can a warm-up that holds a connection for
// its whole run.
type Store struct {
	write *pgxpool.Pool // SaveOrders: the writers', and nothing else's
	read  *pgxpool.Pool // OrderJSON: cache misses
	list  *pgxpool.Pool // ListOrders and CountOrders
	bulk  *pgxpool.Pool // EachOrderJSON (warm-up), Ping, tools
	// listWait is how long a list or count waits for a connection.
	listWait time.Duration
	// conn is how the pools connect, for a follower's connection of its own.
	conn *pgx.ConnConfig
	// writer saves batches on the write pool.
	writer *writes.Writer
}

var _ storage.Store = (*Store)(nil)

// Pools sizes the connection pools of a Store: at most
// 2×Writers + Reads + Lists + bulkConns (3) connections in all (see the write pool's
// spare slots in OpenWith).
type Pools struct {
	// Writers is how many batches are saved at once (WRITERS).
	Writers int
	// Reads is how many cache misses query at once (READ_CONCURRENCY;
	// Orders limits them, with its own queue timeout).
	Reads int
	// Lists is how many list and count queries run at once
	// (LIST_CONCURRENCY). One that finds them all busy waits ListWait
	// (LIST_QUEUE_TIMEOUT), then fails with ErrListBusy.
	Lists    int
	ListWait time.Duration
	// WriteTimeout bounds each transaction of SaveOrders (WRITE_TIMEOUT),
	// which then fails as a timeout and is retried; 0 leaves them unbounded.
	// Without it a connection whose server vanished without closing it (a
	// failed-over primary, a dropped route) holds its writer until TCP gives
	// up, a quarter of an hour later. It is also the write connections'
	// idle_in_transaction_session_timeout, unless the URL sets one, so that
	// PostgreSQL ends the transaction such a connection left open, and the
	// row locks the retry would wait for.
	WriteTimeout time.Duration
	// Origin names this orderd in the notification each committed batch
	// of SaveOrders sends on CommitsChannel, so that every replica's
	// Follower can cache the batch and skip its own. Empty, no notification
	// is sent. It must not contain a space.
	Origin string
	// Tracer, if set, traces every pool's queries (otelpgx's, when tracing
	// is on): each one is a child of the span in its context, if any.
	Tracer pgx.QueryTracer
}

// DefaultPools are orderd's defaults.
var DefaultPools = Pools{Writers: 2, Reads: 8, Lists: 2, ListWait: 100 * time.Millisecond, WriteTimeout: 30 * time.Second}

// bulkConns is the bulk pool's size: a warm-up's queries and a ping.
const bulkConns = storage.WarmUpStreams + 1

// Open is OpenWith DefaultPools.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenWith(ctx, url, DefaultPools)
}

// OpenWith connects to the database at url, checks that it answers
// and applies the embedded migrations. Session settings such as
// statement_timeout, and pool settings other than the pools' sizes
// (pool_max_conn_lifetime, ...), come from the URL; pool_max_conns is
// refused, since the sizes come from pools.
//
// An unreachable server fails as soon as the first connection attempt does,
// bounded by ctx (and connect_timeout in the URL); OpenWith does not
// retry, the caller does.
func OpenWith(ctx context.Context, url string, pools Pools) (_ *Store, err error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgresql: parse url: %w", err)
	}
	if strings.Contains(url, "pool_max_conns") {
		return nil, errors.New("open postgresql: the URL sets pool_max_conns: remove it; orderd sizes a pool for each kind of work from WRITERS, READ_CONCURRENCY and LIST_CONCURRENCY")
	}
	if strings.ContainsAny(pools.Origin, " \t\n") {
		return nil, fmt.Errorf("open postgresql: origin %q contains a space", pools.Origin)
	}
	p := &Store{listWait: pools.ListWait, conn: cfg.ConnConfig}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	// The writers' sessions end a transaction their connection left open
	// (see Pools.WriteTimeout), unless the URL chose otherwise.
	var writeParams map[string]string
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; pools.WriteTimeout > 0 && !set {
		writeParams = map[string]string{"idle_in_transaction_session_timeout": fmt.Sprint(pools.WriteTimeout.Milliseconds())}
	}
	for _, pl := range []struct {
		pool   **pgxpool.Pool
		conns  int
		params map[string]string
	}{
		// Twice the writers: pgx holds the pool slot of a connection it
		// closes after a timeout while it drains it, for up to 15 s when the
		// server went silent; the spare slot lets that writer retry on a
		// new connection meanwhile. The writers still use one each.
		{&p.write, 2 * pools.Writers, writeParams}, {&p.read, pools.Reads, nil}, {&p.list, pools.Lists, nil}, {&p.bulk, bulkConns, nil},
	} {
		c := cfg.Copy()
		c.MaxConns = int32(max(pl.conns, 1))
		c.MinConns = 0
		maps.Copy(c.ConnConfig.RuntimeParams, pl.params)
		if pl.pool == &p.write {
			c.AfterConnect = writes.RememberBackend
		}
		if pools.Tracer != nil {
			c.ConnConfig.Tracer = pools.Tracer
		}
		if *pl.pool, err = pgxpool.NewWithConfig(ctx, c); err != nil {
			return nil, fmt.Errorf("open postgresql: %w", err)
		}
	}
	p.writer = writes.New(p.write, pools.WriteTimeout, pools.Origin)
	// The pools connect lazily; Ping makes an unreachable server fail here
	// rather than on the first batch.
	if err := p.bulk.Ping(ctx); err != nil {
		return nil, fmt.Errorf("open postgresql: ping: %w", err)
	}
	if err := schema.Migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, fmt.Errorf("open postgresql: %w", err)
	}
	return p, nil
}

// ConnConfig returns how the pools connect, for a connection of the
// caller's own (a follower's LISTEN): it must not be modified.
func (p *Store) ConnConfig() *pgx.ConnConfig { return p.conn }

// Pool returns the bulk pool, for tests and tools: never the writers'.
func (p *Store) Pool() *pgxpool.Pool { return p.bulk }

// Ping implements Store.
func (p *Store) Ping(ctx context.Context) error {
	if err := p.bulk.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgresql: %w", err)
	}
	return nil
}

// Close implements Store: it waits for the writer's terminations of
// abandoned transactions in flight (see writes.Writer.Close), then closes
// the pools, waiting for connections in use to be released.
func (p *Store) Close() {
	if p.writer != nil {
		p.writer.Close()
	}
	for _, pool := range []*pgxpool.Pool{p.write, p.read, p.list, p.bulk} {
		if pool != nil {
			pool.Close()
		}
	}
}

// SaveOrders implements Store, on the write pool: see writes.Writer.
func (p *Store) SaveOrders(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	return p.writer.SaveOrders(ctx, recs)
}

// OrderJSON implements Store. The answer is the doc column, the bytes the
// order was accepted with.
func (p *Store) OrderJSON(ctx context.Context, uid string) ([]byte, error) {
	var doc []byte
	err := p.read.QueryRow(ctx, `SELECT doc FROM orders WHERE order_uid = $1`, uid).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order: %w", err)
	}
	return doc, nil
}

// EachOrderJSON implements Store. Each stream is one query holding a
// connection of the bulk pool until it ends, so at most WarmUpStreams run
// at once. Rows are streamed in ingest order (id), each stream over its own
// range of ids, without a sort: the primary key's index delivers them in
// that order. Orders stored after it began may or may not be visited.
func (p *Store) EachOrderJSON(ctx context.Context, streams int, fn func(uid string, json []byte) error) error {
	streams = min(max(streams, 1), storage.WarmUpStreams)
	if streams == 1 {
		return eachOrderJSON(ctx, p.bulk, fn, `SELECT order_uid, doc FROM orders ORDER BY id`)
	}
	var lo, hi *int64
	if err := p.bulk.QueryRow(ctx, `SELECT min(id), max(id) FROM orders`).Scan(&lo, &hi); err != nil {
		return fmt.Errorf("read all orders: %w", err)
	}
	if lo == nil {
		return nil // no orders
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, r := range splitRange(*lo, *hi, streams) {
		g.Go(func() error {
			return eachOrderJSON(ctx, p.bulk, fn,
				`SELECT order_uid, doc FROM orders WHERE id BETWEEN $1 AND $2 ORDER BY id`, r[0], r[1])
		})
	}
	return g.Wait()
}

// eachOrderJSON calls fn for each (order_uid, doc) row of query, straight
// from pgx's read buffer, so warming up a million orders allocates only
// their uid strings. When fn fails, the remaining rows are still read and
// discarded (that is how the protocol ends a query without breaking the
// connection); cancel ctx to abort a long warm-up instead.
func eachOrderJSON(ctx context.Context, pool *pgxpool.Pool, fn func(uid string, json []byte) error, query string, args ...any) error {
	rows, err := pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read all orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		if err := fn(string(raw[0]), raw[1]); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read all orders: %w", err)
	}
	return nil
}

// splitRange splits the ids lo..hi (lo <= hi) into at most n contiguous
// ranges of about equal length, in order.
func splitRange(lo, hi int64, n int) [][2]int64 {
	span := hi - lo + 1
	n = int(min(int64(n), span))
	out := make([][2]int64, 0, n)
	for i := range int64(n) {
		from, to := lo+span*i/int64(n), lo+span*(i+1)/int64(n)-1
		out = append(out, [2]int64{from, to})
	}
	return out
}

// EstimateOrders implements Store, with three cheap lookups.
//
// The count is the planner's: pg_class.reltuples scaled to the table's
// pages now, as the planner itself scales it, so that orders stored since
// the last ANALYZE count too. A table never analyzed has no reltuples; the
// span of ingest sequence ids (min to max, by the index) stands in, an upper
// bound since ids are never reused but may be skipped.
//
// The size is the average of the newest thousand orders. Not pg_stats'
// avg_width: that is the size stored, which PostgreSQL compresses when a
// row outgrows 2 kB, while octet_length reads the uncompressed length from
// the value's header without decompressing it.
func (p *Store) EstimateOrders(ctx context.Context) (storage.Estimate, error) {
	var (
		planned   *float64
		span      *int64
		avg       *float64
		estimated int64
	)
	err := p.bulk.QueryRow(ctx, `
SELECT (SELECT c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::float8)
          FROM pg_class c WHERE c.oid = 'orders'::regclass AND c.reltuples >= 0 AND c.relpages > 0),
       (SELECT max(id) - min(id) + 1 FROM orders),
       (SELECT avg(octet_length(order_uid) + octet_length(doc))::float8
          FROM (SELECT order_uid, doc FROM orders ORDER BY id DESC LIMIT 1000) newest)`).Scan(&planned, &span, &avg)
	if err != nil {
		return storage.Estimate{}, fmt.Errorf("estimate the stored orders: %w", err)
	}
	switch {
	case span == nil: // no orders
		return storage.Estimate{}, nil
	case planned != nil:
		estimated = min(int64(math.Ceil(*planned)), *span)
	default:
		estimated = *span
	}
	e := storage.Estimate{Orders: estimated}
	if avg != nil {
		e.Bytes = int64(math.Ceil(*avg * float64(estimated)))
	}
	return e, nil
}
