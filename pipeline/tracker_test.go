package pipeline

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// marks records every MarkOffset call, as a sarama session would receive it.
type marks struct {
	mu   sync.Mutex
	next []int64
}

func (m *marks) MarkOffset(topic string, partition int32, offset int64, _ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next = append(m.next, offset)
}

func (m *marks) all() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.next)
}

func (m *marks) last() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.next) == 0 {
		return -1
	}
	return m.next[len(m.next)-1]
}

func track(t *testing.T, tr *PartitionTracker, offsets ...int64) []*Ticket {
	t.Helper()
	tickets := make([]*Ticket, len(offsets))
	for i, off := range offsets {
		tk, err := tr.Track(context.Background(), off, 1)
		if err != nil {
			t.Fatalf("Track(%d): %v", off, err)
		}
		tickets[i] = tk
	}
	return tickets
}

func TestTracker_MarksNextOffsetInOrder(t *testing.T) {
	m := &marks{}
	tr := NewPartitionTracker("orders", 0, m, NewInFlight(10, 1<<30), 1<<20)
	tk := track(t, tr, 0, 1, 2)
	for _, k := range tk {
		k.Ack()
	}
	if got, want := m.all(), []int64{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("marks = %v, want %v", got, want)
	}
}

func TestTracker_OutOfOrderAcksMarkOnlyWhenGapCloses(t *testing.T) {
	m := &marks{}
	tr := NewPartitionTracker("orders", 0, m, NewInFlight(10, 1<<30), 1<<20)
	tk := track(t, tr, 0, 1, 2, 3, 4)

	tk[3].Ack()
	tk[1].Ack()
	if got := m.all(); len(got) != 0 {
		t.Fatalf("marked %v while offset 0 was unfinished", got)
	}
	tk[0].Ack() // closes the gap up to 1
	if got := m.last(); got != 2 {
		t.Fatalf("after acking 0: last mark %d, want 2", got)
	}
	tk[2].Ack() // 2 and the already acked 3
	if got := m.last(); got != 4 {
		t.Fatalf("after acking 2: last mark %d, want 4", got)
	}
	tk[4].Ack()
	if got := m.last(); got != 5 {
		t.Fatalf("after acking 4: last mark %d, want 5", got)
	}
}

func TestTracker_DoesNotMarkPastGap(t *testing.T) {
	m := &marks{}
	tr := NewPartitionTracker("orders", 2, m, NewInFlight(10, 1<<30), 1<<20)
	// Offsets with holes, as after compaction or transaction markers.
	tk := track(t, tr, 10, 12, 15)
	tk[1].Ack()
	tk[2].Ack()
	if got := m.all(); len(got) != 0 {
		t.Fatalf("marked %v past unfinished offset 10", got)
	}
	tk[0].Ack()
	if got, want := m.all(), []int64{16}; !slices.Equal(got, want) {
		t.Fatalf("marks = %v, want %v", got, want)
	}
}

func TestTracker_NackLeavesGapOpen(t *testing.T) {
	m := &marks{}
	tr := NewPartitionTracker("orders", 0, m, NewInFlight(10, 1<<30), 1<<20)
	tk := track(t, tr, 0, 1, 2, 3)
	tk[0].Ack()
	tk[1].Nack()
	tk[2].Ack()
	tk[3].Ack()
	if got, want := m.all(), []int64{1}; !slices.Equal(got, want) {
		t.Fatalf("marks = %v, want %v: nothing past the nacked offset 1", got, want)
	}
	// A later ack of the nacked ticket does not count: only the first
	// resolution does.
	tk[1].Ack()
	if got, want := m.all(), []int64{1}; !slices.Equal(got, want) {
		t.Fatalf("marks after re-ack = %v, want %v", got, want)
	}
	if p := tr.Pending(); p != 0 {
		t.Fatalf("Pending = %d, want 0", p)
	}
}

func TestTracker_AckTwiceCountsOnce(t *testing.T) {
	m := &marks{}
	limit := NewInFlight(10, 1<<30)
	tr := NewPartitionTracker("orders", 0, m, limit, 1<<20)
	tk := track(t, tr, 0, 1)
	tk[1].Ack()
	tk[1].Ack()
	if limit.Len() != 1 {
		t.Fatalf("in flight = %d, want 1: a repeated ack released a second slot", limit.Len())
	}
	if got := m.all(); len(got) != 0 {
		t.Fatalf("marked %v though offset 0 is unfinished", got)
	}
}

func TestTracker_TrackBlocksWhenInFlightIsFull(t *testing.T) {
	synctest.Test(t, testTrackerTrackBlocksWhenInFlightIsFull)
}

