package stages

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"testing"
	"time"

	"github.com/orderd/orderd/pipeline"
)

// acks records how often one message was acked and nacked, and what it
// was last weighed at.
type acks struct {
	acked, nacked atomic.Int32
	weight        atomic.Int64
}

func (a *acks) Ack()              { a.acked.Add(1) }
func (a *acks) Nack()             { a.nacked.Add(1) }
func (a *acks) Weigh(bytes int64) { a.weight.Store(bytes) }

func (a *acks) assert(t *testing.T, wantAcked, wantNacked int32) {
	t.Helper()
	if got := a.acked.Load(); got != wantAcked {
		t.Errorf("acked %d times, want %d", got, wantAcked)
	}
	if got := a.nacked.Load(); got != wantNacked {
		t.Errorf("nacked %d times, want %d", got, wantNacked)
	}
}

// message builds a consumed message at offset of partition 0 of "orders".
func message(offset int64, key, value []byte) (Message, *acks) {
	a := &acks{}
	src := &pipeline.Source{Topic: "orders", Partition: 0, Offset: offset, Key: key, Value: value, Timestamp: time.Now()}
	return pipeline.NewEnvelope(value, src, pipeline.Acker(a)), a
}

const waitFor = 10 * time.Second

// recv takes one value from ch, failing the test if none arrives in time.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a value")
		}
		return v
	case <-time.After(waitFor):
		t.Fatalf("nothing received within %s", waitFor)
	}
	panic("unreachable")
}

// quiet fails the test if ch yields a value now or within d. The
// non-blocking look comes first: with d = 0, a select between a waiting value
// and an expired timer would pick either, and miss the value half the time.
func quiet[T any](t *testing.T, ch <-chan T, d time.Duration) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("received %v, want nothing", v)
		}
		return
	default:
	}
	if d <= 0 {
		return
	}
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("received %v, want nothing", v)
		}
	case <-time.After(d):
	}
}

// closed fails the test unless ch is closed (after draining nothing) in time.
func closed[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("received %v, want the channel closed", v)
		}
	case <-time.After(waitFor):
		t.Fatalf("channel not closed within %s", waitFor)
	}
}

// testMetrics returns pipeline metrics on a registry of the test's own.
func testMetrics() *Metrics { return NewMetrics(prometheus.NewRegistry()) }
