package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store on PostgreSQL: normalized tables for querying, plus
// each order's canonical JSON in orders.doc for reads and cache warm-up
// without re-encoding. It is safe for concurrent use.
type Postgres struct {
	pool *pgxpool.Pool
}

var _ Store = (*Postgres)(nil)

// OpenPostgres connects to the database at url, checks that it answers and
// applies the embedded migrations. Pool settings (pool_max_conns,
// pool_max_conn_lifetime, ...) and session settings such as
// statement_timeout come from the URL.
//
// An unreachable server fails as soon as the first connection attempt does,
// bounded by ctx (and connect_timeout in the URL); OpenPostgres does not
// retry, the caller does.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgresql: parse url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgresql: %w", err)
	}
	// The pool connects lazily; Ping makes an unreachable server fail here
	// rather than on the first batch.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgresql: ping: %w", err)
	}
	if err := migrateUp(ctx, cfg.ConnConfig); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgresql: %w", err)
	}
	return &Postgres{pool: pool}, nil
}

// WithPoolSize returns dbURL with pool_max_conns set to conns, unless the URL
// sets it already (the operator's choice wins), or unchanged if it is not a
// URL (OpenPostgres reports that).
func WithPoolSize(dbURL string, conns int) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return dbURL
	}
	q := u.Query()
	if q.Has("pool_max_conns") {
		return dbURL
	}
	q.Set("pool_max_conns", strconv.Itoa(conns))
	u.RawQuery = q.Encode()
	return u.String()
}

// Pool returns the connection pool, for tests and tools.
func (p *Postgres) Pool() *pgxpool.Pool { return p.pool }

// Ping implements Store.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgresql: %w", err)
	}
	return nil
}

// Close implements Store: it closes the pool, waiting for connections in use
// to be released.
func (p *Postgres) Close() { p.pool.Close() }

// OrderJSON implements Store. The answer is the doc column, the bytes the
// order was accepted with.
func (p *Postgres) OrderJSON(ctx context.Context, uid string) ([]byte, error) {
	var doc []byte
	err := p.pool.QueryRow(ctx, `SELECT doc FROM orders WHERE order_uid = $1`, uid).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read order: %w", err)
	}
	return doc, nil
}

// EachOrderJSON implements Store. Rows are streamed in ingest order (id) and
// handed to fn straight from pgx's read buffer, so warming up a million
// orders allocates only their uid strings. The query holds one pool
// connection until it ends.
//
// When fn fails, the remaining rows are still read and discarded (that is
// how the protocol ends a query without breaking the connection); cancel ctx
// to abort a long warm-up instead.
func (p *Postgres) EachOrderJSON(ctx context.Context, fn func(uid string, json []byte) error) error {
	rows, err := p.pool.Query(ctx, `SELECT order_uid, doc FROM orders ORDER BY id`)
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
