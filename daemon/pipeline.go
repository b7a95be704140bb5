package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/stages/consumer"
	"github.com/orderd/orderd/stages/deadletter"
)

// pipelinePart consumes the orders topic into the ingest pipeline once
// Kafka, the store and the read path are there. Stopping it stops
// consuming, drains and commits.
func (d *daemon) pipelinePart() part {
	bg := newBackground()
	var stopErr error
	return part{
		name: "pipeline",
		start: func() error {
			bg.goRun(func(ctx context.Context) { stopErr = d.runPipeline(ctx) })
			return nil
		},
		stop: func() error {
			bg.stop()
			return stopErr
		},
	}
}

// commitGrace is how long an offset marked for commit may take to reach the
// broker before the commits component says they fail: five auto-commit
// intervals.
const commitGrace = 5 * time.Second

// runPipeline runs the Kafka source and the stages until ctx ends or one of
// them fails (which stops orderd), then stops them in order and returns what
// went wrong while stopping.
func (d *daemon) runPipeline(ctx context.Context) error {
	kafka, err := d.kafka.wait(ctx)
	if err != nil {
		return nil // stopped before Kafka was reached
	}
	store, err := d.store.wait(ctx)
	if err != nil {
		return nil
	}
	orders, err := d.reads.wait(ctx)
	if err != nil {
		return nil
	}
	dead, err := d.dead.wait(ctx)
	if err != nil {
		return nil
	}
	cfg := d.cfg

	src := make(chan stages.Message, 256)
	inFlight := pipeline.NewInFlight(cfg.MaxInFlight, int64(cfg.MaxInFlightMB)<<20)
	d.prom.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orderd_pipeline_in_flight",
		Help: "Messages inside the pipeline; the consumer pauses at MAX_IN_FLIGHT.",
	}, func() float64 { return float64(inFlight.Len()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orderd_pipeline_in_flight_bytes",
		Help: "Bytes of memory the messages inside the pipeline hold (raw, decoded, encoded); the consumer pauses at MAX_IN_FLIGHT_MB.",
	}, func() float64 { return float64(inFlight.Bytes()) }))
	marks := consumer.NewMarks()
	source := &consumer.KafkaSource{
		Group:        kafka.group,
		Topics:       []string{cfg.KafkaTopic},
		Out:          src,
		InFlight:     inFlight,
		Marks:        marks,
		MaxAhead:     cfg.MaxPartitionAhead,
		DrainTimeout: cfg.DrainTimeout,
		Retry: d.kafkaHealth.Retry(health.Work{
			Cause:   health.RetryKafka,
			What:    "consuming " + cfg.KafkaTopic,
			Failing: "consumer group session failed",
			Healed:  "consuming again",
		}, d.backoff(), consumer.IsClosed),
		Log:     d.component("consumer"),
		Metrics: d.metrics,
		Tracing: d.tracing.stages(cfg.KafkaGroup),
	}
	ingest := &stages.Ingest{
		Workers:         cfg.Workers,
		MaxMessageBytes: cfg.MaxMessageBytes,
		BatchSize:       cfg.BatchSize,
		BatchLinger:     cfg.BatchLinger,
		Writers:         cfg.Writers,
		Writer: &stages.Writer{
			Store: store, Health: d.writerHealth, Log: d.component("writer"), Metrics: d.metrics, Retry: d.backoff(),
			Tracing: d.tracing.stages(cfg.KafkaGroup),
		},
		Orders: orders,
		DeadLetters: &deadletter.DeadLetters{
			Producer: kafka.dlq, Topic: cfg.KafkaDLQTopic, MaxRecordBytes: kafka.dlqMaxRecord, Health: d.dlqHealth,
			Log: d.component("dlq"), Metrics: d.metrics.DeadLetters, Retry: d.backoff(), MaxBatch: 256,
		},
		Metrics: d.metrics,
		Loops:   d.loops,
	}
	commits := &consumer.CommitWatch{
		Errors: kafka.group.Errors(), Committed: kafka.committed(cfg.KafkaGroup, cfg.KafkaTopic), Marks: marks,
		Topic: cfg.KafkaTopic, Group: cfg.KafkaGroup, Grace: commitGrace,
		Health: d.commits, Log: d.component("commits"), Metrics: d.metrics,
	}
	statsSrc := &statsSource{store: store, orders: orders, metrics: d.metrics, reader: dead.Reader, inFlight: inFlight}
	// The watchers read the pipeline's counters and marks; they stop once
	// it has drained.
	var watchers sync.WaitGroup
	watching, stopWatching := context.WithCancel(context.Background())
	watchers.Go(func() { statsSrc.sampleRate(watching) })
	watchers.Go(func() { commits.Run(watching) })
	d.stats.set(statsSrc)

	// work lives until the pipeline has drained; it is cancelled early only
	// by SHUTDOWN_TIMEOUT. consume lives until stopping begins.
	work, abandonWork := context.WithCancel(context.Background())
	defer abandonWork()
	consume, stopConsuming := context.WithCancel(work)
	defer stopConsuming()
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- ingest.Run(work, src) }()
	sourceDone := make(chan error, 1)
	go func() { sourceDone <- source.Run(consume) }()
	d.log.Info().Str("topic", cfg.KafkaTopic).Str("group", cfg.KafkaGroup).Msg("consuming")

	var (
		sourceErr, ingestErr         error
		sourceStopped, ingestStopped bool
	)
	select {
	case <-ctx.Done():
	case sourceErr = <-sourceDone:
		sourceStopped = true
		d.die(fmt.Errorf("consumer stopped: %w", sourceErr))
	case ingestErr = <-ingestDone:
		ingestStopped = true
		d.die(fmt.Errorf("pipeline stopped: %w", ingestErr))
	}

	// Stopping, in this order. Past SHUTDOWN_TIMEOUT the pipeline is
	// abandoned: what it had not finished stays uncommitted and is consumed
	// again at the next start.
	deadline := time.AfterFunc(cfg.ShutdownTimeout, func() {
		d.log.Error().Stringer("shutdown_timeout", cfg.ShutdownTimeout).
			Int("messages_in_flight", inFlight.Len()).Int64("bytes_in_flight", inFlight.Bytes()).
			Msg("shutdown timed out; abandoning unfinished work, which stays uncommitted and is consumed again")
		abandonWork()
	})
	defer deadline.Stop()
	// 1. Stop reading from Kafka. Each partition waits up to DRAIN_TIMEOUT
	//    for its messages in flight, then the session commits what was
	//    marked and the source closes the pipeline's input.
	d.log.Info().Msg("stopping consumer")
	stopConsuming()
	if !sourceStopped {
		sourceErr = <-sourceDone
	}
	d.log.Info().Msg("consumer stopped")
	// 2. The stages drain: the batcher flushes, the last batches are
	//    written and acked, the dead-letter stage publishes what is left.
	d.log.Info().Msg("draining the stages")
	if !ingestStopped {
		ingestErr = <-ingestDone
	}
	d.log.Info().Msg("stages drained")
	// 3. The watchers: the stats sampler and the commit watch.
	stopWatching()
	watchers.Wait()
	if sourceStopped || ingestStopped {
		return nil // already reported as the reason orderd stopped
	}
	return errors.Join(sourceErr, ingestErr)
}
