// Package stagetest holds what the tests of the stage packages share: an
// acknowledgement that records what happened to a message, channel
// receives that fail instead of hanging, and Kafka clients set up as orderd
// sets up its own. It is imported by tests only.
package stagetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderd/orderd/pipeline"
)

// Acks records how often one message was acked and nacked, and what it
// was last weighed at.
type Acks struct {
	Acked, Nacked atomic.Int32
	Weight        atomic.Int64
}

func (a *Acks) Ack()              { a.Acked.Add(1) }
func (a *Acks) Nack()             { a.Nacked.Add(1) }
func (a *Acks) Weigh(bytes int64) { a.Weight.Store(bytes) }

// Assert fails the test unless the message was acked and nacked as often as
// given.
func (a *Acks) Assert(t *testing.T, wantAcked, wantNacked int32) {
	t.Helper()
	if got := a.Acked.Load(); got != wantAcked {
		t.Errorf("acked %d times, want %d", got, wantAcked)
	}
	if got := a.Nacked.Load(); got != wantNacked {
		t.Errorf("nacked %d times, want %d", got, wantNacked)
	}
}

// CheckedAcks is an Acker that, at the moment it is acked, checks that
// what the ack stands for has already happened (the order is in the cache,
// the dead letter is on its topic), and keeps what it found. A stage that
// acks first and does the work after fails the check, although both have
// happened by the time the stage returns.
type CheckedAcks struct {
	*Acks
	check func() error

	mu      sync.Mutex
	checked bool
	err     error // what check found wrong at the first ack
}

func (c *CheckedAcks) Ack() {
	c.mu.Lock()
	if !c.checked {
		c.checked = true
		c.err = c.check()
	}
	c.mu.Unlock()
	c.Acks.Ack()
}

// AssertCheckedAtAck fails the test unless the message was acked and check
// held when it was.
func (c *CheckedAcks) AssertCheckedAtAck(t *testing.T) {
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

// AckChecked returns env with an acknowledgement of its own that runs check
// when acked (see CheckedAcks). It is called on the test's goroutine; check
// runs on the stage's, so it returns what it finds instead of failing the
// test.
func AckChecked[T any](env pipeline.Envelope[T], check func() error) (pipeline.Envelope[T], *CheckedAcks) {
	c := &CheckedAcks{Acks: &Acks{}, check: check}
	return pipeline.NewEnvelope(env.Value, env.Src, pipeline.Acker(c)), c
}

// Message builds a consumed message at offset of partition 0 of "orders".
func Message(offset int64, key, value []byte) (pipeline.Envelope[[]byte], *Acks) {
	a := &Acks{}
	src := &pipeline.Source{Topic: "orders", Partition: 0, Offset: offset, Key: key, Value: value, Timestamp: time.Now()}
	return pipeline.NewEnvelope(value, src, pipeline.Acker(a)), a
}

const WaitFor = 10 * time.Second

// Recv takes one value from ch, failing the test if none arrives in time.
func Recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a value")
		}
		return v
	case <-time.After(WaitFor):
		t.Fatalf("nothing received within %s", WaitFor)
	}
	panic("unreachable")
}

// Quiet fails the test if ch yields a value now or within d. The
// non-blocking look comes first: with d = 0, a select between a waiting value
// and an expired timer would pick either, and miss the value half the time.
func Quiet[T any](t *testing.T, ch <-chan T, d time.Duration) {
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

// Closed fails the test unless ch is closed (after draining nothing) in time.
func Closed[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("received %v, want the channel closed", v)
		}
	case <-time.After(WaitFor):
		t.Fatalf("channel not closed within %s", WaitFor)
	}
}
