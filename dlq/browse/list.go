package browse

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/orderd/orderd/dlq"
)

// Limits of a listing. Each bounds what one ListPage holds or spends,
// whatever the size of the topic.
const (
	// PreviewBytes is how much of each payload a listing keeps: dead
	// letters can be megabytes each, and a listing shows only their start.
	// Get reads a record whole.
	PreviewBytes = 1 << 10
	// DefaultBudget is how long a listing reads when its Filter sets no
	// Budget: half the admin API's 10 s request timeout.
	DefaultBudget = 5 * time.Second

	// A partition is read a chunk of offsets at a time, from its end back.
	// A chunk costs about 150ms however small (see scan), so chunks grow
	// while they take less than a third of the budget (or minChunkTime).
	minChunk      = 16
	firstChunk    = 256 // when filtering by reason, where matches may be sparse
	maxChunk      = 1 << 16
	maxChunkBytes = 16 << 20               // by the average record of the chunk before
	minChunkTime  = 250 * time.Millisecond // a subscription's cost, and more
	skipAtLeast   = 4096                   // offsets a cursor skips rather than read again

	// stopTime is what stopping the reads in flight takes: sarama closes
	// a subscription only after its 100ms gathering of new ones. A listing
	// stops reading this much before its budget, so it answers within it.
	stopTime = 120 * time.Millisecond
	// closeWait bounds the wait for reads to stop: a broker that hangs in
	// a fetch holds its subscription until sarama's read timeout. The
	// listing answers then, and those close when they end.
	closeWait = 500 * time.Millisecond
)

// Filter selects records for ListPage.
type Filter struct {
	Reason dlq.Reason // only this reason; empty for any
	// Since keeps only records appended to the topic less than this long
	// ago, by their Kafka timestamp; 0 for any age. (Not by dlq-failed-at:
	// another replica's clock, or a publish delayed by an outage, puts
	// that out of order with the topic.)
	Since time.Duration
	Limit int // at most this many, newest first; must be positive
	// Cursor continues an earlier listing: its Page.Next, with the same
	// Reason and Since. Empty starts from the newest record.
	Cursor string
	// Budget is how long the listing may read before it stops with what it
	// has (Page.Partial); 0 for DefaultBudget. A page gets somewhere,
	// however: it stops only once it listed a record or got past some, so
	// on a slow cluster it can run one round of reads (one per partition,
	// in parallel) past its budget. A deadline on the context shortens the
	// budget to nine tenths of the time left, and a page answers shortly
	// before the deadline in any case, if need be with its cursor
	// unchanged.
	Budget time.Duration
}

// Page is one page of a listing.
type Page struct {
	// Records match the filter, newest first: the partitions are merged by
	// Kafka timestamp, each partition in offset order. Each has its
	// headers whole but only the first PreviewBytes of its payload.
	Records []dlq.Record
	// Next continues the listing (Filter.Cursor) when it stopped early: at
	// Limit with records left to examine, or at the time budget. Empty
	// when the listing is complete. A record listed in one page is never
	// listed again in a later one, and the last page may be empty.
	Next string
	// Partial says the time budget ran out before Limit records were
	// found: there may be more, older than these, which Next lists.
	Partial bool
	// Trimmed names the partitions retention trimmed while they were being
	// listed (in this page or since the cursor was made). Nothing the topic
	// still holds was skipped.
	Trimmed []Trimmed
}

// Trimmed says retention removed records of a partition that a listing was
// about to read: the partition now starts at Oldest.
// Its JSON form is what the admin API and orderctl dlq ls -json print.
type Trimmed struct {
	Partition int32 `json:"partition"`
	Oldest    int64 `json:"oldest"`
}

