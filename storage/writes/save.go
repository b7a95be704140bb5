package writes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/pgraw"
)

// The write statements are set-based: each takes one array per column and
// inserts every row of the attempt at once, so a batch costs four statements
// (and three round trips) whatever its size. A set-based statement must never
// see the same key twice, which is why SaveOrders splits a batch into waves
// of distinct order_uids before any of them runs.
const (
	insertOrdersSQL = `
INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id,
                    delivery_service, shardkey, sm_id, date_created, oof_shard, doc, item_count)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::bigint[], $10::timestamptz[], $11::text[], $12::text[], $13::int[])
ON CONFLICT (order_uid) DO NOTHING
RETURNING order_uid, id`

	storedDocsSQL = `SELECT order_uid, doc FROM orders WHERE order_uid = ANY($1::text[])`

	insertDeliveriesSQL = `
INSERT INTO deliveries (order_uid, name, phone, zip, city, address, region, email)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`

	insertPaymentsSQL = `
INSERT INTO payments (order_uid, transaction, request_id, currency, provider, amount, payment_dt,
                      bank, delivery_cost, goods_total, custom_fee)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                     $8::text[], $9::bigint[], $10::bigint[], $11::bigint[])`

	insertItemsSQL = `
INSERT INTO items (order_uid, position, chrt_id, track_number, price, rid, name, sale, size,
                   total_price, nm_id, brand, status)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                     $8::bigint[], $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::bigint[])`
)

// notifySQL announces a batch inside its transaction. PostgreSQL delivers
// the notification at commit, so a batch that rolls back is never
// announced. The time is PostgreSQL's clock just before the commit: a
// Follower measures its lag against the same clock, whatever the replicas'
// clocks say. The transaction id is the 32-bit one rows carry as xmin.
const notifySQL = `SELECT pg_notify($1::text, $2::text || ' ' || (txid_current() % 4294967296) || ' ' ||
                 $3::bigint || ' ' || $4::bigint || ' ' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)`

// rollbackTimeout bounds the ROLLBACK after a failed attempt. It runs even
// when the caller's context is already cancelled: a rollback that fails makes
// pgx close the connection, and the pool would have to dial a new one.
const rollbackTimeout = 5 * time.Second

// SaveOrders implements Store.
//
// Each wave of distinct order_uids is saved in one transaction. A record that
// PostgreSQL refuses (see refusal) is isolated by bisection: the attempt is
// rolled back and each half is saved on its own, recursively, until the
// offending record is alone and marked Refused; everything else is stored.
// Before the first bisection a known-good order is tried (see probeSchema):
// if PostgreSQL refuses that too, the refusal is the schema's, not any
// order's, and SaveOrders returns an error wrapping ErrSchema instead of
// condemning the batch order by order.
// Any other error ends the call with no results. Halves and waves already
// committed stay committed: the caller's retry finds them Duplicate.
//
// Each attempt is bounded by WRITE_TIMEOUT, not the call: a ctx made by
// WithProgress hears of each one as it ends.
//
// Repeated order_uids: later occurrences are judged against what ends up
// stored. When the first occurrence is refused nothing is stored under its
// uid, so the next different occurrence is saved as if it came first.
func (w *Writer) SaveOrders(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	results := make([]storage.Result, len(recs))
	created := make([]time.Time, len(recs))
	todo := make([]int, 0, len(recs))
	for i := range recs {
		t, err := time.Parse(time.RFC3339Nano, recs[i].Order.DateCreated)
		if err != nil {
			// Validation should have caught it; refuse this record alone
			// rather than let one bad date fail every attempt it is part of.
			results[i] = storage.Result{Outcome: storage.Refused, Err: fmt.Errorf("order %s: %w: date_created: %w", storage.QuoteUID(recs[i].Order.OrderUID), storage.ErrRefused, err)}
			continue
		}
		created[i] = t
		todo = append(todo, i)
	}

	first := make(map[string]int, len(todo))
	probed := false
	for len(todo) > 0 {
		wave, later := splitWave(recs, todo, first)
		if err := w.saveDistinct(ctx, recs, created, wave, results, &probed); err != nil {
			return nil, err
		}
		todo = resolveLater(recs, later, first, results)
	}
	return results, nil
}

