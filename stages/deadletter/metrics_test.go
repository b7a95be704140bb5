package deadletter

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orderd/orderd/dlq"
)

// DeadLettered reads the stage's own counts, and agrees with the series
// scraped.
func TestMetrics_DeadLetteredAgreesWithTheScrapedSeries(t *testing.T) {
	m := testMetrics()
	m.count(dlq.ReasonConflict, false)
	m.count(dlq.ReasonInvalidJSON, true)
	m.count(dlq.ReasonConflict, false)

	dead := m.DeadLettered()
	for r, want := range map[dlq.Reason]int64{dlq.ReasonConflict: 2, dlq.ReasonInvalidJSON: 1, dlq.ReasonInvalidOrder: 0} {
		if dead[r] != want || int64(testutil.ToFloat64(m.deadLettered[r])) != want {
			t.Errorf("DeadLettered[%s] = %d, series %v; want %d", r, dead[r], testutil.ToFloat64(m.deadLettered[r]), want)
		}
	}
	if got := testutil.ToFloat64(m.truncated); got != 1 {
		t.Errorf("truncated = %v, want 1", got)
	}
}

// retries counts what it is told, by cause.
type retries map[string]int

func (r retries) Retry(cause string) { r[cause]++ }

// testMetrics returns the stage's metrics on a registry of the test's own.
func testMetrics() *Metrics {
	return NewMetrics(prometheus.NewRegistry(), prometheus.NewCounter(prometheus.CounterOpts{Name: "in"}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "out"}), retries{})
}
