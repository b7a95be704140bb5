package health

import (
	"sync"
	"sync/atomic"
	"time"
)

// Loops watches orderd's own loops for GET /livez. A loop says when it
// starts a piece of work (Busy) and when it is done with it (Idle); a loop
// busy with one piece for longer than any piece may take is stuck: a bug
// (an endless loop, a deadlock, a call that ignores its context) that only
// a restart ends. Waiting is never stuck: a stage blocked on a full channel
// (backpressure) or sleeping between retries of an outage is idle, since
// restarting orderd heals no outage.
type Loops struct {
	mu    sync.Mutex
	loops []*Loop
}

// Loop is one goroutine's busy mark. A nil *Loop watches nothing, for
// stages run without a Loops (tests of the stages alone).
type Loop struct {
	name string
	// busy is when the current piece of work began, in Unix nanoseconds;
	// 0 while idle.
	busy atomic.Int64
}

// Loop registers a loop under name, idle. A nil Loops returns a nil Loop.
func (l *Loops) Loop(name string) *Loop {
	if l == nil {
		return nil
	}
	lp := &Loop{name: name}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loops = append(l.loops, lp)
	return lp
}

// Busy marks the start of a piece of work.
func (lp *Loop) Busy() {
	if lp != nil {
		lp.busy.Store(time.Now().UnixNano())
	}
}

// Idle marks its end.
func (lp *Loop) Idle() {
	if lp != nil {
		lp.busy.Store(0)
	}
}

// Stuck is a loop busy with one piece of work for For.
type Stuck struct {
	Name string
	For  time.Duration
}

// Stuck returns the loops busy with one piece of work for longer than limit
// at now, in the order they were registered.
func (l *Loops) Stuck(now time.Time, limit time.Duration) []Stuck {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var stuck []Stuck
	for _, lp := range l.loops {
		if since := lp.busy.Load(); since != 0 {
			if d := now.Sub(time.Unix(0, since)); d > limit {
				stuck = append(stuck, Stuck{Name: lp.name, For: d})
			}
		}
	}
	return stuck
}
