package stages

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/storage"
)

// Ingest wires the stages between the Kafka source and the store, cache and
// dead-letter topic.
type Ingest struct {
	// Workers is how many goroutines decode and how many validate.
	Workers int
	// MaxMessageBytes is the largest message decoded; bigger ones are
	// dead-lettered as too_large without being parsed.
	MaxMessageBytes int
	// NewDecoder makes each decode worker's decoder; nil means
	// order.NewDecoder.
	NewDecoder func() Decoder
	// BatchSize and BatchLinger bound a write batch: it is written when it
	// holds BatchSize orders or its first order has waited BatchLinger.
	BatchSize   int
	BatchLinger time.Duration
	// Writers is how many batches are written concurrently, each on its
	// own connection and transaction.
	Writers int

	Writer      *Writer
	Orders      *storage.Orders
	DeadLetters *DeadLetters
	Metrics     *Metrics
}

// channelBuffer is the slack between two stages. It only smooths hand-offs:
// the in-flight limit, not these buffers, bounds the work in the pipeline.
const channelBuffer = 256

// Run processes messages from src until src is closed and everything taken
// from it is stored or dead-lettered, then returns nil. If ctx ends first,
// the stages stop where they are and whatever is unfinished stays
// uncommitted.
func (p *Ingest) Run(ctx context.Context, src <-chan Message) error {
	var (
		decoded = make(chan Decoded, channelBuffer)
		valid   = make(chan Valid, channelBuffer)
		batches = make(chan []Valid, max(p.Writers, 1))
		stored  = make(chan Valid, channelBuffer)
		dead    = make(chan Dead, channelBuffer)
	)
	m := p.Metrics
	m.watchQueues([]queue{
		{"decode", func() int { return len(src) }},
		{"validate", func() int { return len(decoded) }},
		{"batch", func() int { return len(valid) }},
		{"write", func() int { return len(batches) }},
		{"cache", func() int { return len(stored) }},
		{"dead_letter", func() int { return len(dead) }},
	})
	defer m.watchQueues(nil)
	g, ctx := errgroup.WithContext(ctx)

	// Three stages send to dead; it is closed once all three have returned,
	// so the dead-letter stage drains everything they condemned.
	var deadSenders sync.WaitGroup
	condemning := func(run func() error) {
		deadSenders.Add(1)
		g.Go(func() error {
			defer deadSenders.Done()
			return run()
		})
	}
	newDecoder := p.NewDecoder
	if newDecoder == nil {
		newDecoder = func() Decoder { return order.NewDecoder() }
	}
	condemning(func() error {
		return pipeline.Run(ctx, p.Workers, Decode(p.MaxMessageBytes, newDecoder, dead, m.Decode), src, decoded)
	})
	condemning(func() error {
		return pipeline.Run(ctx, p.Workers, Validate(dead, m.Validate), decoded, valid)
	})
	g.Go(func() error {
		return pipeline.Run(ctx, 1, pipeline.Batch[Valid](p.BatchSize, p.BatchLinger), valid, batches)
	})
	condemning(func() error {
		return pipeline.RunWorkers(ctx, p.Writers, func(i int) pipeline.Stage[[]Valid, Valid] {
			return p.Writer.Stage(i, dead)
		}, batches, stored)
	})
	g.Go(func() error {
		deadSenders.Wait()
		close(dead)
		return nil
	})

	g.Go(func() error { return pipeline.RunSink(ctx, 1, Cache(p.Orders, m.Cache), stored) })
	g.Go(func() error { return p.DeadLetters.Run(ctx, dead) })
	return g.Wait()
}
