// Package ingest runs the ingest pipeline as three of orderd's parts (the
// watchers, the stages and the consumer), so that stopping goes in the
// list's reverse order: the consumer stops and commits, the stages drain,
// the watchers stop; past SHUTDOWN_TIMEOUT what is unfinished is abandoned,
// uncommitted. What the pipeline is made of is the daemon's to build. It
// never imports the daemon or the server.
package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/stages/consumer"
)

// Pipeline is what the parts run: made by the daemon once what it needs is
// there.
type Pipeline struct {
	Source   *consumer.KafkaSource
	Ingest   *stages.Ingest
	Commits  *consumer.CommitWatch
	Src      chan stages.Message // Source's output, Ingest's input
	InFlight *pipeline.InFlight
}

// ingestRun is the pipeline, shared by its three parts. It is built once
// what it needs is there; until then the parts wait, and stopping ends the
// wait.
type ingestRun struct {
	build           func(ctx context.Context) (*Pipeline, error)
	die             func(error)
	log             zerolog.Logger
	shutdownTimeout time.Duration
	topic, group    string

	// work lives until the stages have drained; it is cancelled early
	// only by SHUTDOWN_TIMEOUT (abandon). consume, within it, lives until
	// the consumer stops, and bounds the wait for the pipeline's
	// dependencies too: once stopping begins nothing is built any more.
	work, consume        context.Context
	abandon, endConsume  context.CancelFunc
	stopOnce, reportOnce sync.Once
	deadline             *time.Timer // SHUTDOWN_TIMEOUT, armed when stopping begins
	reported             bool        // a source or stage stopped by itself and stopped orderd

	built chan struct{} // closed once built, or once stopping began before it was
	p     *Pipeline     // set before built closes; nil if stopping began first
}

// Parts are the ingest pipeline as parts: the watchers, the stages
// and the consumer, listed so that stopping goes in the reverse order:
//  1. consumer: stop reading from Kafka. Each partition waits up to
//     DRAIN_TIMEOUT for its messages in flight, then the session commits
//     what was marked and the source closes the stages' input.
//  2. stages: they drain; the batcher flushes, the last batches are written
//     and acked, the dead-letter stage publishes what is left.
//  3. watchers: the commit watch, which reads the consumer's marks and
//     errors, stops once the stages have drained.
//
// Past SHUTDOWN_TIMEOUT from the consumer's stop, what the stages have not
// finished is abandoned: it stays uncommitted and is consumed again at the
// next start. A consumer or stages that stop by themselves stop orderd,
// through die.
//
// build makes the pipeline once what it needs is there, or fails when ctx
// ends first: stopping began.
func Parts(build func(ctx context.Context) (*Pipeline, error), die func(error), log zerolog.Logger, cfg config.Config) []parts.Part {
	r := &ingestRun{build: build, die: die, log: log, shutdownTimeout: cfg.ShutdownTimeout, topic: cfg.KafkaTopic, group: cfg.KafkaGroup,
		built: make(chan struct{})}
	r.work, r.abandon = context.WithCancel(context.Background())
	r.consume, r.endConsume = context.WithCancel(r.work)
	return []parts.Part{r.watchersPart(), r.stagesPart(), r.consumerPart()}
}

// watchersPart builds the pipeline once what it needs is there, then runs
// the commit watch until stopped.
func (r *ingestRun) watchersPart() parts.Part {
	bg := parts.NewBackground()
	return parts.Part{
		Name: "pipeline watchers",
		Start: func() error {
			bg.Go(func(ctx context.Context) {
				p, err := r.build(r.consume)
				if err == nil {
					r.p = p
				}
				close(r.built)
				if err != nil {
					return // stopped before what the pipeline needs was there
				}
				r.p.Commits.Run(ctx)
			})
			return nil
		},
		Stop: func() error {
			r.stopping() // already, unless the consumer never started
			bg.Stop()
			return nil
		},
	}
}

// stagesPart runs the stages on what the consumer reads. Once they have
// drained, there is nothing left to abandon.
func (r *ingestRun) stagesPart() parts.Part {
	return r.runPart("stages", "pipeline stopped",
		func() error { return r.p.Ingest.Run(r.work, r.p.Src) },
		func() {
			r.deadline.Stop()
			r.abandon() // releases work's context: everything on it has ended
		})
}

// consumerPart consumes the orders topic into the stages.
func (r *ingestRun) consumerPart() parts.Part {
	return r.runPart("consumer", "consumer stopped", func() error {
		r.log.Info().Str("topic", r.topic).Str("group", r.group).Msg("consuming")
		return r.p.Source.Run(r.consume)
	}, func() {})
}

// runPart is a part that calls run once the pipeline is built (not at all
// if stopping began first). Its stop begins stopping the pipeline, waits for
// run to return, then calls stopped. If run returns before stopping began,
// orderd stops, with what as the reason.
func (r *ingestRun) runPart(name, what string, run func() error, stopped func()) parts.Part {
	done := make(chan error, 1)
	return parts.Part{
		Name: name,
		Start: func() error {
			go func() {
				<-r.built
				if r.p == nil {
					done <- nil
					return
				}
				done <- r.stoppedBy(run(), what)
			}()
			return nil
		},
		Stop: func() error {
			r.stopping()
			err := <-done
			stopped()
			return err
		},
	}
}

// stopping begins stopping the pipeline, once: the consumer stops reading,
// and SHUTDOWN_TIMEOUT starts counting.
func (r *ingestRun) stopping() {
	r.stopOnce.Do(func() {
		r.deadline = time.AfterFunc(r.shutdownTimeout, func() {
			<-r.built // at once: building stops when consuming does
			ev := r.log.Error().Stringer("shutdown_timeout", r.shutdownTimeout)
			if r.p != nil {
				ev = ev.Int("messages_in_flight", r.p.InFlight.Len()).Int64("bytes_in_flight", r.p.InFlight.Bytes())
			}
			ev.Msg("shutdown timed out; abandoning unfinished work, which stays uncommitted and is consumed again")
			r.abandon()
		})
		r.endConsume()
	})
}

// stoppedBy is what the consumer's or the stages' stop returns, given
// what their Run returned. Ending before stopping began stops orderd,
// and the first to do so is its reason; it is not reported again.
func (r *ingestRun) stoppedBy(err error, what string) error {
	first := false
	r.reportOnce.Do(func() {
		if r.consume.Err() == nil {
			r.reported, first = true, true
		}
	})
	switch {
	case first:
		r.die(fmt.Errorf("%s: %w", what, err))
		return nil
	case r.reported:
		return nil // already the reason orderd stops
	}
	return err
}
