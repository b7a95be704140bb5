package health

import (
	"testing"
	"testing/synctest"
	"time"
)

// Run on synctest's fake clock, so that "busy for 3s" is exactly 3s, and a
// piece of work that began long ago really did.
func TestLoops_StuckIsBusyWithOnePieceTooLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 2 * time.Second
		var l Loops
		decode, write, cache := l.Loop("decode/0"), l.Loop("write/0"), l.Loop("cache")

		decode.Busy()
		write.Busy()
		time.Sleep(time.Second)
		write.Idle() // done: idle however long ago it was busy
		_ = cache    // never busy: waiting for work is not stuck

		if got := l.Stuck(time.Now(), limit); len(got) != 0 {
			t.Fatalf("Stuck after 1s of 2s = %v, want none", got)
		}
		time.Sleep(2 * time.Second)
		got := l.Stuck(time.Now(), limit)
		if len(got) != 1 || got[0].Name != "decode/0" || got[0].For != 3*time.Second {
			t.Fatalf("Stuck after 3s of 2s = %v, want decode/0 for 3s", got)
		}

		decode.Idle()
		decode.Busy() // the next piece starts the clock again: 3s ago no longer counts
		time.Sleep(time.Second)
		if got := l.Stuck(time.Now(), limit); len(got) != 0 {
			t.Fatalf("Stuck 1s after a new piece began = %v, want none", got)
		}
	})
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
