package deadletter

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
)

// Metrics are the dead-letter stage's: what it received and published, the
// records published by reason and those cut to fit, and its retries.
type Metrics struct {
	// In and Out count what the stage received and published: its series
	// of orderd_stage_received_total and orderd_stage_sent_total.
	In, Out prometheus.Counter
	retries health.RetryCounter

	deadLettered map[dlq.Reason]prometheus.Counter
	truncated    prometheus.Counter
	// What DeadLettered reads: counts of the stage's own, not the series
	// read back.
	deadCount map[dlq.Reason]*atomic.Int64
}

// NewMetrics creates the dead-letter stage's metrics and registers those of
// its own with reg; in and out are its stage series, and retries counts its
// failed publishes.
func NewMetrics(reg prometheus.Registerer, in, out prometheus.Counter, retries health.RetryCounter) *Metrics {
	m := &Metrics{In: in, Out: out, retries: retries}
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderd_dlq_records_total",
		Help: "Messages published to the dead-letter topic, by reason.",
	}, []string{"reason"})
	m.deadLettered = map[dlq.Reason]prometheus.Counter{}
	m.deadCount = map[dlq.Reason]*atomic.Int64{}
	for _, r := range dlq.Reasons {
		m.deadLettered[r] = dead.WithLabelValues(string(r))
		m.deadCount[r] = new(atomic.Int64)
	}
	m.truncated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_dlq_truncated_total",
		Help: "Dead-letter records whose payload was cut to fit the dead-letter topic (dlq-truncated: true).",
	})
	reg.MustRegister(dead, m.truncated)
	return m
}

// Retry counts one retry for cause.
func (m *Metrics) Retry(cause string) { m.retries.Retry(cause) }

// count counts one message published to the dead-letter topic.
func (m *Metrics) count(reason dlq.Reason, truncated bool) {
	if c, ok := m.deadLettered[reason]; ok {
		c.Inc()
		m.deadCount[reason].Add(1)
	}
	if truncated {
		m.truncated.Inc()
	}
}

// DeadLettered is how many messages were dead-lettered since start, by
// reason.
func (m *Metrics) DeadLettered() map[dlq.Reason]int64 {
	out := make(map[dlq.Reason]int64, len(m.deadCount))
	for r, n := range m.deadCount {
		out[r] = n.Load()
	}
	return out
}
