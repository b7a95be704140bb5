package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order/orderfake"
)

// startServing runs orderd with the canonical order stored and cached, and
// returns it and its host:port.
func startServing(t *testing.T, env map[string]string) (*daemonRun, string) {
	t.Helper()
	brokers, _ := testenv.Kafka(t)
	full := map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": testenv.Postgres(t)}
	for k, v := range env {
		full[k] = v
	}
	d := startDaemon(t, full)
	d.waitHealthy(t)
	testenv.Produce(t, testenv.KafkaClient(t, brokers), &kgo.Record{Topic: "orders", Key: []byte("b563feb7b2b84b6test"), Value: orderfake.ModelJSON})
	eventually(t, "the canonical order served", func() bool {
		code, _ := d.get(t, "/order/b563feb7b2b84b6test")
		return code == http.StatusOK
	})
	return d, strings.TrimPrefix(d.base, "http://")
}

// 2,000 clients that open a connection, start their headers and never
// finish them (slowloris) do not keep a normal client from its order, and
// HTTP_READ_TIMEOUT closes their connections.
func TestHTTP_SlowClientsDoNotStarveOthersAndAreCutOff(t *testing.T) {
	parallel(t, 1)
	d, addr := startServing(t, map[string]string{"HTTP_READ_TIMEOUT": "2s"})
	slow := make([]net.Conn, 0, 2000)
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	for range 2000 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("slow client %d: %v", len(slow), err)
		}
		if _, err := io.WriteString(c, "GET /order/b563feb7b2b84b6test HTTP/1.1\r\nHost: orderd\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}
	opened := time.Now()

	var took []time.Duration
	for range 20 {
		start := time.Now()
		if code, _ := d.get(t, "/order/b563feb7b2b84b6test"); code != http.StatusOK {
			t.Fatalf("a normal client among 2,000 slow ones got %d", code)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("a normal client's GET /order among 2,000 slow clients: median %s, slowest %s", took[len(took)/2], took[len(took)-1])
	// A starvation check, not a speed target (that is the bench's): a
	// client starved by the slow ones would wait seconds.
	if took[len(took)/2] > time.Second {
		t.Fatalf("a normal client waited %s among slow ones", took[len(took)/2])
	}

	// Every slow connection is closed by the server once its read deadline
	// passes: a read then ends (perhaps after a 408) instead of waiting.
	open := 0
	for _, c := range slow {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			open++ // the deadline of our own read passed: still open
		}
		// Any other error (a reset, say) is the server closing it too.
	}
	if open > 0 {
		t.Fatalf("%d of 2,000 slow connections still open %s after they started their headers", open, time.Since(opened))
	}
	t.Logf("all 2,000 slow connections closed by the server within %s", time.Since(opened).Round(100*time.Millisecond))
}

// malformedRequest is one request broken in one way, drawn from rnd.
func malformedRequest(rnd *rand.Rand) (string, []byte) {
	target := []string{"/order/b563feb7b2b84b6test", "/api/orders?limit=5", "/api/stats", "/health", "/api/admin/dlq", "/"}[rnd.IntN(6)]
	garbage := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		return string(b)
	}
	switch kind := rnd.IntN(12); kind {
	case 0:
		return "bad method", []byte(garbage(1+rnd.IntN(8)) + " " + target + " HTTP/1.1\r\nHost: o\r\n\r\n")
	case 1:
		return "huge header", []byte("GET " + target + " HTTP/1.1\r\nHost: o\r\nX-Big: " + strings.Repeat("a", 9<<10+rnd.IntN(64<<10)) + "\r\n\r\n")
	case 2:
		return "huge URI", []byte("GET /order/" + strings.Repeat("a", 9<<10+rnd.IntN(32<<10)) + " HTTP/1.1\r\nHost: o\r\n\r\n")
	case 3:
		return "broken chunked body", []byte("POST /api/admin/dlq/redrive HTTP/1.1\r\nHost: o\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x", 5+rnd.IntN(100)) + "\r\nab\r\n" + garbage(rnd.IntN(20)) + "\r\n0\r\n\r\n")
	case 4:
		return "invalid percent-encoding", []byte("GET /order/%" + garbage(1)[:1] + "z%" + " HTTP/1.1\r\nHost: o\r\n\r\n")
	case 5:
		return "NUL in the path", []byte("GET /order/ab\x00cd HTTP/1.1\r\nHost: o\r\n\r\n")
	case 6:
		return "NUL in a header", []byte("GET " + target + " HTTP/1.1\r\nHost: o\r\nX-A: a\x00b\r\n\r\n")
	case 7:
		return "header line without a colon", []byte("GET " + target + " HTTP/1.1\r\nHost: o\r\n" + strings.Repeat("x", 1+rnd.IntN(100)) + "\r\n\r\n")
	case 8:
		return "body larger than its Content-Length says", []byte("POST /api/admin/dlq/redrive HTTP/1.1\r\nHost: o\r\nContent-Length: " +
			fmt.Sprint(rnd.IntN(1<<30)) + "x\r\n\r\n{}")
	case 9:
		// Announced beyond HTTP_MAX_BODY_BYTES: refused on the header.
		return "oversized body", []byte(fmt.Sprintf("POST /api/admin/dlq/redrive HTTP/1.1\r\nHost: o\r\nContent-Length: %d\r\n\r\n", 5<<20) + strings.Repeat("x", 1<<10))
	case 10:
		return "GET with a body", []byte("GET " + target + " HTTP/1.1\r\nHost: o\r\nContent-Length: 7\r\n\r\n{\"x\":1}")
	default:
		return "random bytes", []byte(garbage(1 + rnd.IntN(2000)))
	}
}