// ListPage returns the newest records that match f, at most f.Limit, and
// how to continue. It walks each partition back from its end (or from the
// cursor) a chunk at a time, with at most one chunk of matches per
// partition in hand, and stops once it has f.Limit records or its time
// budget ran out. With f.Since each partition starts at its first record
// appended since then (Kafka's ListOffsets by time), so an old topic costs
// only what the answer needs.
func (r *Reader) ListPage(ctx context.Context, f Filter) (Page, error) {
	if f.Limit <= 0 {
		return Page{}, fmt.Errorf("list %s: limit must be positive", r.topic)
	}
	from, err := parseCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	budget := f.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	// Past the deadline's margin a page stops even if it got nowhere:
	// the same cursor again beats no answer.
	var deadline <-chan time.Time
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		left := time.Until(dl)
		budget = min(budget, left*9/10)
		hard := time.NewTimer(left - min(left/10, stopTime+closeWait))
		defer hard.Stop()
		deadline = hard.C
	}
	if budget <= 0 || ctx.Err() != nil {
		return Page{}, fmt.Errorf("list %s: %w", r.topic, context.DeadlineExceeded)
	}
	l := &listing{r: r, f: f, chunkTime: max(budget/3, minChunkTime), stopAt: time.Now().Add(budget - min(budget/4, stopTime))}
	if hasDeadline {
		l.deadline = dl
	}
	soft := time.NewTimer(time.Until(l.stopAt))
	defer soft.Stop()
	if f.Since > 0 {
		l.cutoff = time.Now().Add(-f.Since)
	}
	defer l.close()
	if err := l.start(from); err != nil {
		return Page{}, err
	}
	return l.merge(ctx, soft.C, deadline)
}

// listing is one ListPage. Its merge loop owns it; the reads it starts
// send their chunks back and touch nothing else.
type listing struct {
	r         *Reader
	f         Filter
	cutoff    time.Time     // zero without Since
	chunkTime time.Duration // what one chunk should take at most
	stopAt    time.Time     // when the budget runs out
	deadline  time.Time     // the context's; zero for none
	walks     []*walk
	trimmed   []Trimmed

	chunks  chan chunk // room for every walk's: a read never blocks
	cancel  context.CancelFunc
	reading sync.WaitGroup
}

// walk is one partition's part of a listing.
type walk struct {
	p        int32
	consumer sarama.Consumer
	top      int64         // every offset from top up was listed or did not match
	low      int64         // the lowest offset to examine: the oldest, or the first since the cutoff
	buf      []dlq.Record  // matches below top not listed yet, newest first
	bufLow   int64         // every match from bufLow up to top is in buf
	size     int           // offsets the next read covers
	skip     int64         // the cursor's: read top-1 alone, then go on below skip; -1 for none
	took     time.Duration // what the last read took
	reading  bool
}

func (w *walk) done() bool { return len(w.buf) == 0 && w.top <= w.low }

// chunk is what one read of a walk found.
type chunk struct {
	w       *walk
	recs    []dlq.Record // newest first
	low     int64        // every match from low up to the read's end is in recs
	trimmed int64        // the partition's new oldest offset, or -1
	read    int          // records read
	bytes   int          // their key, value and header bytes
	took    time.Duration
	skipped bool // read only the record a cursor named
	err     error
}

