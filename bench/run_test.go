package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/bench/internal/harness"
)

func runBench(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestRun_RefusesUnboundedAndRemoteRuns(t *testing.T) {
	f := func(wantInError string, args ...string) {
		t.Helper()
		out, err := runBench(t, args...)
		var ue harness.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), wantInError) {
			t.Errorf("bench %v = %v (%s); want a usage error mentioning %q", args, err, out, wantInError)
		}
	}
	f("unbounded", "http", "-d", "0", "-n", "0")                                // neither duration nor count
	f("not loopback", "http", "-url", "http://example.com:8081")                // someone else's server
	f("-d at most", "http", "-d", "2h")                                         // too long
	f("-miss", "http", "-miss", "1.5")                                          // not a share
	f("DATABASE_URL", "ingest")                                                 // nothing to count in
	f("not loopback", "ingest", "-database-url", "postgres://db.example.com/x") // someone else's database
	f("-n must be", "restore", "-n", "0", "-database-url", "postgres://127.0.0.1/x")
	f("-plot must", "restore", "-database-url", "postgres://127.0.0.1/x", "-plot", "warmup.pdf") // before any seeding
	f("unknown mode", "frobnicate")
}

// bench http measures a server and its fixed-bytes baseline in one run.
func TestHTTP_MeasuresAServerAndTheBaseline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/order/known" {
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"order_uid":"known"}`)
			return
		}
		ctx.SetStatusCode(404)
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()

	dir := t.TempDir()
	ids := filepath.Join(dir, "ids")
	if err := os.WriteFile(ids, []byte("known\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report, plot := filepath.Join(dir, "r.json"), filepath.Join(dir, "lat.svg")
	out, err := runBench(t, "http", "-url", "http://"+ln.Addr().String(), "-ids", ids, "-n", "2000", "-d", "0",
		"-c", "4", "-warmup", "0", "-miss", "0.2", "-baseline", "-json", report, "-plot", plot)
	if err != nil {
		t.Fatalf("bench http: %v\n%s", err, out)
	}
	for _, want := range []string{"orderd ", "baseline ", "of the fixed-bytes rate", "misses (404 as expected)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "errors:") {
		t.Errorf("errors reported:\n%s", out)
	}
	for _, f := range []string{report, plot} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

// TestMain lets this test binary stand in for bench when http
// -baseline-process starts "bench serve-baseline" as a child.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve-baseline" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestHTTP_BaselineInAProcessOfItsOwn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"order_uid":"known"}`) }}
	go srv.Serve(ln)
	defer srv.Shutdown()
	ids := filepath.Join(t.TempDir(), "ids")
	if err := os.WriteFile(ids, []byte("known\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runBench(t, "http", "-url", "http://"+ln.Addr().String(), "-ids", ids, "-n", "500", "-d", "0",
		"-c", "2", "-warmup", "0", "-baseline", "-baseline-process")
	if err != nil || !strings.Contains(out, "of the fixed-bytes rate") {
		t.Fatalf("bench http -baseline-process: %v\n%s", err, out)
	}
}
