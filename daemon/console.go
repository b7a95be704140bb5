package daemon

import (
	"time"

	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/stats"
)

// orderRoute is the route of GET /order/{id} in instrument.Metrics.
const orderRoute = "order"

// readCounters reads the counters a history point is made of.
func (d *daemon) readCounters() stats.Counters {
	c := stats.Counters{At: time.Now(), Inserted: d.metrics.Inserted(), Lag: d.metrics.Lag(), Dead: map[string]int64{}}
	for r, n := range d.metrics.DeadLettered() {
		c.Dead[string(r)] = n
	}
	if orders, err := d.reads.Late.Get(); err == nil {
		cs := orders.Stats().Cache
		c.Hits, c.Misses, c.CacheOK = cs.Hits, cs.Misses, true
	}
	c.Bounds, c.Latency = d.httpMetrics.Latency(orderRoute)
	return c
}

// historyPart samples the history every stats.Every while orderd runs.
// It reads only counters, so it may start before anything is connected:
// what is not there yet reads as zero, or null.
func (d *daemon) historyPart() parts.Part {
	stop := make(chan struct{})
	done := make(chan struct{})
	return parts.Part{
		Name: "history",
		Start: func() error {
			go func() {
				defer close(done)
				t := time.NewTicker(stats.Every)
				defer t.Stop()
				for {
					d.history.Sample()
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			}()
			return nil
		},
		Stop: func() error {
			close(stop)
			<-done
			return nil
		},
	}
}
