// Command bench measures orderd as a whole, in four modes:
//
//	bench http     closed-loop GET /order/{id} load, with an optional
//	               fixed-bytes baseline measured in the same run
//	bench ingest   orders produced to Kafka until all are stored and
//	               servable, with the raw PostgreSQL write rate to compare
//	bench restore  time from orderd's start to a warm cache and /health
//	               green, with the memory it takes
//	bench replicas several orderd processes on one database and topic:
//	               produce to visible on every replica, and the reads
//	               that still need PostgreSQL
//
// Every mode is bounded in time and count, targets 127.0.0.1 unless told
// otherwise, and refuses to run unbounded. Run "go run ./bench MODE -h".
//
// This package only picks the mode: each lives in bench/internal (httpload,
// ingest, restore, replicas) on the shared harness, latency and benchdb.
// It never imports orderd's packages outside bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderd/orderd/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(harness.UsageError)):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}
