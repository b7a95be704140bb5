package daemon

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orderd/orderd/internal/testenv"
)

// maxInstances is how many orderd instances the parallel tests run at
// once, in-process or as child processes. With the tests' pools (see
// testSettings: READ_CONCURRENCY 4) one instance holds at most 2×WRITERS +
// READ_CONCURRENCY + LIST_CONCURRENCY + 3 (bulk) = 13 connections, plus its
// commit listener, while it starts its migrations' connection, and while it
// ends an abandoned write transaction the connection that ends it: 16; a
// test adds at most 2 of its own (a query, a database created or dropped).
// Five instances are then at most 5 × 18 = 90 of PostgreSQL's 100
// (max_connections, 3 of them kept for superusers), which leaves room for
// the package go test runs beside this one, whose tests open one pool at a
// time. A test that sets a larger pool of its own takes more than one unit.
const maxInstances = 5

// raceSlots is how many parallel tests run at once under -race, where the
// race detector makes the test process's own work (its brokers, producers
// and in-process daemons) cost several times the CPU. Most tests still
// spend most of their time waiting on a fault's length or a timer: one at
// a time left the cores 60 to 90% idle through them. A test whose own
// workload keeps the cores busy takes every slot (load.heavy): run beside
// others it made their one-minute waits miss.
const raceSlots = 3

// load is what a parallel test needs while it runs.
type load struct {
	instances int64 // orderd instances it runs at once
	heavy     bool  // under -race its own workload keeps both cores busy: it runs alone
	long      bool  // among the package's longest: it starts before the tests waiting with it
}

// rank orders the waiting tests: under -race the heavy ones first, since
// each runs alone and one waiting behind a long test would hold back every
// test behind it; then the long ones, so that the run does not end waiting
// for one of them.
func (l load) rank() int {
	r := 0
	if l.long {
		r++
	}
	if l.heavy && raceEnabled {
		r += 2
	}
	return r
}

// parallel runs t beside the other parallel tests once n orderd instances
// are free (see schedule).
func parallel(t *testing.T, n int64) {
	t.Helper()
	schedule(t, load{instances: n})
}

// schedule runs t beside the other parallel tests once what l needs is
// free. Every orderd instance needs PostgreSQL, so under -short, with
// instances above 0, t skips before its setup (a workload, certificates)
// costs anything. Tests that touch what the whole process shares stay
// serial, and go test runs them all before any parallel one starts: a
// SIGTERM to the test process (which every in-process Run would take as
// its own), a goroutine-leak check, or t.Setenv for the OpenTelemetry SDK,
// which reads the process environment.
func schedule(t *testing.T, l load) {
	t.Helper()
	if l.instances > 0 {
		testenv.SkipIfShort(t, "PostgreSQL")
	}
	if l.instances > maxInstances {
		t.Fatalf("a test of %d orderd instances, more than the %d that run at once", l.instances, maxInstances)
	}
	t.Parallel()
	need := units{instances: l.instances}
	switch {
	case raceEnabled && l.heavy:
		need.slots = raceSlots
	case raceEnabled:
		need.slots = 1
	}
	asked := time.Now()
	tests.acquire(need, l.rank())
	t.Logf("its turn came after %s (race slots %d, orderd instances %d)", time.Since(asked).Round(time.Millisecond), need.slots, need.instances)
	// Registered before the test's own cleanups, so it runs after them:
	// after its daemons have stopped and its database is dropped.
	t.Cleanup(func() { tests.release(need) })
}

// tests is what the parallel tests share: the race slots and the orderd
// instances.
var tests = &gate{free: units{slots: raceSlots, instances: maxInstances}}

// units is what the gate hands out.
type units struct{ slots, instances int64 }

func (u units) fit(free units) bool { return u.slots <= free.slots && u.instances <= free.instances }

// gather is how long the gate waits after the first test asks before it
// lets any in. go test releases every parallel test at once when the serial
// ones have ended, and they ask within milliseconds; without the wait the
// first few to ask would start whatever their rank.
const gather = 250 * time.Millisecond