// start finds where each partition's walk starts and ends.
func (l *listing) start(from cursor) error {
	r := l.r
	partitions, err := r.partitions()
	if err != nil {
		return err
	}
	if from != nil {
		partitions = slices.DeleteFunc(partitions, func(p int32) bool { _, ok := from[p]; return !ok })
	}
	slices.Sort(partitions) // ties go to the lower partition
	// Enough for the limit if the newest records are spread evenly, and
	// to know the next newest of each; more where matches may be sparse.
	size := max(minChunk, min(maxChunk, 2*l.f.Limit/max(1, len(partitions))+1))
	if l.f.Reason != "" {
		size = max(size, firstChunk)
	}
	walks := make([]*walk, len(partitions))
	trimmed := make([]int64, len(partitions)) // the new oldest, or -1
	var g errgroup.Group
	for i, p := range partitions {
		g.Go(func() error {
			oldest, end, err := r.bounds(p)
			if err != nil {
				return err
			}
			w := &walk{p: p, top: end, low: oldest, size: size, skip: -1}
			trimmed[i] = -1
			if at, ok := from[p]; ok {
				// The cursor's partition had records below at.below when
				// the cursor was made; none left means retention took
				// them.
				if at.below <= oldest {
					trimmed[i] = oldest
				}
				w.top = min(at.below, end)
				if at.chunk > 0 {
					w.size = at.chunk
				}
				if at.skip >= 0 && at.below <= end {
					w.skip = at.skip
				}
			}
			if !l.cutoff.IsZero() && w.top > w.low {
				first, err := r.client.GetOffset(r.topic, p, l.cutoff.UnixMilli())
				if err != nil {
					return fmt.Errorf("offset of %s[%d] at %s: %w", r.topic, p, l.cutoff.UTC().Format(time.RFC3339), err)
				}
				if first < 0 { // nothing appended since
					first = end
				}
				w.low = max(w.low, first)
			}
			walks[i] = w
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	l.walks = walks
	for i, w := range l.walks {
		if trimmed[i] >= 0 {
			l.trimmed = append(l.trimmed, Trimmed{Partition: w.p, Oldest: trimmed[i]})
		}
		// A consumer per partition: a subscription waits for its
		// consumer's fetch in flight, which another partition's would
		// otherwise make it share.
		if w.consumer, err = sarama.NewConsumerFromClient(r.client); err != nil {
			return fmt.Errorf("list %s: %w", r.topic, err)
		}
	}
	l.chunks = make(chan chunk, len(l.walks))
	return nil
}

// close stops the reads in flight, waits for them (closeWait at most),
// and closes the consumers.
func (l *listing) close() {
	if l.cancel != nil {
		l.cancel()
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		l.reading.Wait()
		for _, w := range l.walks {
			if w.consumer != nil {
				_ = w.consumer.Close()
			}
		}
	}()
	d := closeWait
	if !l.deadline.IsZero() {
		d = min(d, time.Until(l.deadline)-50*time.Millisecond)
	}
	wait := time.NewTimer(max(d, 0))
	defer wait.Stop()
	select {
	case <-stopped:
	case <-wait.C: // a hung fetch: answer now; the reads end with it
	}
}

// merge lists the walks' matches newest first until it has the limit or
// the walks are done, the budget ran out once it got somewhere, or the
// deadline (nil for none) is near.
func (l *listing) merge(ctx context.Context, budget, deadline <-chan time.Time) (Page, error) {
	readCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	var page Page
	timeUp, progressed := false, false
	for len(page.Records) < l.f.Limit {
		// Every walk that is not done needs its next match known before
		// the newest of all can be told.
		waiting := false
		for _, w := range l.walks {
			waiting = waiting || (len(w.buf) == 0 && !w.done())
		}
		if waiting {
			if progressed && (timeUp || l.tooLate()) {
				page.Partial = true
				break
			}
			for _, w := range l.walks {
				if len(w.buf) == 0 && !w.done() && !w.reading {
					l.read(readCtx, w, l.f.Limit-len(page.Records))
				}
			}
			select {
			case c := <-l.chunks:
				top := c.w.top
				if err := l.take(c); err != nil {
					return Page{}, err
				}
				progressed = progressed || c.w.top < top
			case <-budget:
				timeUp, budget = true, nil
			case <-deadline:
				timeUp, progressed = true, true // answer now, wherever it got
			case <-ctx.Done():
				return Page{}, fmt.Errorf("list %s: %w", l.r.topic, ctx.Err())
			}
			continue
		}
		var newest *walk
		for _, w := range l.walks {
			if len(w.buf) > 0 && (newest == nil || w.buf[0].Timestamp.After(newest.buf[0].Timestamp)) {
				newest = w // on a tie, the lower partition
			}
		}
		if newest == nil {
			break // every walk is done
		}
		rec := newest.buf[0]
		page.Records = append(page.Records, rec)
		newest.buf, newest.top = newest.buf[1:], rec.Offset
		if len(newest.buf) == 0 {
			newest.buf, newest.top = nil, newest.bufLow
		}
		progressed = true
	}
	next := cursor{}
	for _, w := range l.walks {
		switch {
		case len(w.buf) > 0:
			// Nothing between its newest match not listed and top
			// matched, nor between that and the next: when that is a
			// long way, the next page reads the match alone and skips it.
			skip := w.bufLow
			if len(w.buf) > 1 {
				skip = w.buf[1].Offset + 1
			}
			if w.buf[0].Offset-skip < skipAtLeast {
				skip = -1
			}
			next[w.p] = resume{below: w.buf[0].Offset + 1, chunk: w.size, skip: skip}
		case !w.done():
			next[w.p] = resume{below: w.top, chunk: w.size, skip: -1}
		}
	}
	page.Next = next.String()
	page.Trimmed = l.trimmed
	return page, nil
}

// tooLate reports whether a read a walk needs now would likely end past
// the budget, and so be wasted.
func (l *listing) tooLate() bool {
	left := time.Until(l.stopAt)
	for _, w := range l.walks {
		if len(w.buf) == 0 && !w.done() && !w.reading && w.took > left {
			return true
		}
	}
	return false
}

// take applies a chunk to its walk.
func (l *listing) take(c chunk) error {
	w := c.w
	w.reading, w.took = false, c.took
	if c.err != nil {
		return c.err
	}
	if c.trimmed >= 0 {
		w.low = max(w.low, c.trimmed)
		l.trimmed = slices.DeleteFunc(l.trimmed, func(t Trimmed) bool { return t.Partition == w.p })
		l.trimmed = append(l.trimmed, Trimmed{Partition: w.p, Oldest: c.trimmed})
	}
	if w.skip >= 0 {
		// The cursor's match alone was read: the rest down to skip
		// held none.
		c.low, w.skip = max(w.low, w.skip), -1
	}
	w.buf, w.bufLow = c.recs, c.low
	if len(w.buf) == 0 {
		w.buf, w.top = nil, c.low
	}
	// Size the next read: larger while reads are quick, but never many
	// megabytes, nor more than the limit needs. A slow read is not made
	// smaller: what it costs is mostly the subscription, and the wait for
	// other partitions' reads.
	switch {
	case c.skipped:
	case c.took < l.chunkTime:
		w.size *= 4
	case c.took < 2*l.chunkTime:
		w.size *= 2
	}
	if c.read > 0 {
		w.size = min(w.size, maxChunkBytes/max(1, c.bytes/c.read))
	}
	if matched := len(c.recs); matched > 0 && !c.skipped {
		// No more than the limit needs, at the density of matches seen.
		w.size = min(w.size, int(min(int64(maxChunk), int64(l.f.Limit)*int64(c.read)/int64(matched)))+minChunk)
	}
	w.size = max(1, min(w.size, maxChunk))
	return nil
}

// read starts reading the chunk of w below its top, keeping at most keep
// matches, the newest.
func (l *listing) read(ctx context.Context, w *walk, keep int) {
	w.reading = true
	from, to := max(w.low, w.top-int64(w.size)), w.top
	if w.skip >= 0 {
		from = max(w.low, to-1)
	}
	consumer, p, skipped := w.consumer, w.p, w.skip >= 0
	l.reading.Add(1)
	go func() {
		defer l.reading.Done()
		c := chunk{w: w, low: from, skipped: skipped}
		begin := time.Now()
		var kept []dlq.Record
		dropped := false
		c.trimmed, c.err = l.r.scan(ctx, consumer, p, from, to, func(msg *sarama.ConsumerMessage) bool {
			c.read++
			c.bytes += len(msg.Key) + len(msg.Value)
			for _, h := range msg.Headers {
				if h != nil {
					c.bytes += len(h.Key) + len(h.Value)
				}
			}
			if !l.matches(msg) {
				return true
			}
			// Only the newest keep: the merge takes no more.
			if kept = append(kept, dlq.RecordOf(msg, PreviewBytes)); len(kept) == 2*keep {
				kept = append(kept[:0], kept[keep:]...)
				dropped = true
			}
			return true
		})
		if len(kept) > keep {
			kept, dropped = kept[len(kept)-keep:], true
		}
		if dropped {
			c.low = kept[0].Offset // matches below it are the next read's
		}
		slices.Reverse(kept)
		c.recs, c.took = kept, time.Since(begin)
		l.chunks <- c
	}()
}

// matches reports whether msg passes the filter, from its bytes alone: a
// Record is made for matches only.
func (l *listing) matches(msg *sarama.ConsumerMessage) bool {
	if !l.cutoff.IsZero() && msg.Timestamp.Before(l.cutoff) {
		return false
	}
	if l.f.Reason == "" {
		return true
	}
	match := false // the last dlq-reason counts, as for dlq.Record.Reason
	for _, h := range msg.Headers {
		if h != nil && string(h.Key) == dlq.HeaderReason {
			match = bytes.Equal(h.Value, []byte(l.f.Reason))
		}
	}
	return match
}
