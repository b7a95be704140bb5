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
	"os"
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

// WriteJSON writes v to path as indented JSON, a mode's -json report.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
