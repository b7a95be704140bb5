package stages

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/orderd/orderd/storage"
)

// The stats getters read the stages' own counters, and agree with the
// series scraped. (DeadLettered: see the deadletter package's test.)
func TestMetrics_StatsAgreeWithTheScrapedSeries(t *testing.T) {
	m := testMetrics()
	for _, o := range []storage.Outcome{storage.Inserted, storage.Inserted, storage.Duplicate} {
		m.countStored(o)
	}
	p0, p1 := m.Partition(0), m.Partition(1)
	p0.SetLag(5)
	p1.SetLag(7)
	p1.SetLag(3)

	if got, want := m.Inserted(), int64(testutil.ToFloat64(m.stored[storage.Inserted])); got != 2 || got != want {
		t.Errorf("Inserted = %d, series %d; want 2", got, want)
	}
	if got := m.Lag(); got != 8 {
		t.Errorf("Lag = %d, want 5+3", got)
	}
	m.ForgetPartition(0)
	if got := m.Lag(); got != 3 {
		t.Errorf("Lag = %d after partition 0 was released, want 3", got)
	}
	if n := testutil.CollectAndCount(m.lag); n != 1 {
		t.Errorf("%d lag series after partition 0 was released, want 1", n)
	}
}

// testMetrics returns pipeline metrics on a registry of the test's own.
func testMetrics() *Metrics { return NewMetrics(prometheus.NewRegistry()) }
