package daemon

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/daemon/ingest"
	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/stats"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/stages/consumer"
	"github.com/orderd/orderd/stages/deadletter"
)

// commitGrace is how long an offset marked for commit may take to reach the
// broker before the commits component says they fail: five auto-commit
// intervals.
const commitGrace = 5 * time.Second

// pipelineParts are the ingest pipeline's parts (see ingest.Parts).
func (d *daemon) pipelineParts() []parts.Part {
	return ingest.Parts(d.buildPipeline, d.die, d.log, d.cfg)
}

// buildPipeline waits for Kafka, the store, the read path and the
// dead-letter reader, then makes the pipeline of them. It fails only when
// ctx ends first.
func (d *daemon) buildPipeline(ctx context.Context) (*ingest.Pipeline, error) {
	kafka, err := d.kafka.Wait(ctx)
	if err != nil {
		return nil, err
	}
	store, err := d.store.Wait(ctx)
	if err != nil {
		return nil, err
	}
	orders, err := d.reads.Wait(ctx)
	if err != nil {
		return nil, err
	}
	dead, err := d.dead.Wait(ctx)
	if err != nil {
		return nil, err
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
		Group:        kafka.Group,
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
		Tracing: d.tracing.Stages(cfg.KafkaGroup),
	}
	ingested := &stages.Ingest{
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
		DeadLetters: &deadletter.DeadLetters{
			Producer: kafka.DLQ, Topic: cfg.KafkaDLQTopic, MaxRecordBytes: kafka.DLQMaxRecord, Health: d.dlqHealth,
			Log: d.component("dlq"), Metrics: d.metrics.DeadLetters, Retry: d.backoff(), MaxBatch: 256,
		},
		Metrics: d.metrics,
		Loops:   d.loops,
	}
	commits := &consumer.CommitWatch{
		Errors: kafka.Group.Errors(), Committed: kafka.Committed(cfg.KafkaGroup, cfg.KafkaTopic), Marks: marks,
		Topic: cfg.KafkaTopic, Group: cfg.KafkaGroup, Grace: commitGrace,
		Health: d.commits, Log: d.component("commits"), Metrics: d.metrics,
	}
	d.stats.Set(&stats.Source{Store: store, Orders: orders, Metrics: d.metrics, Reader: dead.Reader, InFlight: inFlight, Ring: d.history})
	return &ingest.Pipeline{Source: source, Ingest: ingested, Commits: commits, Src: src, InFlight: inFlight}, nil
}
