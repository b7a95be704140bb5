package storage

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
)

// Memory is the Store for demo mode, when no database is configured: the
// same contract as Postgres, kept in a map. It validates nothing and never
// returns Refused. It is safe for concurrent use.
type Memory struct {
	mu   sync.RWMutex
	docs map[string][]byte
	// uids in insertion order, for EachOrderJSON. Append-only, so a reader
	// may keep walking a prefix of it without holding the lock.
	uids []string
	// summaries in insertion order, for ListOrders; summaries[i].Seq = i+1.
	summaries []OrderSummary
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{docs: make(map[string][]byte)}
}

// SaveOrders implements Store. Records are applied in slice order, each
// against what is stored at that moment, so a later occurrence of a uid in
// the same batch is Duplicate or Conflict exactly as in Postgres.
func (m *Memory) SaveOrders(ctx context.Context, recs []Record) ([]Result, error) {
	defer progressed(ctx) // one step, however many records
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]Result, len(recs))
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
			results[i] = Result{Outcome: Inserted}
		case bytes.Equal(stored, recs[i].JSON):
			results[i] = Result{Outcome: Duplicate}
		default:
			results[i] = Result{Outcome: Conflict, Err: conflictErr(uid)}
		}
	}
	return results, nil
}

// OrderJSON implements Store. The returned slice is the caller's own copy.
func (m *Memory) OrderJSON(ctx context.Context, uid string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	doc, ok := m.docs[uid]
	m.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	return slices.Clone(doc), nil
}

// EachOrderJSON implements Store, in one stream whatever streams is: oldest
// first. Orders saved while it runs may or may not be visited. fn runs
// without the lock held, so it may call back into m.
func (m *Memory) EachOrderJSON(ctx context.Context, _ int, fn func(uid string, json []byte) error) error {
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
func (m *Memory) EstimateOrders(ctx context.Context) (Estimate, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := Estimate{Orders: int64(len(m.uids))}
	for uid, doc := range m.docs {
		e.Bytes += int64(len(uid) + len(doc))
	}
	return e, ctx.Err()
}

// Ping implements Store; memory always answers.
func (m *Memory) Ping(ctx context.Context) error { return ctx.Err() }

// Close implements Store; there is nothing to release.
func (m *Memory) Close() {}
