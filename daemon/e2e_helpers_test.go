package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/orderd/orderd/internal/testenv"
)

const waitFor = 60 * time.Second

// logBuffer collects a daemon's log lines; safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// daemonRun is orderd started through Run, as main starts it.
type daemonRun struct {
	base   string // http://127.0.0.1:port
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startDaemon runs orderd with env (HTTP_ADDR is chosen here) and stops it
// when the test ends. Its log is printed if the test fails.
func startDaemon(t *testing.T, env map[string]string, args ...string) *daemonRun {
	t.Helper()
	return startDaemonIn(t, context.Background(), env, args...)
}

// startDaemonIn is startDaemon with Run's context derived from parent, for
// what a test passes that way (telemetry.WithTracerProvider).
func startDaemonIn(t *testing.T, parent context.Context, env map[string]string, args ...string) *daemonRun {
	t.Helper()
	addr := freeAddr(t)
	full := testSettings(addr, env)
	r := &daemonRun{base: "http://" + addr, logs: &logBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(parent)
	r.cancel = cancel
	go func() {
		r.done <- Run(ctx, args, func(k string) string { return full[k] }, r.logs, r.logs)
	}()
	t.Cleanup(func() {
		if err := r.stop(t); err != nil {
			t.Errorf("orderd stopped with %v", err)
		}
		if t.Failed() {
			t.Logf("orderd log:\n%s", r.logs)
		}
	})
	return r
}

// testSettings are the settings a test's orderd listens on addr with: env,
// over these defaults.
func testSettings(addr string, env map[string]string) map[string]string {
	full := map[string]string{
		"HTTP_ADDR":       addr,
		"LOG_FORMAT":      "json",
		"KAFKA_HEARTBEAT": "200ms",
		"DRAIN_TIMEOUT":   "2s",
		"SHUTDOWN_GRACE":  "0s", // no load balancer to wait for
		// The tests' daemons share two cores with each other (they run in
		// parallel) and with PostgreSQL, so a query may wait for a pool's
		// connection longer than the 100 ms an idle machine needs: a
		// request would get the busy 503 in a test that is not about it.
		"READ_QUEUE_TIMEOUT": "5s",
		"LIST_QUEUE_TIMEOUT": "5s",
		// Half the default: the tests' reads are few, and PostgreSQL's
		// connections are what bounds how many daemons run at once (see
		// maxInstances).
		"READ_CONCURRENCY": "4",
	}
	maps.Copy(full, env)
	return full
}

// stop cancels Run and returns its error; it fails the test if Run does
// not return within waitFor.
func (r *daemonRun) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.exited(t)
}

// exited waits for Run to return, for whatever reason, and returns its
// error, or an error saying it did not return within waitFor.
func (r *daemonRun) exited(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		select {
		case r.err = <-r.done:
		case <-time.After(waitFor):
			r.err = fmt.Errorf("Run did not return within %s of being stopped", waitFor)
		}
	})
	return r.err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// get fetches base+path and returns status and body.
func (r *daemonRun) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, err := httpClient.Get(r.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// health returns /health's status code and decoded body.
func (r *daemonRun) health(t *testing.T) (int, healthReport) {
	t.Helper()
	resp, err := httpClient.Get(r.base + "/health")
	if err != nil {
		return 0, healthReport{}
	}
	defer resp.Body.Close()
	var h healthReport
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return resp.StatusCode, h
}

// metrics scrapes GET /metrics into series → value, the series written as
// in the exposition format (name{label="value",...}).
func (r *daemonRun) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	code, body := r.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

type healthReport struct {
	Status     string   `json:"status"`
	Failing    []string `json:"failing"`
	Components map[string]struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"components"`
}

// waitHealthy waits for GET /health 200; on timeout it says what was still
// failing, and why.
func (r *daemonRun) waitHealthy(t *testing.T) {
	t.Helper()
	var last healthReport
	deadline := time.Now().Add(waitFor)
	for {
		code, h := r.health(t)
		if code == http.StatusOK {
			return
		}
		last = h
		if time.Now().After(deadline) {
			var why []string
			for _, name := range last.Failing {
				why = append(why, name+": "+last.Components[name].Detail)
			}
			t.Fatalf("GET /health answers 200: not within %s; failing: %s", waitFor, strings.Join(why, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually polls cond until it holds, failing the test after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, waitFor, what, cond)
}

// testConn opens a connection of the test's own to the test database, and
// a context that bounds its work to timeout. The returned func closes both;
// it is not left to t.Cleanup because helpers polled in a loop would pile
// up open connections until the test ends.
func testConn(t *testing.T, dbURL string, timeout time.Duration) (context.Context, *pgx.Conn, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		cancel()
		t.Fatalf("connect to the test database: %v", err)
	}
	return ctx, conn, func() {
		conn.Close(context.Background())
		cancel()
	}
}

// queryInt runs a query returning one integer against the test database.
func queryInt(t *testing.T, dbURL, query string) int {
	t.Helper()
	ctx, conn, done := testConn(t, dbURL, 10*time.Second)
	defer done()
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		// Before orderd's migrations ran, the tables do not exist yet.
		if strings.Contains(err.Error(), "does not exist") {
			return 0
		}
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitCommittedToEnd waits until the group has committed every partition of
// topic up to its end.
func waitCommittedToEnd(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	ends := testenv.EndOffsets(t, brokers, topic)
	eventually(t, "committed offsets reach the end of "+topic, func() bool {
		got := testenv.CommittedOffsets(t, brokers, group, topic)
		for p, end := range ends {
			if got[p] != end {
				return false
			}
		}
		return true
	})
}

// execSQL runs a statement against the test database.
func execSQL(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx, conn, done := testConn(t, dbURL, 10*time.Second)
	defer done()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
