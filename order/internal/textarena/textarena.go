// Package textarena gives the strings of one decoded message one backing
// allocation: it collects their bytes, then makes them a single Go string
// that every destination slices. It never imports anything of orderd's.
package textarena

// Arena collects the bytes of many strings until Commit. The zero value is
// ready to use; an Arena is reused from one message to the next and is not
// safe for concurrent use.
type Arena struct {
	// text holds the bytes of every string added since the last Reset.
	text []byte
	// pending lists where those bytes go once they are a string.
	pending []pending
}

type pending struct {
	dst        *string
	start, end int
}

// maxRetained bounds the buffer an Arena keeps between messages, so one huge
// message does not pin its size in memory for good.
const maxRetained = 64 << 10

// Add copies b, so that *dst holds it as a string once Commit runs. b may be
// overwritten as soon as Add returns.
func (a *Arena) Add(dst *string, b []byte) {
	start := len(a.text)
	a.text = append(a.text, b...)
	a.pending = append(a.pending, pending{dst: dst, start: start, end: len(a.text)})
}

// Commit makes the collected bytes one string and points every pending
// destination at its part of it. The parts share one backing array, so a
// message's strings live and die together, as the message does.
func (a *Arena) Commit() {
	all := string(a.text)
	for _, p := range a.pending {
		*p.dst = all[p.start:p.end]
	}
}

// Reset forgets what was added, dropping the pointers to the destinations
// so the Arena does not keep them alive.
func (a *Arena) Reset() {
	clear(a.pending)
	a.pending = a.pending[:0]
	if cap(a.text) > maxRetained {
		a.text = nil
	}
	a.text = a.text[:0]
}
