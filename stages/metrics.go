package stages

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/stages/deadletter"
	"github.com/orderd/orderd/storage"
)

// Metrics are the ingest pipeline's Prometheus metrics. Everything a stage
// touches per message is bound to its labels up front, so the hot path does
// an atomic add and no label lookup.
type Metrics struct {
	consumed *prometheus.CounterVec
	lag      *prometheus.GaugeVec

	Decode, Validate, Write, Cache StageCounters
	DeadLetters                    *deadletter.Metrics

	batchSize     prometheus.Histogram
	batchDuration prometheus.Histogram
	stored        [storage.Refused + 1]prometheus.Counter // by storage outcome; set for Inserted and Duplicate
	retries       *prometheus.CounterVec
	// commitFailures counts errors after which the partition's marked
	// offset still had not reached the broker (see consumer.CommitWatch).
	commitFailures prometheus.Counter

	queues atomic.Pointer[[]queue]

	// What the stats getters read: counters the stages own, kept beside
	// the Prometheus series, which are for scraping, not for reading back.
	inserted atomic.Int64
	lagMu    sync.Mutex
	lags     map[int32]*atomic.Int64 // by claimed partition
}

// queue is a channel in front of a stage, measured when scraped.
type queue struct {
	stage  string
	length func() int
}

// StageCounters count what one stage received, passed on and condemned,
// and how many of the condemned made it panic.
type StageCounters struct {
	In, Out, Dead, Panics prometheus.Counter
}

// NewMetrics creates the pipeline's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderd_kafka_messages_consumed_total",
			Help: "Messages consumed from the orders topic, by partition.",
		}, []string{"partition"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orderd_kafka_consumer_lag",
			Help: "Messages of a claimed partition not yet finished: its high-water mark minus the offset marked for commit.",
		}, []string{"partition"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderd_write_batch_size",
			Help:    "Orders per PostgreSQL transaction.",
			Buckets: []float64{1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000},
		}),
		batchDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "orderd_write_batch_duration_seconds",
			Help:    "Time to store one batch, commit included, retries excluded.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1ms to 8s
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderd_retries_total",
			Help: "Retries after a transient failure, by cause.",
		}, []string{"cause"}),
	}
	stageIn := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_stage_received_total",
		Help: "Messages a stage received.",
	}, []string{"stage"})
	stageOut := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_stage_sent_total",
		Help: "Messages a stage passed on, by where to: next (the following stage) or dead_letter.",
	}, []string{"stage", "to"})
	panics := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_panics_total",
		Help: "Messages that made a stage panic; each was dead-lettered as internal_error, its stack logged.",
	}, []string{"stage"})
	stage := func(name string) StageCounters {
		return StageCounters{
			In:     stageIn.WithLabelValues(name),
			Out:    stageOut.WithLabelValues(name, "next"),
			Dead:   stageOut.WithLabelValues(name, "dead_letter"),
			Panics: panics.WithLabelValues(name),
		}
	}
	m.Decode, m.Validate, m.Write, m.Cache = stage("decode"), stage("validate"), stage("write"), stage("cache")
	deadLetter := stage("dead_letter")
	m.DeadLetters = deadletter.NewMetrics(reg, deadLetter.In, deadLetter.Out, m)

	stored := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_orders_stored_total",
		Help: "Orders the writer saved, by outcome: inserted (new) or duplicate (an identical redelivery).",
	}, []string{"outcome"})
	for _, o := range []storage.Outcome{storage.Inserted, storage.Duplicate} {
		m.stored[o] = stored.WithLabelValues(o.String())
	}
	m.lags = map[int32]*atomic.Int64{}
	m.commitFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_kafka_commit_failures_total",
		Help: "Consumer-group errors after which the partition's marked offset was still not committed: failed offset commits.",
	})
	for _, cause := range []string{health.RetryStore, health.RetryDeadLetter, health.RetryKafka, health.RetryWarmUp, health.RetryConnect, health.RetryFill} {
		m.retries.WithLabelValues(cause) // export zeros, so rate() works from the start
	}

	f(m.consumed)
	f(m.commitFailures)
	f(m.lag)
	f(stageIn)
	f(stageOut)
	f(m.batchSize)
	f(m.batchDuration)
	f(stored)
	f(panics)
	f(m.retries)
	f(queueCollector{m})
	return m
}

var queueDesc = prometheus.NewDesc("orderd_stage_queue_length",
	"Messages waiting in the channel in front of a stage.", []string{"stage"}, nil)

// queueCollector reports the lengths of the pipeline's channels when
// scraped, so measuring them costs the hot path nothing.
type queueCollector struct{ m *Metrics }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	qs := c.m.queues.Load()
	if qs == nil {
		return
	}
	for _, q := range *qs {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(q.length()), q.stage)
	}
}

// watchQueues makes the collector report qs until the next call.
func (m *Metrics) watchQueues(qs []queue) { m.queues.Store(&qs) }

// CommitFailed counts a consumer-group error after which the partition's
// marked offset was still not committed.
func (m *Metrics) CommitFailed() { m.commitFailures.Inc() }

// Retry counts one retry for cause.
func (m *Metrics) Retry(cause string) { m.retries.WithLabelValues(cause).Inc() }

// PartitionSeries are the series of one claimed partition.
type PartitionSeries struct {
	Consumed prometheus.Counter
	lagGauge prometheus.Gauge
	lag      *atomic.Int64 // what Lag sums
}

// SetLag records the partition's lag.
func (p PartitionSeries) SetLag(n int64) {
	p.lagGauge.Set(float64(n))
	p.lag.Store(n)
}

// Partition returns the per-partition series of one claim.
func (m *Metrics) Partition(p int32) PartitionSeries {
	label := strconv.FormatInt(int64(p), 10)
	lag := new(atomic.Int64)
	m.lagMu.Lock()
	m.lags[p] = lag
	m.lagMu.Unlock()
	return PartitionSeries{Consumed: m.consumed.WithLabelValues(label), lagGauge: m.lag.WithLabelValues(label), lag: lag}
}

// ForgetPartition removes a released partition's lag, which this replica no
// longer knows.
func (m *Metrics) ForgetPartition(p int32) {
	m.lagMu.Lock()
	delete(m.lags, p)
	m.lagMu.Unlock()
	m.lag.DeleteLabelValues(strconv.FormatInt(int64(p), 10))
}

// countStored counts one order the writer saved.
func (m *Metrics) countStored(o storage.Outcome) {
	m.stored[o].Inc()
	if o == storage.Inserted {
		m.inserted.Add(1)
	}
}

// Inserted is how many new orders the writer has stored since start.
func (m *Metrics) Inserted() int64 { return m.inserted.Load() }

// DeadLettered is how many messages were dead-lettered since start, by
// reason.
func (m *Metrics) DeadLettered() map[dlq.Reason]int64 {
	return m.DeadLetters.DeadLettered()
}

// Lag is the consumer lag summed over the partitions claimed now.
func (m *Metrics) Lag() int64 {
	m.lagMu.Lock()
	defer m.lagMu.Unlock()
	var sum int64
	for _, lag := range m.lags {
		sum += lag.Load()
	}
	return sum
}