// gate hands out race slots and orderd instances to tests in turn: by
// rank, then in the order they asked. A test at the head that does not
// fit waits, and nobody passes it, so that a test that needs everything is
// not starved by small ones.
type gate struct {
	mu      sync.Mutex
	free    units
	waiting []*waiter
	open    bool        // gather has passed since the first test asked
	opening *time.Timer // set at the first ask
}

type waiter struct {
	need  units
	rank  int
	ready chan struct{}
}

func (g *gate) acquire(need units, rank int) {
	<-g.ask(need, rank).ready
}

// ask puts a test in the queue and lets in whoever's turn it is; the
// test's turn has come when the waiter's ready is closed.
func (g *gate) ask(need units, rank int) *waiter {
	w := &waiter{need: need, rank: rank, ready: make(chan struct{})}
	g.mu.Lock()
	defer g.mu.Unlock()
	// Behind every waiting test of its rank or above.
	i := slices.IndexFunc(g.waiting, func(o *waiter) bool { return o.rank < rank })
	if i < 0 {
		i = len(g.waiting)
	}
	g.waiting = slices.Insert(g.waiting, i, w)
	if g.opening == nil {
		g.opening = time.AfterFunc(gather, func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.open = true
			g.grant()
		})
	}
	g.grant()
	return w
}

func (g *gate) release(need units) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.free.slots += need.slots
	g.free.instances += need.instances
	g.grant()
}

// grant lets the waiting tests at the head in while what they need is free.
func (g *gate) grant() {
	for g.open && len(g.waiting) > 0 {
		w := g.waiting[0]
		if !w.need.fit(g.free) {
			return
		}
		g.free.slots -= w.need.slots
		g.free.instances -= w.need.instances
		g.waiting = g.waiting[1:]
		close(w.ready)
	}
}

// The gate's order, on a gate that never opens by itself: rank first, then
// the order of asking, and a head that does not fit holds back even the
// tests behind it that would.
func TestGate_RankThenAskingOrderAndNobodyPassesTheHead(t *testing.T) {
	g := &gate{free: units{slots: 3, instances: 5}, opening: time.NewTimer(time.Hour)}
	t.Cleanup(func() { g.opening.Stop() })
	in := func(w *waiter) bool {
		select {
		case <-w.ready:
			return true
		default:
			return false
		}
	}
	light := g.ask(units{1, 1}, 0)
	long := g.ask(units{1, 2}, 1)
	heavy := g.ask(units{3, 1}, 2)
	light2 := g.ask(units{1, 1}, 0)
	if in(light) || in(long) || in(heavy) || in(light2) {
		t.Fatal("a test was let in before the gate opened")
	}
	g.mu.Lock()
	g.open = true
	g.grant()
	g.mu.Unlock()
	if !in(heavy) || in(long) || in(light) || in(light2) {
		t.Fatalf("opened: heavy %v, long %v, light %v %v; want the heavy one alone", in(heavy), in(long), in(light), in(light2))
	}

	g.release(heavy.need)
	if !in(long) || !in(light) || !in(light2) {
		t.Fatalf("the heavy one done: long %v, light %v %v; want all three in", in(long), in(light), in(light2))
	}
	// Free now: no slot, 1 instance. A second heavy one waits at the head
	// for every slot; a light one behind it that would fit waits too.
	g.release(light.need)
	heavy2 := g.ask(units{3, 1}, 2)
	light3 := g.ask(units{1, 1}, 0)
	if in(heavy2) || in(light3) {
		t.Fatalf("heavy %v, light %v with one slot free: want both waiting, the light one behind the heavy one", in(heavy2), in(light3))
	}
	g.release(long.need)
	g.release(light2.need)
	if !in(heavy2) || in(light3) {
		t.Fatalf("every slot free: heavy %v, light %v; want the heavy one in, alone", in(heavy2), in(light3))
	}
}
