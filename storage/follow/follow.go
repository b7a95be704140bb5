package follow

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/pgraw"
	"github.com/orderd/orderd/storage/reads"
)

// Follower keeps a replica's cache fresh with what the other replicas
// commit. On a connection of its own it LISTENs on CommitsChannel; for each
// announced batch it reads the batch's documents in one query and Puts them
// in the read path, which also forgets any "not found" remembered for them.
// Notifications that arrived while the previous query ran are served by one
// query together.
//
// Nothing depends on a notification arriving: while the connection is down
// the read path reads through to PostgreSQL as it always does, and a session
// that starts again first catches up with what it may have missed.
//
// Catching up cannot start from the highest sequence number seen, because
// writers commit sequence numbers out of order: a batch still open when the
// connection dropped holds lower numbers than one that had committed. It
// starts instead from the last order stored Window before the last
// announcement seen (PostgreSQL's clock both), which is safe as long as no
// write transaction of any replica stays open for half of Window: a batch
// that commits later began later, and took its numbers later still. When
// the first sessions failed, the first to listen starts from Window before
// the Follower was made instead (see Tried).
//
// One Follower is driven by one goroutine, session after session.
type Follower struct {
	conn   *pgx.ConnConfig
	orders *reads.Orders
	opts   Options

	listening chan struct{}
	once      sync.Once
	tried     chan struct{}
	triedOnce sync.Once
	// created is when Follow made the Follower, on the local clock (with
	// its monotonic reading).
	created time.Time
	// missed is set when a session ended before any had listened: what
	// was committed meanwhile was announced to nobody here.
	missed bool
	// covered is PostgreSQL's clock when the last announcement this
	// Follower handled was made, or when its last session began listening
	// and had caught up: every batch committed before it is in the cache.
	// Zero until the first session listens.
	covered time.Time
}

// Options tunes a Follower.
type Options struct {
	// Origin is this orderd's Pools.Origin: its own batches are in its
	// cache already, so their announcements cost no query.
	Origin string
	// Window is how far before the last announcement it saw a session that
	// starts again reads the stored orders again: at least twice the longest
	// write transaction of any replica (2 × WRITE_TIMEOUT). Default 10m.
	Window time.Duration
	// Heartbeat is how long the connection may stay silent before the
	// Follower checks that PostgreSQL still answers on it, so a server that
	// vanished without closing the socket is noticed. Default 5s.
	Heartbeat time.Duration
	// Metrics are counted; nil counts them on a registry of their own.
	Metrics *Metrics
}

// ListenerName is the application_name of a Follower's connection, unless
// DATABASE_URL names one.
const ListenerName = "orderd-commits-listener"

// closeTimeout bounds closing a session's connection, even when its
// context has ended: a close that times out leaves the socket to the OS.
const closeTimeout = 5 * time.Second

// catchUpPage is how many orders one catch-up query reads: a catch-up
// after a long outage is many small queries, never one huge result.
const catchUpPage = 1000

// maxCoalesced bounds how many announcements one fill query serves.
const maxCoalesced = 64

