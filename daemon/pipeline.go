package daemon

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/stats"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
)

// commitGrace is how long an offset marked for commit may take to reach the
// broker before the commits component says they fail: five auto-commit
// intervals.
const commitGrace = 5 * time.Second

// ingestRun is the ingest pipeline, shared by its three parts. It is built
// once Kafka, the store, the read path and the dead-letter reader are there;
// until then the parts wait, and stopping ends the wait.
type ingestRun struct {
	d *daemon

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
	// Set before built closes; nil if stopping began first.
	source   *stages.KafkaSource
	ingest   *stages.Ingest
	commits  *stages.CommitWatch
	src      chan stages.Message
	inFlight *pipeline.InFlight
}

// pipelineParts are the ingest pipeline as parts: the watchers, the stages
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
// next start. A consumer or stages that stop by themselves stop orderd.
func (d *daemon) pipelineParts() []parts.Part {
	r := &ingestRun{d: d, built: make(chan struct{})}
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
				err := r.build()
				close(r.built)
				if err != nil {
					return // stopped before Kafka, the store or the read path were reached
				}
				r.commits.Run(ctx)
			})
			return nil
		},
		Stop: func() error {
			r.stopping() // already, unless the consumer never started
			bg.Stop()
			r.abandon() // releases work's context; everything on it has ended
			return nil
		},
	}
}

// stagesPart runs the stages on what the consumer reads. Once they have
// drained, there is nothing left to abandon.
func (r *ingestRun) stagesPart() parts.Part {
	return r.runPart("stages", "pipeline stopped",
		func() error { return r.ingest.Run(r.work, r.src) },
		func() { r.deadline.Stop() })
}

// consumerPart consumes the orders topic into the stages.
func (r *ingestRun) consumerPart() parts.Part {
	return r.runPart("consumer", "consumer stopped", func() error {
		cfg := r.d.cfg
		r.d.log.Info().Str("topic", cfg.KafkaTopic).Str("group", cfg.KafkaGroup).Msg("consuming")
		return r.source.Run(r.consume)
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
				if r.source == nil {
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
		cfg := r.d.cfg
		r.deadline = time.AfterFunc(cfg.ShutdownTimeout, func() {
			<-r.built // at once: building stops when consuming does
			ev := r.d.log.Error().Stringer("shutdown_timeout", cfg.ShutdownTimeout)
			if r.inFlight != nil {
				ev = ev.Int("messages_in_flight", r.inFlight.Len()).Int64("bytes_in_flight", r.inFlight.Bytes())
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
		r.d.die(fmt.Errorf("%s: %w", what, err))
		return nil
	case r.reported:
		return nil // already the reason orderd stops
	}
	return err
}

// build waits for Kafka, the store, the read path and the dead-letter
// reader, then makes the pipeline of them. It fails only when stopping
// began first.
func (r *ingestRun) build() error {
	d, ctx := r.d, r.consume
	kafka, err := d.kafka.Wait(ctx)
	if err != nil {
		return err
	}
	store, err := d.store.Wait(ctx)
	if err != nil {
		return err
	}
	orders, err := d.reads.Wait(ctx)
	if err != nil {
		return err
	}
	dead, err := d.dead.Wait(ctx)
	if err != nil {
		return err
	}
	cfg := d.cfg

	r.src = make(chan stages.Message, 256)
	inFlight := pipeline.NewInFlight(cfg.MaxInFlight, int64(cfg.MaxInFlightMB)<<20)
	r.inFlight = inFlight
	d.prom.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orderd_pipeline_in_flight",
		Help: "Messages inside the pipeline; the consumer pauses at MAX_IN_FLIGHT.",
	}, func() float64 { return float64(inFlight.Len()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orderd_pipeline_in_flight_bytes",
		Help: "Bytes of memory the messages inside the pipeline hold (raw, decoded, encoded); the consumer pauses at MAX_IN_FLIGHT_MB.",
	}, func() float64 { return float64(inFlight.Bytes()) }))
	marks := stages.NewMarks()
	r.source = &stages.KafkaSource{
		Group:        kafka.Group,
		Topics:       []string{cfg.KafkaTopic},
		Out:          r.src,
		InFlight:     inFlight,
		Marks:        marks,
		MaxAhead:     cfg.MaxPartitionAhead,
		DrainTimeout: cfg.DrainTimeout,
		Retry: d.kafkaHealth.Retry(stages.Work{
			Cause:   stages.RetryKafka,
			What:    "consuming " + cfg.KafkaTopic,
			Failing: "consumer group session failed",
			Healed:  "consuming again",
		}, d.backoff(), stages.IsClosed),
		Log:     d.component("consumer"),
		Metrics: d.metrics,
		Tracing: d.tracing.Stages(cfg.KafkaGroup),
	}
	r.ingest = &stages.Ingest{
		Workers:         cfg.Workers,
		MaxMessageBytes: cfg.MaxMessageBytes,
		BatchSize:       cfg.BatchSize,
		BatchLinger:     cfg.BatchLinger,
		Writers:         cfg.Writers,
		Writer: &stages.Writer{
			Store: store, Health: d.writerHealth, Log: d.component("writer"), Metrics: d.metrics, Retry: d.backoff(),
			Tracing: d.tracing.Stages(cfg.KafkaGroup),
		},
		Orders: orders,
		DeadLetters: &stages.DeadLetters{
			Producer: kafka.DLQ, Topic: cfg.KafkaDLQTopic, MaxRecordBytes: kafka.DLQMaxRecord, Health: d.dlqHealth,
			Log: d.component("dlq"), Metrics: d.metrics, Retry: d.backoff(), MaxBatch: 256,
		},
		Metrics: d.metrics,
		Loops:   d.loops,
	}
	r.commits = &stages.CommitWatch{
		Errors: kafka.Group.Errors(), Committed: kafka.Committed(cfg.KafkaGroup, cfg.KafkaTopic), Marks: marks,
		Topic: cfg.KafkaTopic, Group: cfg.KafkaGroup, Grace: commitGrace,
		Health: d.commits, Log: d.component("commits"), Metrics: d.metrics,
	}
	d.stats.Set(&stats.Source{Store: store, Orders: orders, Metrics: d.metrics, Reader: dead.Reader, InFlight: inFlight, Ring: d.history})
	return nil
}
