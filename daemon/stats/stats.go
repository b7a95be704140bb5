package stats

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/server"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/reads"
)

// GET /api/stats is polled by every open UI, and an exact count of orders
// and of the dead-letter topic costs a query each: they are counted again
// at most every countEvery. The ingest rate is over rateWindow of the
// history's samples.
const (
	countEvery = 2 * time.Second
	rateWindow = 10 * time.Second
)

// Source gathers GET /api/stats from the store, the read path, the
// pipeline's metrics and the dead-letter topic.
type Source struct {
	Store    storage.Store
	Orders   *reads.Orders
	Metrics  *stages.Metrics
	Reader   *browse.Reader
	InFlight *pipeline.InFlight
	Ring     *Ring // the one sampler of the stored orders, for the rate

	// flight makes the callers that find the counts stale share one
	// refresh: a flood of GET /api/stats costs a count query per
	// countEvery, not one per request.
	flight singleflight.Group

	mu        sync.Mutex
	countedAt time.Time
	stored    int64
	dlqTotal  int64
}

func (s *Source) Stats(ctx context.Context) (server.Stats, error) {
	s.mu.Lock()
	stale := time.Since(s.countedAt) >= countEvery
	s.mu.Unlock()
	if stale {
		if _, err, _ := s.flight.Do("counts", func() (any, error) { return nil, s.count(ctx) }); err != nil {
			return server.Stats{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := server.Stats{
		OrdersStored: s.stored,
		IngestRate:   s.Ring.IngestRate(rateWindow),
		DLQ:          server.DLQStats{Total: s.dlqTotal, ByReason: map[string]int64{}},
		ConsumerLag:  s.Metrics.Lag(),
		InFlight:     s.InFlight.Len(),
	}
	for reason, n := range s.Metrics.DeadLettered() {
		out.DLQ.ByReason[string(reason)] = n
	}
	cs := s.Orders.Stats().Cache
	out.Cache = server.CacheStats{Entries: cs.Entries, Hits: cs.Hits, Misses: cs.Misses}
	if reads := cs.Hits + cs.Misses; reads > 0 {
		ratio := float64(cs.Hits) / float64(reads)
		out.Cache.HitRatio = &ratio
	}
	return out, nil
}

// count refreshes the counts of stored orders and dead letters.
func (s *Source) count(ctx context.Context) error {
	stored, err := s.Store.CountOrders(ctx)
	if err != nil {
		return err
	}
	total, err := s.Reader.Size(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.stored, s.dlqTotal, s.countedAt = stored, total, time.Now()
	s.mu.Unlock()
	return nil
}
