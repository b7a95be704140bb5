package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// OffsetMarker records that every message of a partition before offset is
// finished. offset is the next offset to consume, Kafka's convention. A
// sarama.ConsumerGroupSession satisfies it; with sarama's auto-commit on,
// what is marked is what gets committed.
type OffsetMarker interface {
	MarkOffset(topic string, partition int32, offset int64, metadata string)
}

// InFlight bounds what is inside the pipeline at once, across every
// partition: how many messages, and how many bytes of memory they hold.
// Tracking a message takes its share of both and resolving it gives them
// back, so when downstream stages stall, Track blocks and the consumer stops
// pulling from Kafka: these bounds, not channel buffer sizes, are what bound
// memory. A count alone does not: 20,000 messages of 1 MiB are 20 GB.
//
// A message's weight is what it costs while in flight, not only its raw
// size: the stages that make more of it (a decoded order, its encoded JSON)
// re-weigh it through its ticket (Ticket.Weigh). Re-weighing never blocks,
// so a message already inside is never held back by its own growth; the
// budget it takes is waited for by the messages tracked after it.
type InFlight struct {
	slots    chan struct{}
	maxBytes int64

	mu     sync.Mutex
	weight int64        // bytes taken now; may pass maxBytes by re-weighing
	freed  wakeup       // when weight goes down, for a waiting acquire
	shown  atomic.Int64 // weight, for Bytes without the lock
}

// NewInFlight allows at most messages messages weighing at most maxBytes
// in flight. A message heavier than maxBytes on its own is let in when
// nothing else weighs on the budget, so it still passes, alone.
func NewInFlight(messages int, maxBytes int64) *InFlight {
	return &InFlight{slots: make(chan struct{}, max(messages, 1)), maxBytes: max(maxBytes, 1)}
}

// Len is the number of messages in flight now.
func (f *InFlight) Len() int { return len(f.slots) }

// Bytes is what the messages in flight weigh now.
func (f *InFlight) Bytes() int64 { return f.shown.Load() }

// acquire takes a slot and size bytes of the budget, waiting until the
// budget has room for them or is empty.
func (f *InFlight) acquire(ctx context.Context, size int64) error {
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		f.mu.Lock()
		if f.weight == 0 || f.weight+size <= f.maxBytes {
			f.addLocked(size)
			f.mu.Unlock()
			return nil
		}
		freed := f.freed.wait()
		f.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			<-f.slots
			return ctx.Err()
		}
	}
}

// add changes the weight by delta bytes without waiting.
func (f *InFlight) add(delta int64) {
	f.mu.Lock()
	f.addLocked(delta)
	f.mu.Unlock()
}

func (f *InFlight) addLocked(delta int64) {
	f.weight += delta
	f.shown.Store(f.weight)
	if delta < 0 {
		f.freed.wake()
	}
}

func (f *InFlight) release(w int64) {
	f.add(-w)
	<-f.slots
}

// PartitionTracker turns acknowledgements that arrive in any order into
// offset marks that never pass an unfinished message. Messages are tracked
// in the order they are consumed; on every ack it marks the offset after the
// highest message with nothing unfinished below it. A nacked message is
// never finished, so nothing past it is marked for the rest of the tracker's
// life: those messages are delivered again after a restart or rebalance,
// which idempotent processing makes harmless.
//
// Behind its oldest unfinished message a tracker keeps every later ticket,
// acked or not, until that one finishes; maxAhead caps them (Benthos's
// checkpoint_limit), so one stuck message pauses its own partition instead of
// letting the tracker grow with the partition's whole traffic, and the
// other partitions go on.
type PartitionTracker struct {
	topic     string
	partition int32
	marker    OffsetMarker
	limit     *InFlight
	maxAhead  int

	mu sync.Mutex
	// queue holds the tracked tickets from the oldest one not yet marked;
	// it never starts with an acked ticket.
	queue   []*Ticket
	pending int
	idle    []chan struct{}
	room    wakeup // when the queue shrinks, for a Track waiting at maxAhead
}

// NewPartitionTracker tracks one partition, marking through marker, taking
// its in-flight share from limit, and holding at most maxAhead messages from
// its oldest unfinished one on.
func NewPartitionTracker(topic string, partition int32, marker OffsetMarker, limit *InFlight, maxAhead int) *PartitionTracker {
	return &PartitionTracker{topic: topic, partition: partition, marker: marker, limit: limit, maxAhead: max(maxAhead, 1)}
}

// Track registers the message at offset, weighing size bytes until it is
// re-weighed (Ticket.Weigh). It waits
// first until the partition is less than maxAhead messages past its oldest
// unfinished one, then for the in-flight slot and bytes: these waits are the
// pipeline's backpressure. Offsets must be tracked in increasing order, by
// one goroutine; gaps between them (compaction, transaction markers) are
// fine.
func (t *PartitionTracker) Track(ctx context.Context, offset int64, size int) (*Ticket, error) {
	if err := t.waitRoom(ctx); err != nil {
		return nil, err
	}
	if err := t.limit.acquire(ctx, int64(size)); err != nil {
		return nil, err
	}
	tk := &Ticket{tracker: t, offset: offset, weight: int64(size)}
	t.mu.Lock()
	t.queue = append(t.queue, tk)
	t.pending++
	t.mu.Unlock()
	return tk, nil
}

// waitRoom waits until the partition holds fewer than maxAhead tickets.
func (t *PartitionTracker) waitRoom(ctx context.Context) error {
	for {
		t.mu.Lock()
		if len(t.queue) < t.maxAhead {
			t.mu.Unlock()
			return nil
		}
		room := t.room.wait()
		t.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ahead is how many messages the tracker holds from its oldest unfinished
// one on, acked or not.
func (t *PartitionTracker) Ahead() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queue)
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
	weight  int64       // its share of the in-flight bytes; guarded by tracker.mu
	state   ticketState // guarded by tracker.mu
}

// Ack marks the message finished.
func (tk *Ticket) Ack() { tk.tracker.resolve(tk, ticketAcked) }

// Nack marks the message as never finished in this tracker's life.
func (tk *Ticket) Nack() { tk.tracker.resolve(tk, ticketNacked) }

// Weigh makes bytes the message's share of the in-flight bytes from now on:
// what it holds now that a stage decoded or encoded it. It never waits. Once
// the message is resolved, it does nothing.
func (tk *Ticket) Weigh(bytes int64) {
	t := tk.tracker
	t.mu.Lock()
	if tk.state != ticketPending {
		t.mu.Unlock()
		return
	}
	delta := bytes - tk.weight
	tk.weight = bytes
	t.mu.Unlock()
	t.limit.add(delta)
}

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
	if done > 0 {
		t.room.wake()
	}
	if next >= 0 {
		// Marked under the lock so marks reach the marker in increasing
		// order even when acks race; marking is an in-memory update.
		t.marker.MarkOffset(t.topic, t.partition, next, "")
	}
	var wake []chan struct{}
	if t.pending == 0 {
		wake, t.idle = t.idle, nil
	}
	weight := tk.weight
	t.mu.Unlock()

	t.limit.release(weight)
	for _, c := range wake {
		close(c)
	}
}

// wakeup lets goroutines wait, under their owner's lock, for a change the
// owner announces: wait returns a channel that the next wake closes. The
// zero value is ready; the owner's mutex guards it.
type wakeup struct{ ch chan struct{} }

func (w *wakeup) wait() <-chan struct{} {
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

func (w *wakeup) wake() {
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}
