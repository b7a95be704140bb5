package writes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/codes"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
)

// ErrSchema means PostgreSQL refuses what orderd writes whatever the order:
// a known-good order is refused the same way. The schema changed under
// orderd (a CHECK every new row violates, a NOT NULL column without a
// default, a trigger that raises), which no order can be blamed for: the
// batch is retried, nothing is dead-lettered, until someone fixes the
// schema.
var ErrSchema = errors.New("postgresql refuses any order, not just these: fix the schema")

// probeSchema tells whether refused, a refusal of a batch, is the schema's
// fault: it saves a copy of the newest stored order (or, in an empty
// database, a built-in sample) under a fresh order_uid, in a transaction it
// rolls back whatever happens. If that is refused too, it returns an error
// wrapping ErrSchema and what PostgreSQL said; if it is accepted, the batch's
// orders are to blame and it returns nil. Any other failure is returned as
// it is, to be retried.
//
// Blaming the schema only when the batch and both its halves fail alike
// would be cheaper but wrong both ways: a batch of two bad orders would
// stall its partition for good, and a schema that refuses a batch of one
// would condemn its order.
func (w *Writer) probeSchema(ctx context.Context, refused error) (err error) {
	ctx, span := traceChild(ctx, "probe schema")
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, "schema refuses a known-good order, or the probe failed")
		}
		span.End()
	}()
	probe, err := w.probeOrder(ctx)
	if err != nil {
		return err
	}
	created, err := time.Parse(time.RFC3339Nano, probe.Order.DateCreated)
	if err != nil {
		return fmt.Errorf("probe the schema: %w", err)
	}
	err = w.saveAttempt(ctx, []storage.Record{probe}, []time.Time{created}, []int{0}, make([]storage.Result, 1), false)
	if err == nil {
		return nil
	}
	pgErr, ok := refusal(err)
	switch {
	case ok && (pgErr.Code == "23505" || pgErr.Code == "23P01"):
		// A unique or exclusion constraint refuses a copy of a stored
		// order by construction: it tells nothing about the schema.
		return nil
	case ok:
		return fmt.Errorf("%w: a known-good order (a copy of the newest stored one, or a sample) is refused as well: %w",
			ErrSchema, refusedErr(probe.Order.OrderUID, err, pgErr))
	}
	return fmt.Errorf("probe the schema after %v: %w", refused, err)
}

// probeOrder is the newest stored order under a fresh order_uid, or the
// sample order when none is stored or the stored one no longer decodes.
func (w *Writer) probeOrder(parent context.Context) (storage.Record, error) {
	defer storage.Progressed(parent)
	ctx, cancel := w.writeContext(parent)
	defer cancel()
	var doc []byte
	err := w.pool.QueryRow(ctx, `SELECT doc FROM orders ORDER BY id DESC LIMIT 1`).Scan(&doc)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		doc = []byte(sampleOrder)
	case err != nil:
		return storage.Record{}, fmt.Errorf("probe the schema: read a stored order: %w", err)
	}
	o := new(order.Order)
	if err := order.NewDecoder().Decode(doc, o); err != nil {
		// Stored by an orderd with other rules, say: the sample is as
		// good a probe, and an error here would stall the batch for good.
		o = new(order.Order)
		if err := order.NewDecoder().Decode([]byte(sampleOrder), o); err != nil {
			return storage.Record{}, fmt.Errorf("probe the schema: decode the sample order: %w", err)
		}
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return storage.Record{}, err
	}
	o.OrderUID = "orderd-schema-probe-" + hex.EncodeToString(b[:])
	o.Payment.Transaction = o.OrderUID
	return storage.Record{Order: o, JSON: order.AppendJSON(nil, o)}, nil
}

// sampleOrder is a valid order, for probing an empty database.
const sampleOrder = `{"order_uid":"sample","track_number":"WBILMTESTTRACK","entry":"WBIL",
"delivery":{"name":"Test Testov","phone":"+9720000000","zip":"2639809","city":"Kiryat Mozkin",
"address":"Ploshad Mira 15","region":"Kraiot","email":"test@gmail.com"},
"payment":{"transaction":"sample","request_id":"","currency":"USD","provider":"wbpay","amount":1817,
"payment_dt":1637907727,"bank":"alpha","delivery_cost":1500,"goods_total":317,"custom_fee":0},
"items":[{"chrt_id":9934930,"track_number":"WBILMTESTTRACK","price":453,"rid":"ab4219087a764ae0btest",
"name":"Mascaras","sale":30,"size":"0","total_price":317,"nm_id":2389212,"brand":"Vivienne Sabo","status":202}],
"locale":"en","internal_signature":"","customer_id":"test","delivery_service":"meest","shardkey":"9",
"sm_id":99,"date_created":"2021-11-26T06:22:19Z","oof_shard":"1"}`