// New returns a Follower that connects as conn (a store's
// postgres.Store.ConnConfig) and fills orders from that database's
// announced batches. It connects nothing until Session.
func New(conn *pgx.ConnConfig, orders *reads.Orders, opts Options) *Follower {
	if opts.Window <= 0 {
		opts.Window = 10 * time.Minute
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return &Follower{conn: conn, orders: orders, opts: opts, listening: make(chan struct{}), tried: make(chan struct{}), created: time.Now()}
}

// Listening is closed once the first session LISTENs: from then on
// whatever commits reaches the cache, so a warm-up that starts afterwards
// leaves nothing out.
func (f *Follower) Listening() <-chan struct{} { return f.listening }

// Tried is closed once the first session has either started listening
// (Listening is closed too) or ended without, its connection refused say.
// A warm-up may start then whichever way it went: the first session that
// listens after failed ones catches up with everything committed since the
// Follower was made, as a session after a lost connection does.
func (f *Follower) Tried() <-chan struct{} { return f.tried }

// Session connects, LISTENs, catches up if an earlier session ran (or
// failed), calls
// live, and then fills the cache from announcements until ctx ends or the
// connection fails. It always returns an error: ctx's, or why the session
// ended. The caller starts the next one, after a pause.
func (f *Follower) Session(ctx context.Context, live func()) error {
	defer func() {
		if f.covered.IsZero() {
			f.missed = true
		}
		f.triedOnce.Do(func() { close(f.tried) })
	}()
	conn, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		_ = conn.Close(closeCtx) // the session's error is what matters
		cancel()
	}()
	m := f.opts.Metrics
	m.Listening.Set(1)
	defer m.Listening.Set(0)

	var listenedAt time.Time
	if err := conn.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&listenedAt); err != nil {
		return fmt.Errorf("follow commits: %w", err)
	}
	if f.missed && f.covered.IsZero() {
		// The first session to listen, after failed ones: what committed
		// since the Follower was made reached nobody, and a warm-up that
		// started meanwhile may have missed it. No failed session could ask
		// PostgreSQL's clock, so this one takes it now and steps back by
		// the time elapsed since Follow, on the local monotonic clock:
		// immune to the two clocks' skew, and measured after the answer
		// came, so it lands at or before the Follower's making on
		// PostgreSQL's clock. The catch-up then goes a Window further
		// back, as it always does, for the transactions open at the time.
		f.covered = listenedAt.Add(-time.Since(f.created))
	}
	if !f.covered.IsZero() {
		n, err := f.catchUp(ctx, conn)
		if err != nil {
			return fmt.Errorf("follow commits: catch up: %w", err)
		}
		m.Catchups.Inc()
		m.CaughtUp.Add(float64(n))
	}
	f.covered = listenedAt
	// Tried first: whoever sees Listening closed finds Tried closed too.
	f.triedOnce.Do(func() { close(f.tried) })
	f.once.Do(func() { close(f.listening) })
	live()

	for {
		batch, err := f.wait(ctx, conn)
		if err != nil {
			return err
		}
		if err := f.fill(ctx, conn, batch); err != nil {
			return fmt.Errorf("follow commits: fill: %w", err)
		}
	}
}

// connect opens the Follower's connection and LISTENs on it.
func (f *Follower) connect(ctx context.Context) (*pgx.Conn, error) {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg := f.conn.Copy()
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		// pg_stat_activity then tells the listener's session apart from
		// the pools' (and a test can refuse it alone).
		cfg.RuntimeParams["application_name"] = ListenerName
	}
	conn, err := pgx.ConnectConfig(connectCtx, cfg)
	if err != nil {
		return nil, fmt.Errorf("follow commits: connect: %w", err)
	}
	if _, err := conn.Exec(connectCtx, "LISTEN "+storage.CommitsChannel); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("follow commits: listen: %w", err)
	}
	return conn, nil
}

// wait returns the next announcements: the first to arrive, and those that
// arrived with it. Between them it checks every Heartbeat that PostgreSQL
// still answers.
func (f *Follower) wait(ctx context.Context, conn *pgx.Conn) ([]storage.Commit, error) {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, f.opts.Heartbeat)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case pgconn.Timeout(err):
			pingCtx, cancel := context.WithTimeout(ctx, f.opts.Heartbeat)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("follow commits: no answer on the connection: %w", err)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("follow commits: wait: %w", err)
		}
		notes := []*pgconn.Notification{n}
		// The rest were read with the last query's answer and wait in
		// pgx; a context already done takes them without touching the
		// connection. Past maxCoalesced they wait for the next call.
		done, stop := context.WithCancel(ctx)
		stop()
		for len(notes) < maxCoalesced {
			more, err := conn.WaitForNotification(done)
			if err != nil || more == nil {
				break
			}
			notes = append(notes, more)
		}
		batch := make([]storage.Commit, 0, len(notes))
		for _, n := range notes {
			f.opts.Metrics.Notifications.Inc()
			c, err := storage.ParseCommit(n.Payload)
			if err != nil {
				// Not orderd's format: another program's, or another
				// version's. There is nothing to fill from it.
				f.opts.Metrics.Unreadable.Inc()
				continue
			}
			batch = append(batch, c)
		}
		if len(batch) > 0 {
			return batch, nil
		}
	}
}

// fillSQL reads the orders of several batches: those in each batch's
// sequence range that its transaction wrote, and not the other batches'
// lying in between. statement_timestamp is when PostgreSQL received the
// query, on the clock the announcements were stamped with.
//
// OFFSET 0 keeps the subquery a range scan of the id index per batch: as a
// plain join, the planner hashes on xmin and scans the whole table, for
// every announcement.
const fillSQL = `
SELECT o.id, o.order_uid, o.doc, (extract(epoch FROM statement_timestamp()) * 1000000)::bigint
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS r(lo, hi, xact)
CROSS JOIN LATERAL (SELECT id, order_uid, doc, xmin FROM orders WHERE id BETWEEN r.lo AND r.hi OFFSET 0) o
WHERE o.xmin = r.xact::text::xid`

