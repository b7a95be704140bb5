// Package httpload is bench http: closed-loop load on GET /order/{id} with
// bounded duration and count, and the fixed-bytes baseline server it is
// compared with (in this process, or as bench serve-baseline).
//
// It never imports orderd's packages outside bench: it measures orderd from
// outside, over HTTP, as a client would.
package httpload

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/bench/internal/harness"
	"github.com/orderd/orderd/bench/internal/latency"
)

const httpSynopsis = `Closed-loop load on GET /order/{id}: -c connections, each sending its next
request as soon as the last one is answered, for -d or -n requests. Ids come
from -ids FILE (one per line) or from the server's /api/orders. -miss mixes in
requests for ids that do not exist. -baseline also measures, in this process
and with the same load, a fasthttp server answering fixed bytes the size of
an order: the ceiling for this machine, for comparison.
`

type httpOptions struct {
	url         string
	conns       int
	duration    time.Duration
	count       int
	warmup      time.Duration
	idsFile     string
	idCount     int
	miss        float64
	baseline    bool
	baselineOut bool // run the baseline server as a separate process
	timeout     time.Duration
	jsonOut     string
	plotOut     string
	allowRemote bool
}

func Run(ctx context.Context, env harness.Env, args []string) error {
	var o httpOptions
	fs := env.Flags("http", httpSynopsis)
	fs.StringVar(&o.url, "url", env.EnvOr("ORDERD_URL", "http://127.0.0.1:8081"), "orderd's base URL (env ORDERD_URL)")
	fs.IntVar(&o.conns, "c", 64, "connections, each with one request in flight")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to measure; 0 to stop by -n alone")
	fs.IntVar(&o.count, "n", 0, "stop after this many requests (0: stop by -d alone)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before measuring, not counted")
	fs.StringVar(&o.idsFile, "ids", "", "file of order ids, one per line (default: fetched from /api/orders)")
	fs.IntVar(&o.idCount, "id-count", 1000, "how many ids to fetch from /api/orders")
	fs.Float64Var(&o.miss, "miss", 0, "share of requests for ids that do not exist, 0 to 1")
	fs.BoolVar(&o.baseline, "baseline", false, "also measure a fixed-bytes fasthttp server in this process")
	fs.BoolVar(&o.baselineOut, "baseline-process", false, "with -baseline, run that server as a separate process, as orderd is")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.StringVar(&o.jsonOut, "json", "", "write the figures to this JSON file")
	fs.StringVar(&o.plotOut, "plot", "", "write a latency distribution chart to this .svg or .png file")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a -url that is not loopback")
	if err := harness.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case o.duration <= 0 && o.count <= 0:
		return harness.UsageError{Msg: "give -d or -n: bench never runs unbounded"}
	case o.duration > harness.MaxDuration || o.count > harness.MaxCount:
		return harness.UsageError{Msg: fmt.Sprintf("-d at most %s and -n at most %d", harness.MaxDuration, harness.MaxCount)}
	case o.conns < 1 || o.conns > 10000:
		return harness.UsageError{Msg: "-c must be 1 to 10000"}
	case o.miss < 0 || o.miss > 1:
		return harness.UsageError{Msg: "-miss must be between 0 and 1"}
	}
	target, err := harness.CheckLoopback(o.url, o.allowRemote)
	if err != nil {
		return err
	}
	addr := target.Host
	if target.Port() == "" {
		addr = net.JoinHostPort(target.Hostname(), "80")
	}

	ids, err := loadIDs(ctx, o, addr)
	if err != nil {
		return err
	}
	size, err := averageOrderSize(ctx, addr, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d order ids, %d bytes per order on average; %d connections, %s\n",
		len(ids), size, o.conns, bound(o.duration, o.count))

	results := []latency.Result{}
	res, err := load(ctx, env, "orderd", addr, ids, o)
	if err != nil {
		return err
	}
	results = append(results, res)
	res.Print(env.Stdout)

	if o.baseline {
		start := startBaseline
		if o.baselineOut {
			start = startBaselineProcess
		}
		base, stop, err := start(size)
		if err != nil {
			return err
		}
		bres, err := load(ctx, env, "baseline", base, ids, o)
		stop()
		if err != nil {
			return err
		}
		results = append(results, bres)
		bres.Print(env.Stdout)
		fmt.Fprintf(env.Stdout, "orderd / baseline: %.1f%% of the fixed-bytes rate\n", 100*res.RPS/bres.RPS)
	}
	if o.jsonOut != "" {
		if err := harness.WriteJSON(o.jsonOut, httpReport{Options: o.report(len(ids), size), Results: results}); err != nil {
			return err
		}
	}
	if o.plotOut != "" {
		if err := latency.Plot(o.plotOut, "GET /order/{id}, "+fmt.Sprint(o.conns)+" connections", results); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "latency chart: %s\n", o.plotOut)
	}
	return nil
}

