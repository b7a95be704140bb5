package memory

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/storage"
)

// Store is the storage.Store for demo mode, when no database is configured: the
// same contract as postgres.Store, kept in a map. It validates nothing and never
// returns Refused. It is safe for concurrent use.
type Store struct {
	mu   sync.RWMutex
	docs map[string][]byte
	// uids in insertion order, for EachOrderJSON. Append-only, so a reader
	// may keep walking a prefix of it without holding the lock.
	uids []string
	// summaries in insertion order, for ListOrders; summaries[i].Seq = i+1.
	summaries []storage.OrderSummary
}

var _ storage.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{docs: make(map[string][]byte)}
}

// SaveOrders implements Store. Records are applied in slice order, each
// against what is stored at that moment, so a later occurrence of a uid in
// the same batch is Duplicate or Conflict exactly as in postgres.Store.
func (m *Store) SaveOrders(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	defer storage.Progressed(ctx) // one step, however many records
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]storage.Result, len(recs))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range recs {
		uid := recs[i].Order.OrderUID
		stored, ok := m.docs[uid]
		switch {
		case !ok:
			// Copies: the caller's buffers may be reused after the call.
			uid = strings.Clone(uid)
			m.docs[uid] = slices.Clone(recs[i].JSON)
			m.uids = append(m.uids, uid)
			m.summaries = append(m.summaries, summaryOf(int64(len(m.summaries)+1), uid, recs[i].Order))
			results[i] = storage.Result{Outcome: storage.Inserted}
		case bytes.Equal(stored, recs[i].JSON):
			results[i] = storage.Result{Outcome: storage.Duplicate}
		default:
			results[i] = storage.Result{Outcome: storage.Conflict, Err: storage.ConflictErr(uid)}
		}
	}
	return results, nil
}

// OrderJSON implements Store. The returned slice is the caller's own copy.
func (m *Store) OrderJSON(ctx context.Context, uid string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	doc, ok := m.docs[uid]
	m.mu.RUnlock()
	if !ok {
		return nil, storage.ErrNotFound
	}
	return slices.Clone(doc), nil
}

// EachOrderJSON implements Store, in one stream whatever streams is: oldest
// first. Orders saved while it runs may or may not be visited. fn runs
// without the lock held, so it may call back into m.
func (m *Store) EachOrderJSON(ctx context.Context, _ int, fn func(uid string, json []byte) error) error {
	m.mu.RLock()
	uids := m.uids[:len(m.uids):len(m.uids)]
	m.mu.RUnlock()
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.mu.RLock()
		doc := m.docs[uid]
		m.mu.RUnlock()
		// Stored docs are never modified, so fn may read doc unlocked.
		if err := fn(uid, doc); err != nil {
			return err
		}
	}
	return nil
}

// EstimateOrders implements Store: memory knows exactly.
func (m *Store) EstimateOrders(ctx context.Context) (storage.Estimate, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := storage.Estimate{Orders: int64(len(m.uids))}
	for uid, doc := range m.docs {
		e.Bytes += int64(len(uid) + len(doc))
	}
	return e, ctx.Err()
}

// Ping implements Store; memory always answers.
func (m *Store) Ping(ctx context.Context) error { return ctx.Err() }

// Close implements Store; there is nothing to release.
func (m *Store) Close() {}

// ListOrders implements Store.
func (m *Store) ListOrders(ctx context.Context, before int64, limit int) ([]storage.OrderSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	// Seq is the 1-based position in insertion order.
	end := int64(len(m.summaries))
	if before > 0 && before-1 < end {
		end = before - 1
	}
	limit = storage.ClampLimit(limit)
	var out []storage.OrderSummary
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.summaries[i])
	}
	return out, nil
}

// CountOrders implements Store.
func (m *Store) CountOrders(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return int64(len(m.summaries)), nil
}

// SearchOrders implements Store, by a scan: demo mode holds few orders.
func (m *Store) SearchOrders(ctx context.Context, f storage.OrderFilter, after storage.SearchCursor, limit int) ([]storage.OrderSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	var hits []storage.OrderSummary
	for _, s := range m.summaries {
		if matches(f, s) && (after.IsZero() || searchKeyLess(s, after)) {
			hits = append(hits, s)
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(hits, func(a, b storage.OrderSummary) int {
		if c := -compareInt(a.DateCreated.UnixMicro(), b.DateCreated.UnixMicro()); c != 0 {
			return c
		}
		return -compareInt(a.Seq, b.Seq)
	})
	return hits[:min(len(hits), storage.ClampLimit(limit))], nil
}

// matches reports whether s passes every condition f sets.
func matches(f storage.OrderFilter, s storage.OrderSummary) bool {
	return (f.TrackNumber == "" || s.TrackNumber == f.TrackNumber) &&
		(f.CustomerID == "" || s.CustomerID == f.CustomerID) &&
		(f.CreatedFrom.IsZero() || !s.DateCreated.Before(f.CreatedFrom)) &&
		(f.CreatedTo.IsZero() || s.DateCreated.Before(f.CreatedTo))
}

// searchKeyLess reports whether s comes after the cursor c: (date_created,
// seq) below c's, as PostgreSQL compares the row.
func searchKeyLess(s storage.OrderSummary, c storage.SearchCursor) bool {
	us := s.DateCreated.UnixMicro()
	return us < c.CreatedMicros || (us == c.CreatedMicros && s.Seq < c.Seq)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// summaryOf summarizes o under the uid the store keeps. The strings are
// copied: a decoded order's strings share one allocation, which a summary
// should not keep alive.
func summaryOf(seq int64, uid string, o *order.Order) storage.OrderSummary {
	created, _ := order.CreatedAt(o) // validated before it was stored
	return storage.OrderSummary{
		Seq:         seq,
		OrderUID:    uid,
		DateCreated: created,
		Customer:    strings.Clone(o.Delivery.Name),
		Amount:      o.Payment.Amount,
		Currency:    strings.Clone(o.Payment.Currency),
		Items:       len(o.Items),
		TrackNumber: strings.Clone(o.TrackNumber),
		CustomerID:  strings.Clone(o.CustomerID),
	}
}
