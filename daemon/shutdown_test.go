package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/postgres"
)

// readKind is what a read during shutdown asked for.
type readKind int

const (
	cachedRead   readKind = iota // an order ingested through Kafka, in the cache
	uncachedRead                 // an order stored straight into PostgreSQL, read through
	unknownRead                  // an id no order has: 404 after asking PostgreSQL
	kinds
)

func (k readKind) String() string { return [...]string{"cached", "uncached", "unknown"}[k] }

// shutdownLoad reads orders over HTTP from several goroutines until told to
// stop, and records how each read went.
type shutdownLoad struct {
	base, addr string
	cached     []string
	uncached   []string
	next       atomic.Int64 // the next uncached id: each is read once, so it is never cached yet

	sigterm atomic.Int64 // UnixNano of the SIGTERM, 0 before

	mu         sync.Mutex
	served     [kinds]int // 200 or 404, after the SIGTERM
	fiveXX     []string
	resets     []string  // transport errors on a kept-alive connection, or while the listener still accepted
	retried    int       // reads the client sent again after a kept-alive connection failed under them
	notReady   bool      // /health said 503, lifecycle failing, after the SIGTERM
	notReadyAt time.Time // when /readyz first said 503, after the SIGTERM
	closedAt   time.Time // when a connection was first refused
	healthSeen int
}

func (l *shutdownLoad) read(client *http.Client, n int) {
	kind := readKind(n % int(kinds))
	var uid string
	switch kind {
	case cachedRead:
		uid = l.cached[n%len(l.cached)]
	case uncachedRead:
		i := l.next.Add(1)
		if i >= int64(len(l.uncached)) {
			return // all read once; the rest would be cached
		}
		uid = l.uncached[i]
	case unknownRead:
		uid = fmt.Sprintf("unknown-%d-%d", n, time.Now().UnixNano())
	}
	afterSignal := l.sigterm.Load() != 0
	// Which connections the request went out on: a kept-alive one that
	// fails under it is a reset a client sees, even where Go's transport
	// hides it by sending the request again on a new one.
	var conns, reused int
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		conns++
		if info.Reused {
			reused++
		}
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, l.base+"/order/"+uid, nil)
	resp, err := client.Do(req)
	if conns > 1 {
		l.mu.Lock()
		l.retried++
		l.resets = append(l.resets, fmt.Sprintf("%s read: a kept-alive connection failed under it; sent again on another", kind))
		l.mu.Unlock()
	}
	if err != nil {
		// Acceptable only on a new connection once the listener is
		// closed: then the connection is refused.
		c, derr := net.DialTimeout("tcp", l.addr, time.Second)
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case derr == nil:
			c.Close()
			l.resets = append(l.resets, fmt.Sprintf("%s read while the listener accepted: %v", kind, err))
		case reused > 0:
			l.resets = append(l.resets, fmt.Sprintf("%s read on a kept-alive connection: %v", kind, err))
		case l.closedAt.IsZero():
			l.closedAt = time.Now()
		}
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case resp.StatusCode >= 500:
		l.fiveXX = append(l.fiveXX, fmt.Sprintf("%s read of %s: %d", kind, uid, resp.StatusCode))
	case afterSignal && (kind == unknownRead && resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusOK):
		l.served[kind]++
	}
}

func (l *shutdownLoad) watchHealth(client *http.Client) {
	// Loaded before the request, as in read: a 503 to a request sent
	// before the SIGTERM (at start, say) is not the shutdown's.
	afterSignal := l.sigterm.Load() != 0
	if resp, err := client.Get(l.base + "/readyz"); err == nil {
		resp.Body.Close()
		l.mu.Lock()
		if afterSignal && resp.StatusCode == http.StatusServiceUnavailable && l.notReadyAt.IsZero() {
			l.notReadyAt = time.Now()
		}
		l.mu.Unlock()
	}
	var h healthReport
	resp, err := client.Get(l.base + "/health")
	if err != nil {
		return
	}
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if l.sigterm.Load() != 0 {
		l.mu.Lock()
		l.healthSeen++
		if resp.StatusCode == http.StatusServiceUnavailable && contains(h.Failing, "lifecycle") {
			l.notReady = true
		}
		l.mu.Unlock()
	}
}

