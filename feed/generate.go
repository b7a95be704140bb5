package feed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// Options says what Generate publishes.
type Options struct {
	// Count is how many messages to publish; 0 means until ctx ends.
	Count int
	// Rate is messages per second; 0 means as fast as Kafka takes them.
	Rate float64
	// Broken is the share of messages that are not valid orders (0 to 1).
	Broken float64
	// Duplicates is the share of messages that re-publish an earlier valid
	// order unchanged, as a retrying producer would (0 to 1).
	Duplicates float64
	// Seed makes a run repeatable.
	Seed uint64
}

// Stats counts what Generate published, by kind.
type Stats struct {
	Valid, Broken, Duplicates int
}

// Total is every message published.
func (s Stats) Total() int { return s.Valid + s.Broken + s.Duplicates }

type sent struct{ key, value []byte }

// recentForDuplicates is how many recent valid orders a duplicate is drawn
// from.
const recentForDuplicates = 64

// Generate publishes generated orders through p as opts says, and returns
// what it published. With Count 0 it runs until ctx ends and returns nil;
// otherwise an early end of ctx is an error.
func Generate(ctx context.Context, p *Publisher, opts Options) (Stats, error) {
	if opts.Broken < 0 || opts.Duplicates < 0 || opts.Broken+opts.Duplicates > 1 {
		return Stats{}, fmt.Errorf("generate: broken (%v) and duplicate (%v) shares must be non-negative and add up to at most 1",
			opts.Broken, opts.Duplicates)
	}
	gen := orderfake.New(opts.Seed)
	dice := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	var (
		stats  Stats
		recent []sent
		start  = time.Now()
	)
	for i := 0; opts.Count == 0 || i < opts.Count; i++ {
		if opts.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / opts.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return stats, endErr(ctx, opts)
				}
			}
		}
		var (
			msg   sent
			count *int
		)
		roll := dice.Float64()
		switch {
		case roll < opts.Broken:
			payload, _ := gen.Broken()
			msg, count = sent{value: payload}, &stats.Broken
		case roll < opts.Broken+opts.Duplicates && len(recent) > 0:
			msg, count = recent[dice.IntN(len(recent))], &stats.Duplicates
		default:
			o := gen.Order()
			msg, count = sent{key: []byte(o.OrderUID), value: order.AppendJSON(nil, &o)}, &stats.Valid
			if len(recent) < recentForDuplicates {
				recent = append(recent, msg)
			} else {
				recent[dice.IntN(recentForDuplicates)] = msg
			}
		}
		if err := p.Send(ctx, msg.key, msg.value); err != nil {
			return stats, endErr(ctx, opts)
		}
		*count++
	}
	return stats, nil
}

func endErr(ctx context.Context, opts Options) error {
	if opts.Count == 0 {
		return nil
	}
	return fmt.Errorf("generate: stopped early: %w", ctx.Err())
}
