package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
)

// usageError is a mistake in how bench was called; its message has been
// printed with the usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

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
			return usageError{"no mode given"}
		}
		return flag.ErrHelp
	}
	env := environment{getenv: getenv, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "http":
		return runHTTP(ctx, env, args[1:])
	case "ingest":
		return runIngest(ctx, env, args[1:])
	case "restore":
		return runRestore(ctx, env, args[1:])
	case "replicas":
		return runReplicas(ctx, env, args[1:])
	case "serve-baseline": // started by http -baseline-process
		return serveBaseline(ctx, env, args[1:])
	default:
		fmt.Fprintf(stderr, "bench: unknown mode %q\n\n%s", args[0], overview)
		return usageError{"unknown mode " + args[0]}
	}
}

// environment is what a mode may use of the process.
type environment struct {
	getenv         func(string) string
	stdout, stderr io.Writer
}

func (e environment) envOr(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// flags returns a flag set for mode that prints its usage to stderr.
func (e environment) flags(mode, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: go run ./bench %s [flags]\n\n%s\nFlags:\n", mode, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning a flag mistake into a usageError.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	return nil
}

// checkLoopback refuses a target that is not this machine unless allowed:
// a load test pointed at someone else's service by mistake is an attack.
func checkLoopback(rawURL string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usageError{fmt.Sprintf("invalid -url %q: want e.g. http://127.0.0.1:8081", rawURL)}
	}
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return u, nil
	}
	return nil, usageError{fmt.Sprintf("-url %s is not loopback; pass -allow-remote to load another machine on purpose", rawURL)}
}

// checkLoopbackBrokers is checkLoopback for Kafka broker addresses.
func checkLoopbackBrokers(brokers []string, allowRemote bool) error {
	for _, b := range brokers {
		if _, err := checkLoopback("http://"+strings.TrimSpace(b), allowRemote); err != nil {
			return usageError{fmt.Sprintf("broker %s is not loopback; pass -allow-remote to use it on purpose", b)}
		}
	}
	return nil
}