// fill caches the orders of batch's announcements, except this orderd's own.
func (f *Follower) fill(ctx context.Context, conn *pgx.Conn, batch []storage.Commit) error {
	var last time.Time
	for _, c := range batch {
		last = maxTime(last, c.At)
	}
	others := slices.DeleteFunc(batch, func(c storage.Commit) bool { return c.Origin == f.opts.Origin })
	if len(others) == 0 {
		f.covered = maxTime(f.covered, last)
		return nil
	}
	lo, hi, xact := make([]int64, len(others)), make([]int64, len(others)), make([]int64, len(others))
	for i, c := range others {
		lo[i], hi[i], xact[i] = c.From, c.To, int64(c.Xact)
	}
	sent := time.Now()
	rows, err := conn.Query(ctx, fillSQL, lo, hi, xact)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		n   int
		now time.Time // PostgreSQL's clock when it received the query
	)
	for rows.Next() {
		raw := rows.RawValues()
		fd := rows.FieldDescriptions()
		if n == 0 {
			us, err := pgraw.Bigint(raw[3], fd[3].Format)
			if err != nil {
				return err
			}
			now = time.UnixMicro(us)
		}
		f.orders.Put(string(raw[1]), raw[2])
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.covered = maxTime(f.covered, last)
	m := f.opts.Metrics
	m.Filled.Add(float64(n))
	if n > 0 {
		since := time.Since(sent)
		for _, c := range others {
			m.Lag.Observe((now.Sub(c.At) + since).Seconds())
		}
	}
	return nil
}

// catchUp Puts every order stored since Window before f.covered, page by
// page, and returns how many it read.
func (f *Follower) catchUp(ctx context.Context, conn *pgx.Conn) (int, error) {
	// The id index walked backwards stops at the first order stored before
	// the window, so this reads about the window's orders, not the table.
	var after int64
	err := conn.QueryRow(ctx, `SELECT coalesce((SELECT id FROM orders WHERE stored_at < $1 ORDER BY id DESC LIMIT 1), 0)`,
		f.covered.Add(-f.opts.Window)).Scan(&after)
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		n, last, err := f.catchUpPage(ctx, conn, after)
		if err != nil {
			return total, err
		}
		total += n
		if n < catchUpPage {
			return total, nil
		}
		after = last
	}
}

// catchUpPage Puts the orders after sequence number after, up to
// catchUpPage of them, and returns how many and the last one's number.
func (f *Follower) catchUpPage(ctx context.Context, conn *pgx.Conn, after int64) (n int, last int64, err error) {
	rows, err := conn.Query(ctx, `SELECT id, order_uid, doc FROM orders WHERE id > $1 ORDER BY id LIMIT $2`, after, catchUpPage)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		if last, err = pgraw.Bigint(raw[0], rows.FieldDescriptions()[0].Format); err != nil {
			return n, last, err
		}
		f.orders.Put(string(raw[1]), raw[2])
		n++
	}
	return n, last, rows.Err()
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Metrics are a Follower's Prometheus metrics.
type Metrics struct {
	Notifications prometheus.Counter // announcements received, this orderd's own included
	Unreadable    prometheus.Counter // announcements not in orderd's format
	Filled        prometheus.Counter // orders put in the cache from other replicas' announcements
	Catchups      prometheus.Counter // sessions that caught up after an earlier one ended
	CaughtUp      prometheus.Counter // orders read by those catch-ups
	Lag           prometheus.Histogram
	Listening     prometheus.Gauge
}

// NewMetrics registers a Follower's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Notifications: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderd_fill_notifications_total",
			Help: "Commit announcements received from PostgreSQL, this replica's own included.",
		}),
		Unreadable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderd_fill_unreadable_notifications_total",
			Help: "Notifications on the commits channel that were not in orderd's format, and were ignored.",
		}),
		Filled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderd_fill_orders_total",
			Help: "Orders put in the cache because another replica announced their commit.",
		}),
		Catchups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderd_fill_catchups_total",
			Help: "Times the commit listener connected again and read what it may have missed.",
		}),
		CaughtUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "orderd_fill_catchup_orders_total",
			Help: "Orders read by the catch-ups.",
		}),
		Lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderd_fill_lag_seconds",
			Help:    "From another replica's commit to its orders being in this replica's cache (PostgreSQL's clock).",
			Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}),
		Listening: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "orderd_fill_listening",
			Help: "1 while the commit listener's connection is up, 0 while reads of other replicas' orders fall back to PostgreSQL.",
		}),
	}
	reg.MustRegister(m.Notifications, m.Unreadable, m.Filled, m.Catchups, m.CaughtUp, m.Lag, m.Listening)
	return m
}