// splitWave returns the first occurrence of each order_uid in todo (the wave)
// and the later occurrences, and records in first where each uid's first
// occurrence is. Both slices keep todo's order, so ids follow slice order.
func splitWave(recs []storage.Record, todo []int, first map[string]int) (wave, later []int) {
	clear(first)
	for _, i := range todo {
		uid := recs[i].Order.OrderUID
		if _, seen := first[uid]; seen {
			later = append(later, i)
			continue
		}
		first[uid] = i
		wave = append(wave, i)
	}
	return wave, later
}

// resolveLater decides the later occurrences of uids whose first occurrence
// the wave has just decided, and returns those it cannot decide without
// asking PostgreSQL again (they form the next wave).
//
// A byte-identical record gets the first occurrence's outcome (Inserted
// becomes Duplicate). A different one is Conflict if the first one is now
// what is stored; if the first was itself Conflict or Refused, what is stored
// (if anything) is not the first one, so the record goes to the next wave and
// is compared with the stored version like any other.
func resolveLater(recs []storage.Record, later []int, first map[string]int, results []storage.Result) (next []int) {
	for _, i := range later {
		f := first[recs[i].Order.OrderUID]
		r := results[f]
		switch {
		case bytes.Equal(recs[i].JSON, recs[f].JSON):
			if r.Outcome == storage.Inserted {
				r.Outcome = storage.Duplicate
			}
			results[i] = r
		case r.Outcome == storage.Inserted || r.Outcome == storage.Duplicate:
			results[i] = storage.Result{Outcome: storage.Conflict, Err: storage.ConflictErr(recs[i].Order.OrderUID)}
		default:
			next = append(next, i)
		}
	}
	return next
}

// saveDistinct saves recs[idx] (distinct order_uids), bisecting around
// refused records once probeSchema has cleared the schema (*probed).
func (w *Writer) saveDistinct(ctx context.Context, recs []storage.Record, created []time.Time, idx []int, results []storage.Result, probed *bool) error {
	err := w.saveAttempt(ctx, recs, created, idx, results, true)
	if err == nil {
		return nil
	}
	pgErr, ok := refusal(err)
	if !ok {
		return err
	}
	if !*probed {
		*probed = true
		if err := w.probeSchema(ctx, err); err != nil {
			return err
		}
	}
	if len(idx) == 1 {
		results[idx[0]] = storage.Result{Outcome: storage.Refused, Err: refusedErr(recs[idx[0]].Order.OrderUID, err, pgErr)}
		storage.TraceEvent(ctx, "order refused", attrState.String(pgErr.Code))
		return nil
	}
	storage.TraceEvent(ctx, "bisect around a refused order", attrRows.Int(len(idx)), attrState.String(pgErr.Code))
	mid := len(idx) / 2
	if err := w.saveDistinct(ctx, recs, created, idx[:mid], results, probed); err != nil {
		return err
	}
	return w.saveDistinct(ctx, recs, created, idx[mid:], results, probed)
}

// refusal reports whether err is PostgreSQL refusing a value, and so the
// fault of one order in the attempt, not of the attempt itself:
//   - class 22, data exception: a NUL byte or invalid UTF-8 in a text
//     (22021), a number out of range (22003)...
//   - class 23, integrity constraint violation: a CHECK (23514), NOT NULL
//     (23502)...
//   - 54000 program_limit_exceeded, exactly: a value too large to index,
//     such as an order_uid of a few KB ("index row requires 9016 bytes").
//     Left out, one such order would fail its batch on every retry and stall
//     its partition for good.
//   - P0001 raise_exception: a trigger refusing a row, for its values.
//
// Any of these can also be the schema's fault rather than an order's (a new
// CHECK that every row violates, a NOT NULL column without a default, a
// trigger that raises for every row): probeSchema tells them apart.
//
// Everything else is the batch's problem or the operator's, never one
// order's: connection loss and timeouts, serialization failures and
// deadlocks (40001, 40P01: retry), an unknown table or column (42P01, 42703:
// fix the schema), cancellation (57014). Refusing orders for those would
// dead-letter good orders, so they end the call with an error and the batch
// is retried.
func refusal(err error) (*pgconn.PgError, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return nil, false
	}
	switch {
	case pgErr.Code[:2] == "22", pgErr.Code[:2] == "23", pgErr.Code == "54000", pgErr.Code == "P0001":
		return pgErr, true
	}
	return nil, false
}