func testTrackerTrackBlocksWhenInFlightIsFull(t *testing.T) {
	m := &marks{}
	limit := NewInFlight(2, 1<<30)
	trA := NewPartitionTracker("orders", 0, m, limit, 1<<20)
	trB := NewPartitionTracker("orders", 1, m, limit, 1<<20)
	a := track(t, trA, 0)
	track(t, trB, 0)

	got := make(chan *Ticket)
	go func() {
		tk, err := trA.Track(context.Background(), 1, 1)
		if err != nil {
			t.Errorf("Track: %v", err)
		}
		got <- tk
	}()
	for range 2 { // once Track has gone as far as it can, and an hour later
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("Track returned while the in-flight limit was reached")
		default:
		}
		time.Sleep(time.Hour)
	}
	a[0].Ack() // frees one slot, shared across partitions
	select {
	case tk := <-got:
		if tk == nil {
			t.Fatal("nil ticket")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Track still blocked after a slot was freed")
	}
}

func TestTracker_TrackReturnsWhenContextEnds(t *testing.T) {
	tr := NewPartitionTracker("orders", 0, &marks{}, NewInFlight(1, 1<<30), 1<<20)
	track(t, tr, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tr.Track(ctx, 1, 1); err == nil {
		t.Fatal("Track succeeded beyond the in-flight limit")
	}
	if p := tr.Pending(); p != 1 {
		t.Fatalf("Pending = %d, want 1: a failed Track must not register", p)
	}
}

func TestTracker_WaitReturnsWhenAllResolved(t *testing.T) {
	tr := NewPartitionTracker("orders", 0, &marks{}, NewInFlight(10, 1<<30), 1<<20)
	tk := track(t, tr, 0, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := tr.Wait(ctx); err == nil {
		t.Fatal("Wait returned nil with two messages pending")
	}

	done := make(chan error, 1)
	go func() { done <- tr.Wait(context.Background()) }()
	tk[1].Ack()
	tk[0].Nack() // a nack resolves too: Wait is about work under way, not success
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after every message was resolved")
	}
	if err := tr.Wait(context.Background()); err != nil {
		t.Fatalf("Wait on an idle tracker: %v", err)
	}
}

// Acks racing from many goroutines in random order end with the partition
// marked exactly past its last offset, and marks never go backwards.
func TestTracker_ConcurrentAcksMarkMonotonically(t *testing.T) {
	const n = 5000
	m := &marks{}
	limit := NewInFlight(n, 1<<30)
	tr := NewPartitionTracker("orders", 0, m, limit, 1<<20)
	offsets := make([]int64, n)
	for i := range offsets {
		offsets[i] = int64(i * 2) // every other offset, like a compacted log
	}
	tk := track(t, tr, offsets...)
	rand.Shuffle(len(tk), func(i, j int) { tk[i], tk[j] = tk[j], tk[i] })

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(tk); i += 8 {
				tk[i].Ack()
			}
		})
	}
	wg.Wait()

	got := m.all()
	if len(got) == 0 || got[len(got)-1] != offsets[n-1]+1 {
		t.Fatalf("last mark %d, want %d", m.last(), offsets[n-1]+1)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("mark %d went from %d to %d", i, got[i-1], got[i])
		}
	}
	if limit.Len() != 0 {
		t.Fatalf("in flight = %d after all acks, want 0", limit.Len())
	}
}

// trackAsync tracks offset in a goroutine and returns where its ticket
// arrives.
func trackAsync(t *testing.T, tr *PartitionTracker, offset int64, size int) <-chan *Ticket {
	got := make(chan *Ticket, 1)
	go func() {
		tk, err := tr.Track(context.Background(), offset, size)
		if err != nil {
			t.Errorf("Track(%d): %v", offset, err)
		}
		got <- tk
	}()
	return got
}

// blocked fails the test if Track returns, however long it is left: in a
// synctest bubble, once every goroutine of the test is blocked, and again
// after an hour on the bubble's clock, which costs nothing.
func blocked(t *testing.T, got <-chan *Ticket, why string) {
	t.Helper()
	for range 2 {
		synctest.Wait()
		select {
		case <-got:
			t.Fatalf("Track returned %s", why)
		default:
		}
		time.Sleep(time.Hour)
	}
}

func admitted(t *testing.T, got <-chan *Ticket, why string) *Ticket {
	t.Helper()
	select {
	case tk := <-got:
		return tk
	case <-time.After(5 * time.Second):
		t.Fatalf("Track still blocked %s", why)
		return nil
	}
}

