package daemon

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

// Stats refresh intervals: GET /api/stats is polled by every open UI, and
// an exact count of orders and of the dead-letter topic costs a query each.
const (
	countEvery = 2 * time.Second
	rateWindow = 10 * time.Second
)

// statsSource gathers GET /api/stats from the store, the read path, the
// pipeline's metrics and the dead-letter topic.
type statsSource struct {
	store    storage.Store
	orders   *reads.Orders
	metrics  *stages.Metrics
	reader   *browse.Reader
	inFlight *pipeline.InFlight

	// flight makes the callers that find the counts stale share one
	// refresh: a flood of GET /api/stats costs a count query per
	// countEvery, not one per request.
	flight singleflight.Group

	mu        sync.Mutex
	countedAt time.Time
	stored    int64
	dlqTotal  int64
	samples   []rateSample // newest last, spanning at most rateWindow
}

type rateSample struct {
	at       time.Time
	inserted int64
}

func (s *statsSource) Stats(ctx context.Context) (server.Stats, error) {
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
		IngestRate:   s.rate(),
		DLQ:          server.DLQStats{Total: s.dlqTotal, ByReason: map[string]int64{}},
		ConsumerLag:  s.metrics.Lag(),
		InFlight:     s.inFlight.Len(),
	}
	for reason, n := range s.metrics.DeadLettered() {
		out.DLQ.ByReason[string(reason)] = n
	}
	cs := s.orders.Stats().Cache
	out.Cache = server.CacheStats{Entries: cs.Entries, Hits: cs.Hits, Misses: cs.Misses}
	if reads := cs.Hits + cs.Misses; reads > 0 {
		ratio := float64(cs.Hits) / float64(reads)
		out.Cache.HitRatio = &ratio
	}
	return out, nil
}

// count refreshes the counts of stored orders and dead letters.
func (s *statsSource) count(ctx context.Context) error {
	stored, err := s.store.CountOrders(ctx)
	if err != nil {
		return err
	}
	total, err := s.reader.Size(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.stored, s.dlqTotal, s.countedAt = stored, total, time.Now()
	s.mu.Unlock()
	return nil
}

// sampleRate samples the writer's counter every second until ctx ends, so
// that the first GET /api/stats already has a rate.
func (s *statsSource) sampleRate(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		s.samples = append(s.samples, rateSample{at: now, inserted: s.metrics.Inserted()})
		for len(s.samples) > 1 && now.Sub(s.samples[0].at) > rateWindow {
			s.samples = s.samples[1:]
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rate is new orders stored per second over the last rateWindow.
func (s *statsSource) rate() float64 {
	if len(s.samples) < 2 {
		return 0
	}
	first, last := s.samples[0], s.samples[len(s.samples)-1]
	return float64(last.inserted-first.inserted) / last.at.Sub(first.at).Seconds()
}
