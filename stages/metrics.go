package stages

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/storage"
)

// Metrics are the ingest pipeline's Prometheus metrics. Everything a stage
// touches per message is bound to its labels up front, so the hot path does
// an atomic add and no label lookup.
type Metrics struct {
	consumed *prometheus.CounterVec
	lag      *prometheus.GaugeVec

	Decode, Validate, Write, Cache, DeadLetter StageCounters

	batchSize     prometheus.Histogram
	batchDuration prometheus.Histogram
	stored        [storage.Refused + 1]*counted // by storage outcome; set for Inserted and Duplicate
	deadLettered  map[dlq.Reason]*counted
	truncated     prometheus.Counter
	retries       *prometheus.CounterVec
	// commitFailures counts errors after which the partition's marked
	// offset still had not reached the broker (see CommitWatch).
	commitFailures prometheus.Counter

	queues atomic.Pointer[[]queue]

	lagsMu sync.Mutex
	lags   map[int32]*lagGauge // the claimed partitions' lag, for Lag
}

// counted is a Prometheus counter that keeps its count in an atomic too,
// which Inserted and DeadLettered read: the stats are the stages' own
// counts, not values read back out of Prometheus.
type counted struct {
	prometheus.Counter
	n atomic.Int64
}

func (c *counted) Inc() { c.Counter.Inc(); c.n.Add(1) }

func (c *counted) Add(v float64) { c.Counter.Add(v); c.n.Add(int64(v)) }

// lagGauge is a partition's lag gauge, keeping its value in an atomic too,
// which Lag sums.
type lagGauge struct {
	prometheus.Gauge
	v atomic.Int64
}

func (g *lagGauge) Set(v float64) { g.Gauge.Set(v); g.v.Store(int64(v)) }

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
	m.Decode, m.Validate, m.Write, m.Cache, m.DeadLetter = stage("decode"), stage("validate"), stage("write"), stage("cache"), stage("dead_letter")

	stored := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_orders_stored_total",
		Help: "Orders the writer saved, by outcome: inserted (new) or duplicate (an identical redelivery).",
	}, []string{"outcome"})
	for _, o := range []storage.Outcome{storage.Inserted, storage.Duplicate} {
		m.stored[o] = &counted{Counter: stored.WithLabelValues(o.String())}
	}
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_dlq_records_total",
		Help: "Messages published to the dead-letter topic, by reason.",
	}, []string{"reason"})
	m.deadLettered = map[dlq.Reason]*counted{}
	for _, r := range dlq.Reasons {
		m.deadLettered[r] = &counted{Counter: dead.WithLabelValues(string(r))}
	}
	m.commitFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_kafka_commit_failures_total",
		Help: "Consumer-group errors after which the partition's marked offset was still not committed: failed offset commits.",
	})
	m.truncated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_dlq_truncated_total",
		Help: "Dead-letter records whose payload was cut to fit the dead-letter topic (dlq-truncated: true).",
	})
	for _, cause := range []string{RetryStore, RetryDeadLetter, RetryKafka, RetryWarmUp, RetryConnect, RetryFill} {
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
	f(dead)
	f(m.truncated)
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

// Retry counts one retry for cause.
func (m *Metrics) Retry(cause string) { m.retries.WithLabelValues(cause).Inc() }

// partition returns the per-partition series of one claim.
func (m *Metrics) partition(p int32) (consumed prometheus.Counter, lag prometheus.Gauge) {
	label := strconv.FormatInt(int64(p), 10)
	g := &lagGauge{Gauge: m.lag.WithLabelValues(label)}
	m.lagsMu.Lock()
	defer m.lagsMu.Unlock()
	if m.lags == nil {
		m.lags = map[int32]*lagGauge{}
	}
	m.lags[p] = g
	return m.consumed.WithLabelValues(label), g
}

// forgetPartition removes a released partition's lag, which this replica no
// longer knows.
func (m *Metrics) forgetPartition(p int32) {
	m.lag.DeleteLabelValues(strconv.FormatInt(int64(p), 10))
	m.lagsMu.Lock()
	defer m.lagsMu.Unlock()
	delete(m.lags, p)
}

// Inserted is how many new orders the writer has stored since start.
func (m *Metrics) Inserted() int64 { return m.stored[storage.Inserted].n.Load() }

// DeadLettered is how many messages were dead-lettered since start, by
// reason.
func (m *Metrics) DeadLettered() map[dlq.Reason]int64 {
	out := make(map[dlq.Reason]int64, len(m.deadLettered))
	for r, c := range m.deadLettered {
		out[r] = c.n.Load()
	}
	return out
}

// Lag is the consumer lag summed over the partitions claimed now.
func (m *Metrics) Lag() int64 {
	m.lagsMu.Lock()
	defer m.lagsMu.Unlock()
	var sum int64
	for _, g := range m.lags {
		sum += g.v.Load()
	}
	return sum
}
