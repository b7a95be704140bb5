package stages

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// checkedAcks is an Acker that, at the moment it is acked, checks that
// what the ack stands for has already happened (the order is in the cache,
// the dead letter is on its topic), and keeps what it found. A stage that
// acks first and does the work after fails the check, although both have
// happened by the time the stage returns.
type checkedAcks struct {
	*acks
	check func() error

	mu      sync.Mutex
	checked bool
	err     error // what check found wrong at the first ack
}

func (c *checkedAcks) Ack() {
	c.mu.Lock()
	if !c.checked {
		c.checked = true
		c.err = c.check()
	}
	c.mu.Unlock()
	c.acks.Ack()
}

// assertCheckedAtAck fails the test unless the message was acked and check
// held when it was.
func (c *checkedAcks) assertCheckedAtAck(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.checked:
		t.Errorf("never acked")
	case c.err != nil:
		t.Errorf("acked too early: %v", c.err)
	}
}

// ackChecked returns env with an acknowledgement of its own that runs check
// when acked (see checkedAcks). It is called on the test's goroutine; check
// runs on the stage's, so it returns what it finds instead of failing the
// test.
func ackChecked[T any](env pipeline.Envelope[T], check func() error) (pipeline.Envelope[T], *checkedAcks) {
	c := &checkedAcks{acks: &acks{}, check: check}
	return pipeline.NewEnvelope(env.Value, env.Src, pipeline.Acker(c)), c
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
