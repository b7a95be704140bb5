package health

import (
	"testing"
	"time"
)

func TestLoops_StuckIsBusyWithOnePieceTooLong(t *testing.T) {
	var l Loops
	decode, write, cache := l.Loop("decode/0"), l.Loop("write/0"), l.Loop("cache")
	start := time.Now()

	decode.Busy()
	write.Busy()
	write.Idle() // done: idle however long ago it was busy
	_ = cache    // never busy: waiting for work is not stuck

	if got := l.Stuck(start.Add(time.Second), 2*time.Second); len(got) != 0 {
		t.Fatalf("Stuck after 1s of 2s = %v, want none", got)
	}
	got := l.Stuck(start.Add(3*time.Second), 2*time.Second)
	if len(got) != 1 || got[0].Name != "decode/0" || got[0].For < 2*time.Second {
		t.Fatalf("Stuck after 3s of 2s = %v, want decode/0 for about 3s", got)
	}

	decode.Idle()
	decode.Busy() // the next piece starts the clock again
	if got := l.Stuck(time.Now().Add(time.Second), 2*time.Second); len(got) != 0 {
		t.Fatalf("Stuck after a new piece began = %v, want none", got)
	}
}

func TestLoops_NilWatchesNothing(t *testing.T) {
	var l *Loops
	lp := l.Loop("decode/0")
	lp.Busy()
	lp.Idle()
	if lp != nil {
		t.Fatal("a nil Loops returned a Loop")
	}
}