// One stuck message pauses its partition once maxAhead messages wait
// behind it, acked or not, instead of the tracker growing with the
// partition's whole traffic; another partition sharing the in-flight limit
// goes on.
func TestTracker_PausesAtMaxAheadBehindAStuckMessage(t *testing.T) {
	synctest.Test(t, testTrackerPausesAtMaxAheadBehindAStuckMessage)
}

func testTrackerPausesAtMaxAheadBehindAStuckMessage(t *testing.T) {
	m := &marks{}
	limit := NewInFlight(100, 1<<30)
	stuck := NewPartitionTracker("orders", 0, m, limit, 3)
	other := NewPartitionTracker("orders", 1, &marks{}, limit, 3)
	tk := track(t, stuck, 0, 1, 2)
	tk[1].Ack()
	tk[2].Ack() // finished, but held behind offset 0
	if a := stuck.Ahead(); a != 3 {
		t.Fatalf("Ahead = %d, want 3", a)
	}
	next := trackAsync(t, stuck, 3, 1)
	blocked(t, next, "with 3 messages held behind a stuck one")
	for off := range int64(10) { // the other partition is not held up
		tk, err := other.Track(context.Background(), off, 1)
		if err != nil {
			t.Fatal(err)
		}
		tk.Ack()
	}
	tk[0].Ack() // the stuck one finishes: 0, 1 and 2 are marked
	admitted(t, next, "after the stuck message finished").Ack()
	if got := m.last(); got != 4 {
		t.Fatalf("last mark %d, want 4", got)
	}
}

// The bytes in flight are bounded as well as the messages; a message
// heavier than the whole budget still gets in once nothing else weighs on
// it.
func TestInFlight_BoundsBytes(t *testing.T) { synctest.Test(t, testInFlightBoundsBytes) }

func testInFlightBoundsBytes(t *testing.T) {
	limit := NewInFlight(100, 1000)
	tr := NewPartitionTracker("orders", 0, &marks{}, limit, 100)
	a := admitted(t, trackAsync(t, tr, 0, 400), "under the budget")
	b := admitted(t, trackAsync(t, tr, 1, 400), "under the budget")
	if limit.Bytes() != 800 {
		t.Fatalf("Bytes = %d, want 800", limit.Bytes())
	}
	third := trackAsync(t, tr, 2, 400)
	blocked(t, third, "past the byte budget")
	a.Ack()
	c := admitted(t, third, "once bytes were freed")

	huge := trackAsync(t, tr, 3, 5000)
	blocked(t, huge, "for a message heavier than the budget while others weigh on it")
	b.Ack()
	c.Ack()
	h := admitted(t, huge, "with nothing else in flight")
	if limit.Bytes() != 5000 {
		t.Fatalf("Bytes = %d with the heavy message in, want what it weighs, 5000", limit.Bytes())
	}
	light := trackAsync(t, tr, 4, 1)
	blocked(t, light, "while the heavy message fills the budget")
	h.Ack()
	admitted(t, light, "once the heavy message left").Ack()
	if limit.Bytes() != 0 || limit.Len() != 0 {
		t.Fatalf("after every ack: %d bytes, %d messages in flight", limit.Bytes(), limit.Len())
	}
}

// A stage that decodes or encodes a message re-weighs it: growing past the
// budget never blocks the message itself, but holds back the next one until
// enough is freed, and the weight given back at the ack is the latest.
func TestInFlight_ReweighingHoldsBackTheNextMessage(t *testing.T) {
	synctest.Test(t, testInFlightReweighingHoldsBackTheNextMessage)
}

func testInFlightReweighingHoldsBackTheNextMessage(t *testing.T) {
	limit := NewInFlight(100, 1000)
	tr := NewPartitionTracker("orders", 0, &marks{}, limit, 100)
	a := admitted(t, trackAsync(t, tr, 0, 300), "under the budget")
	a.Weigh(900) // decoded: it holds three times its raw bytes now
	if limit.Bytes() != 900 {
		t.Fatalf("Bytes = %d after re-weighing to 900", limit.Bytes())
	}
	next := trackAsync(t, tr, 1, 300)
	blocked(t, next, "while the re-weighed message leaves no room")
	a.Weigh(1500) // past the budget: never blocks
	a.Weigh(600)  // shrinks: room for the next one
	b := admitted(t, next, "once the first message shrank")
	if limit.Bytes() != 900 {
		t.Fatalf("Bytes = %d, want 600 + 300", limit.Bytes())
	}
	a.Ack()
	a.Weigh(5000) // after its ack: changes nothing
	b.Ack()
	if limit.Bytes() != 0 || limit.Len() != 0 {
		t.Fatalf("after every ack: %d bytes, %d messages in flight", limit.Bytes(), limit.Len())
	}
}
