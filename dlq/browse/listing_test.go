package browse

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
)

// bigRecords is how many dead letters the large fixture holds.
const bigRecords = 100_000

// The large fixture: bigRecords dead letters, record i on partition i%3 at
// offset i/3, key and payload {"n":i}.
//
//   - All but the last 1,000 were appended two days ago, a millisecond
//     apart; the last 1,000 in the last half hour, a millisecond apart.
//   - Among the recent ones, every 50th failed three days ago (its publish
//     was delayed by an outage): dlq-failed-at is old, the Kafka timestamp
//     recent. And a few were appended by a producer whose clock is three
//     hours slow: their Kafka timestamps are old, among recent ones.
//   - Seven are conflicts, spread far apart (bigConflicts); the others are
//     invalid_json.
//
// It is produced once per test binary, on its own cluster: producing it
// takes seconds under -race. Tests that trim it use a copy on trim.dlq.
var (
	bigOnce    sync.Once
	bigCluster *kfake.Cluster
	bigBrokers []string
	bigTimes   [bigRecords]time.Time // the Kafka timestamp of record i
	bigErr     error
)

var (
	bigConflicts = []int{99_997, 88_888, 71_234, 50_001, 33_333, 14_000, 5} // newest first
	bigSkewed    = []int{99_001, 99_002, 99_004}                            // old Kafka timestamps among recent ones
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bigCluster != nil {
		bigCluster.Close()
	}
	os.Exit(code)
}

func bigRecord(topic string, i int, now time.Time) *kgo.Record {
	ts := now.Add(-48 * time.Hour).Add(time.Duration(i) * time.Millisecond)
	failedAt := ts
	if i >= bigRecords-1000 {
		ts = now.Add(-30 * time.Minute).Add(time.Duration(i-(bigRecords-1000)) * time.Millisecond)
		failedAt = ts
		if i%50 == 0 {
			failedAt = now.Add(-72 * time.Hour)
		}
		if slices.Contains(bigSkewed, i) {
			ts = now.Add(-3 * time.Hour).Add(time.Duration(i-(bigRecords-1000)) * time.Millisecond)
		}
	}
	reason := dlq.ReasonInvalidJSON
	if slices.Contains(bigConflicts, i) {
		reason = dlq.ReasonConflict
	}
	r := deadLetter(strconv.Itoa(i), `{"n":`+strconv.Itoa(i)+`}`, reason, failedAt, i)
	r.Topic, r.Partition, r.Timestamp = topic, int32(i%3), ts
	return r
}

// big returns the large fixture's brokers. Its dead letters are on
// orders.dlq and, for tests that trim them, on trim.dlq.
func big(t *testing.T) []string {
	t.Helper()
	bigOnce.Do(func() {
		start := time.Now()
		bigCluster, bigErr = kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "orders", "orders.dlq", "trim.dlq"))
		if bigErr != nil {
			return
		}
		bigBrokers = bigCluster.ListenAddrs()
		client, err := kgo.NewClient(kgo.SeedBrokers(bigBrokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.ProducerBatchMaxBytes(1<<20))
		if err != nil {
			bigErr = err
			return
		}
		defer client.Close()
		now := time.Now()
		recs := make([]*kgo.Record, 0, 2*bigRecords)
		for i := range bigRecords {
			r := bigRecord("orders.dlq", i, now)
			bigTimes[i] = r.Timestamp
			recs = append(recs, r, bigRecord("trim.dlq", i, now))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		bigErr = client.ProduceSync(ctx, recs...).FirstErr()
		t.Logf("produced %d dead letters, twice, in %s", bigRecords, time.Since(start))
	})
	if bigErr != nil {
		t.Fatalf("large fixture: %v", bigErr)
	}
	return bigBrokers
}

// bigIndex is the fixture's i of a listed record.
func bigIndex(rec dlq.Record) int { return int(rec.Offset)*3 + int(rec.Partition) }

