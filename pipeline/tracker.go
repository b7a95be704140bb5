package pipeline

import (
	"context"
	"sync"
)

// OffsetMarker records that every message of a partition before offset is
// finished. offset is the next offset to consume, Kafka's convention. A
// sarama.ConsumerGroupSession satisfies it; with sarama's auto-commit on,
// what is marked is what gets committed.
type OffsetMarker interface {
	MarkOffset(topic string, partition int32, offset int64, metadata string)
}

// InFlight bounds how many messages may be inside the pipeline at once,
// across every partition. Tracking a message takes a slot and resolving it
// gives the slot back, so when downstream stages stall, Track blocks and the
// consumer stops pulling from Kafka: this count, not channel buffer sizes,
// is what bounds memory.
type InFlight struct {
	slots chan struct{}
}

// NewInFlight allows at most n messages in flight.
func NewInFlight(n int) *InFlight {
	return &InFlight{slots: make(chan struct{}, max(n, 1))}
}

// Len is the number of messages in flight now.
func (f *InFlight) Len() int { return len(f.slots) }

func (f *InFlight) acquire(ctx context.Context) error {
	select {
	case f.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *InFlight) release() { <-f.slots }

// PartitionTracker turns acknowledgements that arrive in any order into
// offset marks that never pass an unfinished message. Messages are tracked
// in the order they are consumed; on every ack it marks the offset after the
// highest message with nothing unfinished below it. A nacked message is
// never finished, so nothing past it is marked for the rest of the tracker's
// life: those messages are delivered again after a restart or rebalance,
// which idempotent processing makes harmless.
type PartitionTracker struct {
	topic     string
	partition int32
	marker    OffsetMarker
	limit     *InFlight

	mu sync.Mutex
	// queue holds the tracked tickets from the oldest one not yet marked;
	// it never starts with an acked ticket.
	queue   []*Ticket
	pending int
	idle    []chan struct{}
}

// NewPartitionTracker tracks one partition, marking through marker and
// taking in-flight slots from limit.
func NewPartitionTracker(topic string, partition int32, marker OffsetMarker, limit *InFlight) *PartitionTracker {
	return &PartitionTracker{topic: topic, partition: partition, marker: marker, limit: limit}
}

// Track registers the message at offset, waiting for an in-flight slot
// first: this wait is the pipeline's backpressure. Offsets must be tracked in
// increasing order; gaps between them (compaction, transaction markers) are
// fine.
func (t *PartitionTracker) Track(ctx context.Context, offset int64) (*Ticket, error) {
	if err := t.limit.acquire(ctx); err != nil {
		return nil, err
	}
	tk := &Ticket{tracker: t, offset: offset}
	t.mu.Lock()
	t.queue = append(t.queue, tk)
	t.pending++
	t.mu.Unlock()
	return tk, nil
}

// Pending is the number of tracked messages not yet acked or nacked.
func (t *PartitionTracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending
}

// Wait blocks until every tracked message is acked or nacked, or ctx ends.
// A partition being let go calls it, bounded by a timeout, so that the last
// commit of the session includes the work already under way.
func (t *PartitionTracker) Wait(ctx context.Context) error {
	t.mu.Lock()
	if t.pending == 0 {
		t.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	t.idle = append(t.idle, done)
	t.mu.Unlock()

	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type ticketState uint8

const (
	ticketPending ticketState = iota
	ticketAcked
	ticketNacked
)

// Ticket is one tracked message's acknowledgement; it implements Acker.
type Ticket struct {
	tracker *PartitionTracker
	offset  int64
	state   ticketState // guarded by tracker.mu
}

// Ack marks the message finished.
func (tk *Ticket) Ack() { tk.tracker.resolve(tk, ticketAcked) }

// Nack marks the message as never finished in this tracker's life.
func (tk *Ticket) Nack() { tk.tracker.resolve(tk, ticketNacked) }

func (t *PartitionTracker) resolve(tk *Ticket, to ticketState) {
	t.mu.Lock()
	if tk.state != ticketPending {
		t.mu.Unlock()
		return
	}
	tk.state = to
	t.pending--

	next := int64(-1)
	done := 0
	for done < len(t.queue) && t.queue[done].state == ticketAcked {
		next = t.queue[done].offset + 1
		t.queue[done] = nil
		done++
	}
	t.queue = t.queue[done:]
	if next >= 0 {
		// Marked under the lock so marks reach the marker in increasing
		// order even when acks race; marking is an in-memory update.
		t.marker.MarkOffset(t.topic, t.partition, next, "")
	}
	var wake []chan struct{}
	if t.pending == 0 {
		wake, t.idle = t.idle, nil
	}
	t.mu.Unlock()

	t.limit.release()
	for _, c := range wake {
		close(c)
	}
}