// refusedErr explains a Refused result for the dead-letter queue: the
// statement, PostgreSQL's message and SQLSTATE, and where PostgreSQL names
// them the table, column, constraint and parameter. The row itself (the
// error's Detail) is left out: the original message travels with the record
// anyway. err is the attempt's error, pgErr the PostgreSQL error inside it.
func refusedErr(uid string, err error, pgErr *pgconn.PgError) error {
	var where []string
	for _, kv := range [...][2]string{
		{"table", pgErr.TableName},
		{"column", pgErr.ColumnName},
		{"constraint", pgErr.ConstraintName},
		{"context", pgErr.Where},
	} {
		if kv[1] != "" {
			where = append(where, kv[0]+" "+kv[1])
		}
	}
	if len(where) == 0 {
		return fmt.Errorf("order %s: %w: %w", storage.QuoteUID(uid), storage.ErrRefused, err)
	}
	return fmt.Errorf("order %s: %w: %w [%s]", storage.QuoteUID(uid), storage.ErrRefused, err, strings.Join(where, ", "))
}

// writeContext bounds work on the write pool by WRITE_TIMEOUT, if set.
func (w *Writer) writeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.timeout > 0 {
		return context.WithTimeout(ctx, w.timeout)
	}
	return context.WithCancel(ctx)
}

// saveAttempt saves recs[idx] (distinct order_uids) in one transaction and
// fills their results. On error the transaction is rolled back and results of
// idx are meaningless: the caller either bisects (which fills them again) or
// returns no results at all. Without commit, the transaction is rolled back
// even when everything was accepted: a trial.
func (w *Writer) saveAttempt(parent context.Context, recs []storage.Record, created []time.Time, idx []int, results []storage.Result, commit bool) (err error) {
	// Last of the deferred calls: the attempt, its rollback included, is
	// over.
	defer storage.Progressed(parent)
	c := getColumns()
	defer c.put()
	for pos, i := range idx {
		c.addOrder(pos, recs[i].Order, created[i], recs[i].JSON)
		results[i] = storage.Result{}
	}

	ctx, cancel := w.writeContext(parent)
	defer cancel()
	var (
		server backend // the transaction's server process, once it began
		known  bool
	)
	// An attempt WRITE_TIMEOUT ended fails with whatever it was doing
	// (connecting, a statement, the commit); say which setting ended it,
	// and end the transaction it leaves on the server.
	defer func() {
		if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("write timeout: no answer within WRITE_TIMEOUT=%s: %w", w.timeout, err)
			if known {
				// Not on the writer's time: the outage may outlast many
				// tries, and a writer busy past LIVENESS_STALL would read
				// as stuck.
				w.endAbandonedLater(server)
			}
		}
	}()
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("upsert orders: begin: %w", err)
	}
	server, known = backendOf(tx.Conn().PgConn())
	// Whatever ends the attempt (an error, a panic the writer recovers
	// from) rolls back; after a commit or the trial's own rollback this is
	// a no-op. Its error is not the attempt's: a failed rollback makes pgx
	// close the connection, so nothing is left half-done.
	defer func() {
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		_ = tx.Rollback(rbCtx)
		cancel()
	}()

	inserted, seqs, err := insertOrders(ctx, tx, c, idx, results)
	if err != nil {
		return err
	}
	if inserted < len(idx) {
		if err := compareStored(ctx, tx, c, recs, idx, results); err != nil {
			return err
		}
	}
	if inserted > 0 {
		// Only orders this attempt inserted get child rows: a conflicting
		// order must never add items to the stored one.
		for _, i := range idx {
			if results[i].Outcome == storage.Inserted {
				c.addChildren(recs[i].Order)
			}
		}
		// The notification rides in the children's round trip, and like
		// them it is undone by a rollback: PostgreSQL delivers it at
		// commit, never for a batch that did not commit.
		var notify *storage.Commit
		if origin := w.origin; commit && origin != "" {
			notify = &storage.Commit{Origin: origin, From: seqs.from, To: seqs.to}
		}
		if err := insertChildren(ctx, tx, c, notify); err != nil {
			return err
		}
	}
	if !commit {
		rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		return tx.Rollback(rbCtx)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("upsert orders: commit: %w", err)
	}
	return nil
}

// seqRange is the lowest and highest ingest sequence numbers (orders.id)
// an attempt inserted.
type seqRange struct{ from, to int64 }