// SIGTERM under a read load of cached, uncached and unknown ids from 32
// clients on kept-alive connections, three times over: /readyz and /health
// turn 503 (lifecycle) first, and HTTP goes on serving for SHUTDOWN_GRACE
// after. Until the listener closes no read gets a 5xx, because the store
// and cache close only after HTTP has stopped; and no read ever fails on a
// kept-alive connection, not even one Go's transport would quietly send
// again: from the SIGTERM on every answer says Connection: close, so
// clients leave their connections while new ones are still accepted. Run
// returns with no goroutine of orderd's left behind.
func TestShutdownUnderReadLoadServesUntilTheListenerCloses(t *testing.T) {
	// Serial: it sends SIGTERM to the process, which every Run in it would
	// take as its own, and checks it for leaked goroutines; and it times
	// the listener's grace from its own view of /readyz, which lags behind
	// by more than the 100 ms it allows when other tests' daemons share
	// the cores (a run in a process of its own, beside them, saw 750 ms).
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	gen := orderfake.New(77)

	// Goroutines of the test's own (kfake, its clients) are not orderd's.
	producer := testenv.KafkaClient(t, brokers)
	leaksBefore := goleak.IgnoreCurrent()
	for cycle := range 3 {
		shutdownCycle(t, cycle, brokers, dbURL, gen, producer)
		if t.Failed() {
			return
		}
	}
	goleak.VerifyNone(t, leaksBefore,
		// The test's broker, serving the test's own clients.
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).read.func1"),
		goleak.IgnoreAnyFunction("github.com/twmb/franz-go/pkg/kfake.(*clientConn).write"),
		// Libraries' process-wide tickers, started once and never
		// stopped: sarama's metrics and fasthttp's Date header.
		goleak.IgnoreAnyFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// fasthttp's worker-pool cleaner sleeps MaxIdleWorkerDuration
		// (10s) between rounds and sees the stop only after its sleep; it
		// then ends by itself.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// shutdownCycle starts orderd, reads from it with 32 clients, sends SIGTERM
// and checks how the reads went until Run returned.
func shutdownCycle(t *testing.T, cycle int, brokers []string, dbURL string, gen *orderfake.Generator, producer *kgo.Client) {
	t.Helper()
	const readers = 32
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "SHUTDOWN_GRACE": "1s",
		// Misses wait for one of the 8 connections rather than get a
		// busy 503: this test is about shutdown.
		"READ_CONCURRENCY": "8", "READ_QUEUE_TIMEOUT": "10s",
	})
	d.waitHealthy(t)
	load := &shutdownLoad{base: d.base, addr: strings.TrimPrefix(d.base, "http://")}
	var recs []*kgo.Record
	for range 200 {
		o := gen.Order()
		load.cached = append(load.cached, o.OrderUID)
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
	}
	testenv.Produce(t, producer, recs...)
	eventually(t, "200 more orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") == (cycle+1)*20200-20000 })
	load.uncached = saveDirectly(t, dbURL, gen, 20000)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: readers}}
	defer client.CloseIdleConnections()
	for w := range readers {
		wg.Go(func() {
			for n := w; ; n += readers {
				select {
				case <-stop:
					return
				default:
				}
				load.read(client, n)
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			load.watchHealth(client)
			time.Sleep(2 * time.Millisecond)
		}
	})
	eventually(t, "reads under way before the signal", func() bool { return load.next.Load() > 2*readers })
	load.sigterm.Store(time.Now().UnixNano())
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.exited(t); err != nil {
		t.Fatalf("cycle %d: Run after SIGTERM: %v", cycle+1, err)
	}
	close(stop)
	wg.Wait()
	client.CloseIdleConnections()

	load.mu.Lock()
	defer load.mu.Unlock()
	if len(load.fiveXX) > 0 {
		t.Errorf("cycle %d: %d reads got a 5xx during shutdown, e.g. %s", cycle+1, len(load.fiveXX), load.fiveXX[0])
	}
	if len(load.resets) > 0 {
		t.Errorf("cycle %d: %d reads failed on a kept-alive connection or while the listener still accepted (%d sent again by the client), e.g. %s",
			cycle+1, len(load.resets), load.retried, load.resets[0])
	}
	for k := range kinds {
		if load.served[k] == 0 {
			t.Errorf("cycle %d: no %s read was served after SIGTERM: the test did not cover the shutdown", cycle+1, k)
		}
	}
	if !load.notReady {
		t.Errorf("cycle %d: /health never said not ready (lifecycle) after SIGTERM, in %d looks", cycle+1, load.healthSeen)
	}
	switch grace := load.closedAt.Sub(load.notReadyAt); {
	case load.notReadyAt.IsZero() || load.closedAt.IsZero():
		t.Errorf("cycle %d: /readyz 503 at %v, listener closed at %v: want both seen", cycle+1, load.notReadyAt, load.closedAt)
	case grace < 900*time.Millisecond:
		t.Errorf("cycle %d: the listener closed %s after /readyz turned 503; SHUTDOWN_GRACE is 1s", cycle+1, grace)
	default:
		t.Logf("cycle %d: the listener closed %s after /readyz turned 503 (SHUTDOWN_GRACE 1s); served after SIGTERM: %d cached, %d uncached, %d unknown",
			cycle+1, grace.Round(10*time.Millisecond), load.served[cachedRead], load.served[uncachedRead], load.served[unknownRead])
	}
}

// saveDirectly stores n generated orders straight into PostgreSQL, past
// orderd: they are in no cache.
func saveDirectly(t *testing.T, dbURL string, gen *orderfake.Generator, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	pg, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var uids []string
	for len(uids) < n {
		recs := make([]storage.Record, 0, 1000)
		for range min(1000, n-len(uids)) {
			o := gen.Order()
			recs = append(recs, storage.Record{Order: &o, JSON: order.AppendJSON(nil, &o)})
			uids = append(uids, o.OrderUID)
		}
		if _, err := pg.SaveOrders(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	return uids
}