func bound(d time.Duration, n int) string {
	switch {
	case d > 0 && n > 0:
		return fmt.Sprintf("%s or %d requests", d, n)
	case d > 0:
		return d.String()
	default:
		return fmt.Sprintf("%d requests", n)
	}
}

// loadIDs reads -ids, or pages through /api/orders.
func loadIDs(ctx context.Context, o httpOptions, addr string) ([]string, error) {
	if o.idsFile != "" {
		data, err := os.ReadFile(o.idsFile)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				ids = append(ids, line)
			}
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("%s holds no ids", o.idsFile)
		}
		return ids, nil
	}
	var ids []string
	before := ""
	for len(ids) < o.idCount {
		uri := fmt.Sprintf("http://%s/api/orders?limit=100", addr)
		if before != "" {
			uri += "&before=" + before
		}
		status, body, err := fasthttp.GetTimeout(nil, uri, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("fetch ids from %s: %w (is orderd running? see -url)", uri, err)
		}
		if status != fasthttp.StatusOK {
			return nil, fmt.Errorf("fetch ids from %s: status %d: %s", uri, status, body)
		}
		var page struct {
			Orders []struct {
				OrderUID string `json:"order_uid"`
			} `json:"orders"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("fetch ids: %w", err)
		}
		for _, p := range page.Orders {
			ids = append(ids, p.OrderUID)
		}
		if page.Next == "" {
			break
		}
		before = page.Next
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("orderd has no orders to read yet: publish some (go run ./cmd/producer) or pass -ids FILE")
	}
	return ids[:min(len(ids), o.idCount)], nil
}

// averageOrderSize fetches up to 50 orders and averages their size, the
// size the baseline answers with.
func averageOrderSize(ctx context.Context, addr string, ids []string) (int, error) {
	total, n := 0, 0
	for _, id := range ids[:min(50, len(ids))] {
		status, body, err := fasthttp.GetTimeout(nil, "http://"+addr+"/order/"+id, 10*time.Second)
		if err != nil {
			return 0, fmt.Errorf("GET /order/%s: %w", id, err)
		}
		if status == fasthttp.StatusOK {
			total += len(body)
			n++
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	if n == 0 {
		return 0, errors.New("none of the first ids is served (404 or errors): check -ids or the server")
	}
	return total / n, nil
}

// missPrefix starts the paths of ids that do not exist (-miss).
const missPrefix = "/order/bench-miss-"

// startBaseline serves fixed JSON bytes of size on a loopback port, with
// fasthttp's defaults: what this machine can do at best for such a reply.
// The ids of -miss get orderd's 404, so both servers see the same mix.
func startBaseline(size int) (addr string, stop func(), err error) {
	body := []byte(`{"pad":"` + strings.Repeat("x", max(size-10, 0)) + `"}`)
	notFound := []byte(`{"error":"order not found"}`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	miss := []byte(missPrefix)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		if bytes.HasPrefix(ctx.Path(), miss) {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetBody(notFound)
			return
		}
		ctx.SetBody(body)
	}}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown below
	return ln.Addr().String(), func() { _ = srv.Shutdown() }, nil
}

// startBaselineProcess runs the baseline server in a child process (this
// program's serve-baseline mode): the same topology as orderd, so the
// comparison is not skewed by client and server sharing one Go scheduler.
func startBaselineProcess(size int) (addr string, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "serve-baseline", "-size", strconv.Itoa(size))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("baseline process: %w", err)
	}
	return strings.TrimSpace(line), stop, nil
}

// ServeBaseline is the hidden serve-baseline mode: the baseline server on
// its own, printing its address, until SIGTERM.
func ServeBaseline(ctx context.Context, env harness.Env, args []string) error {
	fs := env.Flags("serve-baseline", "The baseline server of http -baseline-process.\n")
	size := fs.Int("size", 1500, "body size")
	if err := harness.Parse(fs, args); err != nil {
		return err
	}
	addr, stop, err := startBaseline(*size)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintln(env.Stdout, addr)
	<-ctx.Done()
	return nil
}

// worker is one connection's closed loop.
type worker struct {
	hist   latency.Histogram
	hits   uint64
	misses uint64
	errors map[string]uint64
}

// load runs the closed loop against addr: a warm-up, then the measurement.
func load(ctx context.Context, env harness.Env, name, addr string, ids []string, o httpOptions) (latency.Result, error) {
	client := &fasthttp.HostClient{
		Addr:                addr,
		MaxConns:            o.conns,
		ReadTimeout:         o.timeout,
		WriteTimeout:        o.timeout,
		MaxIdleConnDuration: time.Minute,
	}
	hitPaths := make([][]byte, len(ids))
	for i, id := range ids {
		hitPaths[i] = []byte("/order/" + id)
	}
	missPaths := make([][]byte, 1000)
	for i := range missPaths {
		var b [12]byte
		_, _ = crand.Read(b[:])
		missPaths[i] = []byte(missPrefix + hex.EncodeToString(b[:]))
	}

	if o.warmup > 0 {
		warm := o
		warm.duration, warm.count = o.warmup, 0
		if _, err := loop(ctx, nil, client, addr, hitPaths, missPaths, warm); err != nil {
			return latency.Result{}, err
		}
	}
	fmt.Fprintf(env.Stderr, "measuring %s (%s)\n", name, addr)
	start := time.Now()
	workers, err := loop(ctx, env.Stderr, client, addr, hitPaths, missPaths, o)
	elapsed := time.Since(start)
	if err != nil {
		return latency.Result{}, err
	}

	res := latency.Result{Name: name, Seconds: elapsed.Seconds(), Errors: map[string]uint64{}, Hist: &latency.Histogram{}}
	for _, w := range workers {
		res.Hist.Merge(&w.hist)
		res.Hits += w.hits
		res.Misses += w.misses
		for k, n := range w.errors {
			res.Errors[k] += n
		}
	}
	res.Requests = res.Hist.Count()
	res.RPS = float64(res.Requests) / elapsed.Seconds()
	res.Latency = latency.Of(res.Hist)
	return res, nil
}

// loop runs o.conns closed loops until o.duration or o.count is reached,
// printing a progress line a second to progress (if not nil).
func loop(ctx context.Context, progress interface{ Write([]byte) (int, error) }, client *fasthttp.HostClient,
	addr string, hitPaths, missPaths [][]byte, o httpOptions) ([]*worker, error) {
	var (
		done      atomic.Uint64
		remaining atomic.Int64
		deadline  time.Time
	)
	remaining.Store(int64(o.count))
	if o.duration > 0 {
		deadline = time.Now().Add(o.duration)
	}
	workers := make([]*worker, o.conns)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{errors: map[string]uint64{}}
		workers[i] = w
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetHost(addr)
			for ctx.Err() == nil {
				if o.count > 0 && remaining.Add(-1) < 0 {
					return
				}
				miss := o.miss > 0 && rng.Float64() < o.miss
				if miss {
					req.SetRequestURIBytes(missPaths[rng.IntN(len(missPaths))])
				} else {
					req.SetRequestURIBytes(hitPaths[rng.IntN(len(hitPaths))])
				}
				t0 := time.Now()
				err := client.Do(req, resp)
				t1 := time.Now()
				if !deadline.IsZero() && t1.After(deadline) {
					return // finished after the end: not counted
				}
				w.hist.Record(t1.Sub(t0))
				done.Add(1)
				switch status := resp.StatusCode(); {
				case err != nil:
					w.errors[errorKind(err)]++
				case status == fasthttp.StatusOK && !miss:
					w.hits++
				case status == fasthttp.StatusNotFound && miss:
					w.misses++
				default:
					w.errors[fmt.Sprintf("status %d", status)]++
				}
			}
		})
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	if progress == nil {
		close(stopped)
	} else {
		go func() {
			defer close(stopped)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			start, last := time.Now(), uint64(0)
			for {
				select {
				case <-stop:
					fmt.Fprintln(progress)
					return
				case <-t.C:
					n := done.Load()
					fmt.Fprintf(progress, "\r  %4.0fs  %8d req/s  %10d requests", time.Since(start).Seconds(), n-last, n)
					last = n
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-stopped // its last line is written before anyone else writes
	return workers, ctx.Err()
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no free connection"
	default:
		return err.Error()
	}
}

type httpReport struct {
	Options map[string]any   `json:"options"`
	Results []latency.Result `json:"results"`
}

func (o httpOptions) report(ids, size int) map[string]any {
	return map[string]any{
		"url": o.url, "connections": o.conns, "duration": o.duration.String(), "count": o.count,
		"miss": o.miss, "ids": ids, "order_bytes": size, "baseline": o.baseline, "baseline_process": o.baselineOut,
	}
}
