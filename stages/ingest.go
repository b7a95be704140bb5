package stages

import (
	"context"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages/deadletter"
	"github.com/orderd/orderd/storage/reads"
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
	// holds BatchSize orders, or when its first order has waited
	// BatchLinger and its writer is free; while the writer is busy, it
	// goes on filling up to BatchSize.
	BatchSize   int
	BatchLinger time.Duration
	// Writers is how many batches are written concurrently, each on its
	// own connection and transaction.
	Writers int

	Writer      *Writer
	Orders      *reads.Orders
	DeadLetters *deadletter.DeadLetters
	Metrics     *Metrics
	// Loops, if set, watches the decode, validate, write and cache
	// workers for GET /livez.
	Loops *health.Loops
}

// channelBuffer is the slack between two stages. It only smooths hand-offs:
// the in-flight limit, not these buffers, bounds the work in the pipeline.
const channelBuffer = 256

// Run processes messages from src until src is closed and everything taken
// from it is stored or dead-lettered, then returns nil. If ctx ends first,
// the stages stop where they are and whatever is unfinished stays
// uncommitted.
//
// Work is spread so that order is kept where it matters: every message of a
// partition goes through one chain of decode and validate (Workers chains),
// and every order_uid through one batcher and writer (Writers of them), each
// first in, first out. So of two versions of one order consumed one after
// the other, the first is the one stored and the second is a conflict,
// however the workers and writers interleave; with one pool of workers and
// writers a later version could commit first.
func (p *Ingest) Run(ctx context.Context, src <-chan Message) error {
	workers, writers := max(p.Workers, 1), max(p.Writers, 1)
	var (
		chains  = channels[Message](workers)
		decoded = channels[Decoded](workers)
		valid   = channels[Valid](workers)
		shards  = channels[Valid](writers)
		batches = make([]chan []Valid, writers)
		stored  = make(chan Valid, channelBuffer)
		dead    = make(chan Dead, channelBuffer)
	)
	for j := range batches {
		// Unbuffered, so that a batch goes on filling while its writer is
		// in a transaction (see pipeline.Batch): under a backlog the writer
		// then gets BatchSize orders a transaction, not a queue of batches
		// cut at each BatchLinger.
		batches[j] = make(chan []Valid)
	}
	m := p.Metrics
	m.watchQueues([]queue{
		{"decode", func() int { return len(src) + lengths(chains) }},
		{"validate", func() int { return lengths(decoded) }},
		{"batch", func() int { return lengths(valid) + lengths(shards) }},
		{"write", func() int { return lengths(batches) }},
		{"cache", func() int { return len(stored) }},
		{"dead_letter", func() int { return len(dead) }},
	})
	defer m.watchQueues(nil)
	newDecoder := p.NewDecoder
	if newDecoder == nil {
		newDecoder = func() Decoder { return order.NewDecoder() }
	}

	// Every stage but the batcher and the cache sends to dead, so the
	// dead-letter stage drains everything they condemned before its input
	// closes.
	var (
		fan         pipeline.Fan
		toDead      = pipeline.Out(dead)
		toShards    = pipeline.Out(shards...)
		toStored    = pipeline.Out(stored)
		byPartition = func(msg Message) uint64 { return uint64(msg.Src.Partition) }
	)
	fan.Go(func(ctx context.Context) error { return pipeline.Route(ctx, src, chains, byPartition) }, pipeline.Out(chains...))
	for i := range workers {
		decode := Decode(p.MaxMessageBytes, newDecoder, dead, m.Decode, p.Loops.Loop(fmt.Sprintf("decode/%d", i)))
		fan.Go(func(ctx context.Context) error { return decode(ctx, chains[i], decoded[i]) }, pipeline.Out(decoded[i]), toDead)
		validate := Validate(dead, m.Validate, p.Loops.Loop(fmt.Sprintf("validate/%d", i)))
		fan.Go(func(ctx context.Context) error { return validate(ctx, decoded[i], valid[i]) }, pipeline.Out(valid[i]), toDead)
		fan.Go(func(ctx context.Context) error { return pipeline.Route(ctx, valid[i], shards, byOrderUID) }, toShards)
	}
	for j := range writers {
		batch := pipeline.Batch[Valid](p.BatchSize, p.BatchLinger)
		fan.Go(func(ctx context.Context) error { return batch(ctx, shards[j], batches[j]) }, pipeline.Out(batches[j]))
		write := p.Writer.Stage(j, dead, p.Loops.Loop(fmt.Sprintf("write/%d", j)))
		fan.Go(func(ctx context.Context) error { return write(ctx, batches[j], stored) }, toStored, toDead)
	}
	cache := Cache(p.Orders, m.Cache, p.Loops.Loop("cache"))
	fan.Go(func(ctx context.Context) error { return cache(ctx, stored) })
	fan.Go(func(ctx context.Context) error { return p.DeadLetters.Run(ctx, dead) })
	return fan.Run(ctx)
}

// byOrderUID routes a valid order by its order_uid.
func byOrderUID(v Valid) uint64 { return maphash.String(uidSeed, v.Value.Order.OrderUID) }

var uidSeed = maphash.MakeSeed()

func channels[T any](n int) []chan T {
	cs := make([]chan T, n)
	for i := range cs {
		cs[i] = make(chan T, channelBuffer)
	}
	return cs
}

func lengths[T any](cs []chan T) int {
	n := 0
	for _, c := range cs {
		n += len(c)
	}
	return n
}