// insertOrders inserts the orders rows that are not stored yet, marks them
// Inserted, and returns how many there were and their ingest sequence range.
func insertOrders(ctx context.Context, tx pgx.Tx, c *columns, idx []int, results []storage.Result) (int, seqRange, error) {
	var seqs seqRange
	rows, err := tx.Query(ctx, insertOrdersSQL, c.uid, c.track, c.entry, c.locale, c.signature, c.customer,
		c.service, c.shardkey, c.smID, c.created, c.oofShard, c.doc, c.itemCount)
	if err != nil {
		return 0, seqs, fmt.Errorf("upsert orders: %w", err)
	}
	defer rows.Close()
	inserted := 0
	for rows.Next() {
		raw := rows.RawValues()
		// string(raw) in a map index does not allocate.
		pos, ok := c.at[string(raw[0])]
		if !ok {
			return 0, seqs, errors.New("upsert orders: postgresql returned an order_uid that was not sent")
		}
		seq, err := pgraw.Bigint(raw[1], rows.FieldDescriptions()[1].Format)
		if err != nil {
			return 0, seqs, fmt.Errorf("upsert orders: id: %w", err)
		}
		if inserted == 0 || seq < seqs.from {
			seqs.from = seq
		}
		seqs.to = max(seqs.to, seq)
		results[idx[pos]] = storage.Result{Outcome: storage.Inserted}
		inserted++
	}
	if err := rows.Err(); err != nil {
		return 0, seqs, fmt.Errorf("upsert orders: %w", err)
	}
	return inserted, seqs, nil
}

// compareStored decides the records whose order_uid was already stored:
// Duplicate if the stored JSON is byte-identical, Conflict otherwise.
func compareStored(ctx context.Context, tx pgx.Tx, c *columns, recs []storage.Record, idx []int, results []storage.Result) error {
	for _, i := range idx {
		if results[i].Outcome == 0 {
			c.stored = append(c.stored, recs[i].Order.OrderUID)
		}
	}
	rows, err := tx.Query(ctx, storedDocsSQL, c.stored)
	if err != nil {
		return fmt.Errorf("compare stored orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		pos, ok := c.at[string(raw[0])]
		if !ok {
			return errors.New("compare stored orders: postgresql returned an order_uid that was not sent")
		}
		i := idx[pos]
		if bytes.Equal(raw[1], recs[i].JSON) {
			results[i] = storage.Result{Outcome: storage.Duplicate}
		} else {
			results[i] = storage.Result{Outcome: storage.Conflict, Err: storage.ConflictErr(recs[i].Order.OrderUID)}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("compare stored orders: %w", err)
	}
	for _, i := range idx {
		if results[i].Outcome == 0 {
			// Skipped by ON CONFLICT yet not there: deleted in between.
			// Nothing the order did; a retry inserts it.
			return fmt.Errorf("compare stored orders: order %s was neither inserted nor found", storage.QuoteUID(recs[i].Order.OrderUID))
		}
	}
	return nil
}

// insertChildren inserts the delivery, payment and item rows collected in c,
// and queues notify (if not nil) for the commit, in one round trip.
func insertChildren(ctx context.Context, tx pgx.Tx, c *columns, notify *storage.Commit) error {
	b := &pgx.Batch{}
	b.Queue(insertDeliveriesSQL, c.dUID, c.dName, c.dPhone, c.dZip, c.dCity, c.dAddress, c.dRegion, c.dEmail)
	b.Queue(insertPaymentsSQL, c.pUID, c.pTransaction, c.pRequestID, c.pCurrency, c.pProvider, c.pAmount,
		c.pPaymentDt, c.pBank, c.pDeliveryCost, c.pGoodsTotal, c.pCustomFee)
	steps := []string{"insert deliveries", "insert payments"}
	if len(c.iUID) > 0 {
		b.Queue(insertItemsSQL, c.iUID, c.iPosition, c.iChrtID, c.iTrack, c.iPrice, c.iRid, c.iName,
			c.iSale, c.iSize, c.iTotal, c.iNmID, c.iBrand, c.iStat)
		steps = append(steps, "insert items")
	}
	if notify != nil {
		b.Queue(notifySQL, storage.CommitsChannel, notify.Origin, notify.From, notify.To)
		steps = append(steps, "notify the commit")
	}
	br := tx.SendBatch(ctx, b)
	for _, step := range steps {
		// Naming the statement makes a refusal's "parameter $N" readable.
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // err is the one that matters
			return fmt.Errorf("%s: %w", step, err)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("insert order details: %w", err)
	}
	return nil
}