// 10,000 malformed requests of every kind get a 4xx with a JSON error (or,
// for bytes that are no request at all, the connection closed): never a
// 5xx, never a crash, and none of their bytes in the log.
func TestHTTP_MalformedRequestsGetA4xxNeverA5xx(t *testing.T) {
	parallel(t, 1)
	// A short read deadline: random bytes without an end of headers are
	// answered when it passes.
	d, addr := startServing(t, map[string]string{"HTTP_READ_TIMEOUT": "500ms", "LOG_LEVEL": "debug"})
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	type result struct {
		kind   string
		status int
		req    []byte
	}
	results := make(chan result, 64)
	var workers sync.WaitGroup
	const total, parallel = 10_000, 32
	for w := range parallel {
		workers.Go(func() {
			rnd := rand.New(rand.NewPCG(seed, uint64(w)))
			for range total / parallel {
				kind, req := malformedRequest(rnd)
				results <- result{kind, send(addr, req), req}
			}
		})
	}
	go func() { workers.Wait(); close(results) }()
	statuses := map[string]map[int]int{} // kind → status → count; 0 for no answer
	n := 0
	for r := range results {
		n++
		if statuses[r.kind] == nil {
			statuses[r.kind] = map[int]int{}
		}
		statuses[r.kind][r.status]++
		switch {
		case r.status >= 500:
			t.Errorf("%s got %d: %.200q", r.kind, r.status, r.req)
		case r.status != 0 && r.status < 400:
			t.Errorf("%s got %d, want a 4xx: %.200q", r.kind, r.status, r.req)
		case r.status == 0 && r.kind != "random bytes":
			t.Errorf("%s got no answer: %.200q", r.kind, r.req)
		}
	}
	kinds := make([]string, 0, len(statuses))
	for kind := range statuses {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		t.Logf("%-42s %v", kind, statuses[kind])
	}
	t.Logf("%d malformed requests", n)
	d.waitHealthy(t)
	if code, _ := d.get(t, "/order/b563feb7b2b84b6test"); code != http.StatusOK {
		t.Fatalf("after %d malformed requests, GET /order: %d", n, code)
	}
	if logs := d.logs.String(); strings.Contains(logs, "X-Big") || strings.Contains(logs, "/order/ab") {
		t.Fatal("the log holds bytes of malformed requests")
	}
}

// send writes req on a connection of its own and returns the status of the
// answer, or 0 if the connection closed without one.
func send(addr string, req []byte) int {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return -1 // not an answer of any kind: reported as not a 4xx
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = c.Write(req) }() // the server may answer and close before it has read everything
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return -resp.StatusCode // an error that is not JSON: reported as not a 4xx
	}
	return resp.StatusCode
}
