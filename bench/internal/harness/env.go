// Package harness is what every bench mode shares to run safely and to
// drive orderd: its Env (environment, flags, usage errors), the bounds and
// the loopback checks that keep a load test off other people's machines,
// and orderd's process control (in-process through daemon.Run, or as a
// child process) with its /health and /metrics probes.
//
// It never imports another bench package, and never talks to PostgreSQL or
// produces to Kafka itself: the modes do.
package harness

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// UsageError is a mistake in how bench was called; its message has been
// printed with the usage.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Env is what a mode may use of the process.
type Env struct {
	Getenv         func(string) string
	Stdout, Stderr io.Writer
}

func (e Env) EnvOr(name, def string) string {
	if v := e.Getenv(name); v != "" {
		return v
	}
	return def
}

// Flags returns a flag set for mode that prints its usage to stderr.
func (e Env) Flags(mode, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("bench "+mode, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: go run ./bench %s [flags]\n\n%s\nFlags:\n", mode, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args, turning a flag mistake into a UsageError.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return UsageError{Msg: err.Error()}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return UsageError{Msg: fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	return nil
}

// CheckLoopback refuses a target that is not this machine unless allowed:
// a load test pointed at someone else's service by mistake is an attack.
func CheckLoopback(rawURL string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, UsageError{Msg: fmt.Sprintf("invalid -url %q: want e.g. http://127.0.0.1:8081", rawURL)}
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
	return nil, UsageError{Msg: fmt.Sprintf("-url %s is not loopback; pass -allow-remote to load another machine on purpose", rawURL)}
}

// CheckLoopbackBrokers is CheckLoopback for Kafka broker addresses.
func CheckLoopbackBrokers(brokers []string, allowRemote bool) error {
	for _, b := range brokers {
		if _, err := CheckLoopback("http://"+strings.TrimSpace(b), allowRemote); err != nil {
			return UsageError{Msg: fmt.Sprintf("broker %s is not loopback; pass -allow-remote to use it on purpose", b)}
		}
	}
	return nil
}

func SplitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// CheckLoopbackDB refuses a database that is not on this machine unless
// allowed: the bench writes to it.
func CheckLoopbackDB(dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return UsageError{Msg: "invalid -database-url: want postgres://user@127.0.0.1:5432/db"}
	}
	if _, err := CheckLoopback("http://"+u.Host, false); err != nil {
		return UsageError{Msg: fmt.Sprintf("database %s is not loopback; pass -allow-remote to write to it on purpose", u.Host)}
	}
	return nil
}

// RedactDB is a database URL without its password.
func RedactDB(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "(database)"
	}
	return u.Redacted()
}

func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// MaxDuration and MaxCount bound a run even when asked for more.
const (
	MaxDuration = 30 * time.Minute
	MaxCount    = 1_000_000_000
)