func indexes(recs []dlq.Record) []int {
	out := make([]int, len(recs))
	for i, r := range recs {
		out[i] = bigIndex(r)
	}
	return out
}

// newestFirst is the fixture's indexes that match, as a listing orders
// them: by Kafka timestamp, newest first.
func newestFirst(match func(i int) bool) []int {
	var out []int
	for i := range bigRecords {
		if match(i) {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return bigTimes[b].Compare(bigTimes[a]) })
	return out
}

// listAll follows a listing's cursors to its end, checking each page on the
// way, and returns every record listed with the number of pages.
func listAll(t *testing.T, r *Reader, f Filter, check func(page Page, took time.Duration)) ([]dlq.Record, int) {
	t.Helper()
	var all []dlq.Record
	for pages := 1; ; pages++ {
		start := time.Now()
		page, err := r.ListPage(context.Background(), f)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		check(page, time.Since(start))
		all = append(all, page.Records...)
		if page.Next == "" {
			return all, pages
		}
		if pages == 100 {
			t.Fatalf("still not at the end after %d pages; last cursor %s", pages, page.Next)
		}
		f.Cursor = page.Next
	}
}

// A listing of limit N is the N newest over all partitions, and says there
// are more.
func TestReader_ListsExactlyTheNewestNOfAHundredThousand(t *testing.T) {
	testenv.SkipIfShort(t, "a hundred thousand records")
	r := NewReader(saramaClient(t, big(t)), "orders.dlq")
	newest := newestFirst(func(int) bool { return true })
	f := func(limit int) {
		t.Helper()
		start := time.Now()
		page, err := r.ListPage(context.Background(), Filter{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("limit %d: %s", limit, time.Since(start))
		if got := indexes(page.Records); !slices.Equal(got, newest[:limit]) {
			t.Fatalf("limit %d lists %d records, %v…; want the %d newest, %v…", limit, len(got), got[:min(5, len(got))], limit, newest[:5])
		}
		if page.Next == "" || page.Partial || page.Trimmed != nil {
			t.Errorf("limit %d: next %q, partial %v, trimmed %v; want a cursor, complete, untrimmed", limit, page.Next, page.Partial, page.Trimmed)
		}
	}
	f(1)
	f(50)
	f(500)
	f(2000)

	// What a listing keeps of each record: headers whole, a preview of the
	// payload, and how long the payload is.
	page, err := r.ListPage(context.Background(), Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := page.Records[0]
	if string(rec.Value) != `{"n":99999}` || rec.ValueBytes != len(rec.Value) || len(rec.Headers) != 7 || rec.Reason != dlq.ReasonInvalidJSON {
		t.Errorf("listed %+v", rec)
	}

	// Pages of 1,000 over the newest 5,000: each the next 1,000, none twice.
	var got []int
	cur := ""
	start := time.Now()
	defer func() { t.Logf("5 pages of 1,000: %s", time.Since(start)) }()
	for range 5 {
		page, err := r.ListPage(context.Background(), Filter{Limit: 1000, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		got, cur = append(got, indexes(page.Records)...), page.Next
	}
	if !slices.Equal(got, newest[:5000]) {
		t.Errorf("five pages of 1,000 are not the 5,000 newest in order")
	}
}

// A sparse filter with no since: each page answers within its budget,
// partial, and following the cursors finds every match exactly once.
func TestReader_SparseFilterPagesWithinTheBudget(t *testing.T) {
	r := NewReader(saramaClient(t, big(t)), "orders.dlq")
	// A page stops reading early enough to close its reads within the
	// budget, once it got somewhere: past it by one round of reads, about
	// 150 ms idle. The slack is for -race on cores the daemon's tests keep
	// busy, where a page once took 1.94 s: what shows that the budget
	// stops a page is the first page's being partial, checked below, and a
	// page that ignored it would read the whole topic.
	const budget, slack = 500 * time.Millisecond, 3 * time.Second
	first := true
	start := time.Now()
	recs, pages := listAll(t, r, Filter{Reason: dlq.ReasonConflict, Limit: 50, Budget: budget}, func(page Page, took time.Duration) {
		if took > budget+slack {
			t.Errorf("a page took %s, budget %s", took, budget)
		}
		if first && (!page.Partial || page.Next == "") {
			t.Errorf("first page: partial %v, next %q; want partial with a cursor", page.Partial, page.Next)
		}
		first = false
	})
	t.Logf("%d pages, %s in all", pages, time.Since(start))
	if got := indexes(recs); !slices.Equal(got, bigConflicts) {
		t.Fatalf("listed %v, want %v", got, bigConflicts)
	}
	for _, rec := range recs {
		if rec.Reason != dlq.ReasonConflict {
			t.Errorf("%s listed with reason %s", rec.Ref(), rec.Reason)
		}
	}
}

// Since is by Kafka timestamp: a record that failed long ago but was
// appended recently is listed; one appended by a slow clock is not, and
// nothing older hides newer ones.
func TestReader_SinceByKafkaTimestamp(t *testing.T) {
	r := NewReader(saramaClient(t, big(t)), "orders.dlq")
	cutoff := time.Now().Add(-time.Hour)
	want := newestFirst(func(i int) bool { return !bigTimes[i].Before(cutoff) })
	start := time.Now()
	page, err := r.ListPage(context.Background(), Filter{Since: time.Hour, Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("since 1h, %d records: %s", len(page.Records), time.Since(start))
	if got := indexes(page.Records); !slices.Equal(got, want) {
		t.Fatalf("since 1h lists %d records, want %d (%d appended recently, %d of them with slow clocks)",
			len(got), len(want), 1000, len(bigSkewed))
	}
	if page.Next != "" || page.Partial {
		t.Errorf("next %q, partial %v; want the whole answer", page.Next, page.Partial)
	}
	delayed := 0
	for _, rec := range page.Records {
		if rec.FailedAt.Before(time.Now().Add(-48 * time.Hour)) {
			delayed++
		}
	}
	if delayed != 20 {
		t.Errorf("%d records with an old dlq-failed-at listed, want 20", delayed)
	}

	// With a reason too, and across pages.
	recs, _ := listAll(t, r, Filter{Since: time.Hour, Reason: dlq.ReasonConflict, Limit: 1}, func(Page, time.Duration) {})
	if got := indexes(recs); !slices.Equal(got, []int{99_997}) {
		t.Errorf("conflicts since 1h: %v, want [99997]", got)
	}
}

// Retention trimming offsets the listing was about to read is no error and
// no wait: the listing goes on from the new oldest offset and says so.
func TestReader_TrimmedWhileListing(t *testing.T) {
	brokers := big(t)
	r := NewReader(saramaClient(t, brokers), "trim.dlq")
	adm := kadm.NewClient(testenv.KafkaClient(t, brokers))
	trim := func(p int32, below int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: "trim.dlq", Partition: p, At: below})
		resp, err := adm.DeleteRecords(ctx, os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Errorf("delete records of trim.dlq[%d] below %d: %v", p, below, err)
		}
	}

	// When the listing fetches partition 0 below offset 11000, having
	// subscribed there, retention removes everything below 12000 before
	// the fetch is served: conflict 33333 (0:11111) goes.
	var once sync.Once
	trimmed := make(chan struct{})
	bigCluster.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		for _, rt := range req.(*kmsg.FetchRequest).Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == "trim.dlq" && rp.Partition == 0 && rp.FetchOffset < 11_000 {
					once.Do(func() {
						// The fetch waits until the records are gone.
						go func() { trim(0, 12_000); close(trimmed) }()
						bigCluster.SleepControl(func() { <-trimmed })
					})
					bigCluster.DropControl()
				}
			}
		}
		return nil, nil, false
	})
	start := time.Now()
	var said []Trimmed
	recs, pages := listAll(t, r, Filter{Reason: dlq.ReasonConflict, Limit: 50}, func(page Page, took time.Duration) {
		said = append(said, page.Trimmed...)
	})
	t.Logf("listed with a trim in %d pages, %s", pages, time.Since(start))
	select {
	case <-trimmed:
	default:
		t.Fatal("the listing never read partition 0 below 11000")
	}
	if !slices.Equal(said, []Trimmed{{Partition: 0, Oldest: 12_000}}) {
		t.Errorf("the pages say trimmed %v, want partition 0 from 12000, once", said)
	}
	want := slices.DeleteFunc(slices.Clone(bigConflicts), func(i int) bool { return i == 33_333 })
	if got := indexes(recs); !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v: all the topic still holds", got, want)
	}

	// Trimmed between pages: partition 1 past where the cursor continues,
	// partition 2 below it.
	page, err := r.ListPage(context.Background(), Filter{Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	trim(1, bigRecords/3)
	trim(2, 30_000)
	page, err = r.ListPage(context.Background(), Filter{Limit: 100_000, Cursor: page.Next, Budget: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(page.Trimmed, []Trimmed{{Partition: 1, Oldest: bigRecords / 3}}) {
		t.Errorf("trimmed %v, want partition 1 from %d", page.Trimmed, bigRecords/3)
	}
	perPartition := map[int32]int{}
	for _, rec := range page.Records {
		perPartition[rec.Partition]++
	}
	// Partition 0 from 12000, partition 2 from 30000, less the newest 30.
	if want := map[int32]int{0: 33_334 - 12_000 - 10, 2: 33_333 - 30_000 - 10}; fmt.Sprint(perPartition) != fmt.Sprint(want) {
		t.Errorf("listed per partition %v, want %v", perPartition, want)
	}
}

// Get reads a record whole, Size counts what the topic holds, and both say
// when a record is gone.
func TestReader_GetAndSizeOfAHundredThousand(t *testing.T) {
	testenv.SkipIfShort(t, "a hundred thousand records")
	r := NewReader(saramaClient(t, big(t)), "orders.dlq")
	rec, err := r.Get(context.Background(), dlq.Ref{Partition: 1, Offset: 16_000})
	if err != nil || bigIndex(rec) != 48_001 || string(rec.Value) != `{"n":48001}` || rec.Previewed() {
		t.Fatalf("Get(1:16000) = %+v, %v", rec, err)
	}
	if n, err := r.Size(context.Background()); err != nil || n != bigRecords {
		t.Errorf("Size = %d, %v; want %d", n, err, bigRecords)
	}
	if _, err := r.Get(context.Background(), dlq.Ref{Partition: 1, Offset: bigRecords}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get past the end: %v, want ErrNotFound", err)
	}
}

func TestCursor_RoundTripsAndRefusesOthers(t *testing.T) {
	c := cursor{0: {below: 12, chunk: 256}, 7: {below: 1 << 40, chunk: 0}}
	s := c.String()
	got, err := parseCursor(s)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(c) {
		t.Fatalf("parseCursor(%q) = %v, %v; want %v", s, got, err, c)
	}
	for _, ch := range s {
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_') {
			t.Fatalf("cursor %q has %q, which a query string must escape", s, ch)
		}
	}
	f := func(in string) {
		t.Helper()
		if _, err := parseCursor(in); !errors.Is(err, ErrBadCursor) {
			t.Errorf("parseCursor(%q) = %v, want ErrBadCursor", in, err)
		}
	}
	f("x")                        // no version
	f("1!!")                      // not base64url
	f("1")                        // empty
	f("1" + b64("0:12"))          // no chunk
	f("1" + b64("0:12:1,0:13:1")) // a partition twice
	f("1" + b64("0:-1:1"))        // negative offset
	f("2" + b64("0:12:1"))        // another version
	if got, err := parseCursor(""); got != nil || err != nil {
		t.Errorf(`parseCursor("") = %v, %v; want the start`, got, err)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
