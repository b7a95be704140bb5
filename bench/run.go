package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/orderd/orderd/bench/internal/harness"
	"github.com/orderd/orderd/bench/internal/httpload"
	"github.com/orderd/orderd/bench/internal/ingest"
	"github.com/orderd/orderd/bench/internal/replicas"
	"github.com/orderd/orderd/bench/internal/restore"
)

const overview = `bench measures orderd.

Usage:
  go run ./bench http    [flags]   GET /order/{id} under closed-loop load
  go run ./bench ingest  [flags]   Kafka -> decode -> validate -> PostgreSQL -> cache, end to end
  go run ./bench restore [flags]   orderd's start: cache warm-up time, /health green, memory
  go run ./bench replicas [flags]  several orderd on one database: produce to visible on every one

Every mode is bounded in time and count and targets 127.0.0.1 unless given
-allow-remote. Run 'go run ./bench MODE -h' for a mode's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stderr, overview)
		if len(args) == 0 {
			return harness.UsageError{Msg: "no mode given"}
		}
		return flag.ErrHelp
	}
	env := harness.Env{Getenv: getenv, Stdout: stdout, Stderr: stderr}
	switch args[0] {
	case "http":
		return httpload.Run(ctx, env, args[1:])
	case "ingest":
		return ingest.Run(ctx, env, args[1:])
	case "restore":
		return restore.Run(ctx, env, args[1:])
	case "replicas":
		return replicas.Run(ctx, env, args[1:])
	case "serve-baseline": // started by http -baseline-process
		return httpload.ServeBaseline(ctx, env, args[1:])
	default:
		fmt.Fprintf(stderr, "bench: unknown mode %q\n\n%s", args[0], overview)
		return harness.UsageError{Msg: "unknown mode " + args[0]}
	}
}
