package daemon

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// workload is what a fault test sends, and what it must find afterwards:
// valid orders (some sent twice, byte for byte), broken messages, and
// conflicting versions of stored orders. Orders are keyed by order_uid, so
// a copy or a conflicting version lands on its original's partition after
// it, as a producer's would.
type workload struct {
	recs      []*kgo.Record
	valid     map[string][]byte // order_uid → the JSON it must be stored and served with
	items     int               // items of the valid orders
	condemned map[string]bool   // payloads that must be dead-lettered: broken, conflicting
	dups      int
}

// newWorkload generates n valid orders and, mixed in among them, broken
// messages, exact copies and conflicting versions at the given shares of n.
func newWorkload(seed uint64, n int, broken, dups, conflicts float64) *workload {
	gen := orderfake.New(seed)
	rnd := rand.New(rand.NewPCG(seed, 7))
	w := &workload{valid: map[string][]byte{}, condemned: map[string]bool{}}
	var sent []*kgo.Record // valid records, for copies and conflicts
	for len(w.valid) < n {
		switch r := rnd.Float64(); {
		case r < broken:
			payload, _ := gen.Broken()
			if !w.condemned[string(payload)] {
				w.condemned[string(payload)] = true
				w.recs = append(w.recs, &kgo.Record{Topic: "orders", Value: payload})
			}
		case r < broken+dups && len(sent) > 0:
			orig := sent[rnd.IntN(len(sent))]
			w.recs = append(w.recs, &kgo.Record{Topic: "orders", Key: orig.Key, Value: orig.Value})
			w.dups++
		case r < broken+dups+conflicts && len(sent) > 0:
			orig := sent[rnd.IntN(len(sent))]
			var o order.Order
			if err := order.NewDecoder().Decode(orig.Value, &o); err != nil {
				panic(err)
			}
			o.Locale = fmt.Sprintf("x%d", len(w.recs)) // same order_uid, other content
			doc := order.AppendJSON(nil, &o)
			w.condemned[string(doc)] = true
			w.recs = append(w.recs, &kgo.Record{Topic: "orders", Key: orig.Key, Value: doc})
		default:
			o := gen.Order()
			doc := order.AppendJSON(nil, &o)
			w.valid[o.OrderUID] = doc
			w.items += len(o.Items)
			rec := &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: doc}
			sent = append(sent, rec)
			w.recs = append(w.recs, rec)
		}
	}
	return w
}

// sendBroken produces n more broken messages, which must be dead-lettered
// too, and waits for Kafka's acknowledgement.
func (w *workload) sendBroken(t *testing.T, brokers []string, seed uint64, n int) {
	t.Helper()
	gen := orderfake.New(seed)
	var recs []*kgo.Record
	for len(recs) < n {
		payload, _ := gen.Broken()
		if !w.condemned[string(payload)] {
			w.condemned[string(payload)] = true
			recs = append(recs, &kgo.Record{Topic: "orders", Value: payload})
		}
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)
}

// produceAll sends the workload in batches from a goroutine of its own and
// returns a channel closed once Kafka has acknowledged every record. A
// failed produce (the broker away) is retried: the workload arrives whole,
// whatever the fault.
func (w *workload) produceAll(t *testing.T, brokers []string, perSecond int) <-chan struct{} {
	t.Helper()
	client := testenv.KafkaClient(t, brokers, kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(5*time.Minute))
	done := make(chan struct{})
	go func() {
		defer close(done)
		const batch = 200
		start := time.Now()
		for i := 0; i < len(w.recs); i += batch {
			if perSecond > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			err := client.ProduceSync(ctx, w.recs[i:min(i+batch, len(w.recs))]...).FirstErr()
			cancel()
			if err != nil {
				t.Errorf("produce the workload: %v", err)
				return
			}
		}
	}()
	return done
}

// verify checks what every fault test promises: every valid order stored
// exactly once with all its items, every condemned message on the
// dead-letter topic and nothing else there, the group's offsets committed
// to the end, and every replica healthy and serving every order.
func (w *workload) verify(t *testing.T, dbURL string, brokers []string, replicas ...*daemonRun) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d orders stored", len(w.valid)), func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= len(w.valid)
	})
	waitCommittedToEnd(t, brokers, "orderd", "orders")

	stored := storedDocs(t, dbURL)
	if len(stored) != len(w.valid) {
		t.Errorf("%d orders stored, want exactly %d", len(stored), len(w.valid))
	}
	for uid, doc := range w.valid {
		if got := stored[uid]; !bytes.Equal(got, doc) {
			at := 0
			for at < min(len(got), len(doc)) && got[at] == doc[at] {
				at++
			}
			from := max(at-40, 0)
			t.Fatalf("order %s stored as ...%q..., want ...%q... (from byte %d)", uid,
				got[from:min(at+40, len(got))], doc[from:min(at+40, len(doc))], at)
		}
	}
	for query, want := range map[string]int{
		"SELECT count(*) FROM deliveries":                 len(w.valid),
		"SELECT count(*) FROM payments":                   len(w.valid),
		"SELECT count(*) FROM items":                      w.items,
		"SELECT coalesce(sum(item_count), 0) FROM orders": w.items,
	} {
		if got := queryInt(t, dbURL, query); got != want {
			t.Errorf("%s = %d, want %d", query, got, want)
		}
	}

	eventually(t, "every condemned message dead-lettered", func() bool {
		return testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) >= int64(len(w.condemned))
	})
	seen := map[string]bool{}
	for _, r := range testenv.ReadTopic(t, brokers, "orders.dlq") {
		if !w.condemned[string(r.Value)] {
			t.Fatalf("dead letter %.80q (headers %v) was not sent broken or conflicting", r.Value, headers(r))
		}
		seen[string(r.Value)] = true // a redelivered message may be dead-lettered twice
	}
	if len(seen) != len(w.condemned) {
		t.Errorf("%d of %d condemned messages on the dead-letter topic", len(seen), len(w.condemned))
	}

	for i, r := range replicas {
		r.waitHealthy(t)
		if missing := r.missing(t, w.valid); len(missing) > 0 {
			t.Errorf("replica %d does not serve %d orders, e.g. %s", i, len(missing), missing[0])
		}
	}
}

// storedDocs returns every stored order's JSON by order_uid.
func storedDocs(t *testing.T, dbURL string) map[string][]byte {
	t.Helper()
	ctx, conn, done := testConn(t, dbURL, waitFor)
	defer done()
	rows, err := conn.Query(ctx, "SELECT order_uid, doc FROM orders")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for rows.Next() {
		var uid string
		var doc []byte
		if err := rows.Scan(&uid, &doc); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[uid]; dup {
			t.Fatalf("order %s stored twice", uid)
		}
		out[uid] = doc
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// missing returns the orders of want that r does not serve byte for byte,
// asked from a few goroutines.
func (r *daemonRun) missing(t *testing.T, want map[string][]byte) []string {
	t.Helper()
	uids := make(chan string)
	var (
		mu  sync.Mutex
		out []string
		wg  sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	for range 8 {
		wg.Go(func() {
			for uid := range uids {
				resp, err := client.Get(r.base + "/order/" + uid)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					var body bytes.Buffer
					_, _ = body.ReadFrom(resp.Body)
					resp.Body.Close()
					ok = ok && bytes.Equal(body.Bytes(), want[uid])
				}
				if !ok {
					mu.Lock()
					out = append(out, uid)
					mu.Unlock()
				}
			}
		})
	}
	for uid := range want {
		uids <- uid
	}
	close(uids)
	wg.Wait()
	return out
}
