// Package command is orderctl's command framework: the global settings
// every command shares (Globals), one node of the command tree (Command)
// with its flags, help and usage errors, and the dispatch from a group to
// its commands.
//
// It never imports a command package (dlqcmd, ordercmd): commands are built
// on it, not the other way round. Of Kafka it knows only the settings
// (kafkaauth.Config) that every command that connects needs.
package command

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/orderd/orderd/kafkaauth"
)

// UsageError is a command called the wrong way: an unknown command or flag,
// a missing or malformed argument. By the time run returns it, the mistake
// and the usage are already on stderr, so main only exits with status 2.
type UsageError struct{ err error }

func (e *UsageError) Error() string { return e.err.Error() }
func (e *UsageError) Unwrap() error { return e.err }

// Command is one node of orderctl's command tree (orderctl, orderctl dlq,
// orderctl dlq ls, ...): its flags and its help.
//
// Help asked for with -h goes to stdout, so it can be paged or searched;
// a mistake goes to stderr with the usage and a pointer to -h.
type Command struct {
	Name string // as typed, e.g. "orderctl dlq ls"
	Help
	Flags  *flag.FlagSet
	Stdout io.Writer
	Stderr io.Writer
}

// Help is what a command says about itself.
type Help struct {
	Summary    string // what it is for; -h prints it first
	Usage      string // how to call it; a mistake prints it too
	Details    string // -h prints it after the usage
	FlagsTitle string // heading of the flag list; "Flags:" when empty
	Examples   string // -h prints them last
}

// NewCommand returns the command called name, with its help, writing where
// c writes.
func (c *Globals) NewCommand(name string, help Help) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print its errors and the usage itself, always
	// to one writer; parse reports them instead, where each belongs.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &Command{Name: name, Help: help, Flags: fs, Stdout: c.Stdout, Stderr: c.Stderr}
}

// Parse parses the flags at the start of args and returns the arguments
// after them, for the command tree's inner nodes: parsing stops at the
// name of the next command, whose flags are its own.
//
// On -h it prints the help to stdout and returns flag.ErrHelp, which run
// turns into success. On a mistake it returns a UsageError.
func (c *Command) Parse(args []string) ([]string, error) {
	if err := c.Flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.PrintHelp(c.Stdout)
			return nil, err
		}
		return nil, c.Fail(err)
	}
	return c.Flags.Args(), nil
}

// ParseAll parses flags anywhere among args and returns the other
// arguments, for the leaves of the command tree: "dlq redrive 1:5 -dry-run"
// must not take -dry-run for a record reference. After "--" everything is
// an argument, e.g. an order_uid that starts with '-'.
func (c *Command) ParseAll(args []string) ([]string, error) {
	var positional []string
	for {
		rest, err := c.Parse(args)
		if err != nil {
			return nil, err
		}
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// ParseOne is ParseAll for a leaf that takes exactly one argument, which
// what names in the usage error.
func (c *Command) ParseOne(args []string, what string) (string, error) {
	rest, err := c.ParseAll(args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", c.Failf("want one %s, got %d arguments", what, len(rest))
	}
	return rest[0], nil
}

// Fail reports err, a mistake in how the command was called, with the
// usage on stderr, and returns it as a UsageError.
func (c *Command) Fail(err error) error {
	fmt.Fprintf(c.Stderr, "%s: %v\n\n%s\nRun '%s -h' for details.\n", c.Name, err, c.Usage, c.Name)
	return &UsageError{err: fmt.Errorf("%s: %w", c.Name, err)}
}

// Failf is Fail with a formatted message.
func (c *Command) Failf(format string, args ...any) error {
	return c.Fail(fmt.Errorf(format, args...))
}

func (c *Command) PrintHelp(w io.Writer) {
	if c.Summary != "" {
		fmt.Fprintf(w, "%s\n", c.Summary)
	}
	fmt.Fprint(w, c.Usage)
	if c.Details != "" {
		fmt.Fprintf(w, "\n%s", c.Details)
	}
	hasFlags := false
	c.Flags.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		title := c.FlagsTitle
		if title == "" {
			title = "Flags:"
		}
		fmt.Fprintf(w, "\n%s\n", title)
		c.Flags.SetOutput(w)
		c.Flags.PrintDefaults()
		c.Flags.SetOutput(io.Discard)
	}
	if c.Name != RootName {
		fmt.Fprintf(w, "\nGlobal flags (-brokers, -topic, -dlq-topic, -url, -timeout) go before the\ncommand; 'orderctl -h' lists them.\n")
	}
	if c.Examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s", c.Examples)
	}
}

// Subcommand runs one command of a group with the arguments after its name.
type Subcommand func(ctx context.Context, args []string) error

// Dispatch runs the command named by args[0] among subs. With no command
// it prints the group's whole help, its overview, to stderr.
func (c *Command) Dispatch(ctx context.Context, args []string, subs map[string]Subcommand) error {
	if len(args) == 0 {
		c.PrintHelp(c.Stderr)
		return &UsageError{err: fmt.Errorf("%s: no command given", c.Name)}
	}
	sub, ok := subs[args[0]]
	if !ok {
		return c.Failf("unknown command %q", args[0])
	}
	return sub(ctx, args[1:])
}

// RunGroup runs the group of commands called name (orderctl dlq, orderctl
// order): it parses the group's own flags, then runs the command among subs
// that the next argument names.
func (c *Globals) RunGroup(ctx context.Context, name string, help Help, args []string, subs map[string]Subcommand) error {
	cmd := c.NewCommand(name, help)
	rest, err := cmd.Parse(args)
	if err != nil {
		return err
	}
	return cmd.Dispatch(ctx, rest, subs)
}

// NoArgs refuses arguments a command does not take.
func (c *Command) NoArgs(args []string) error {
	if len(args) > 0 {
		return c.Failf("unexpected argument %q", args[0])
	}
	return nil
}

// Globals is one invocation of orderctl: the global settings and where to write.
type Globals struct {
	Brokers  []string
	Topic    string // the orders topic, where dlq redrive publishes
	DLQTopic string
	URL      string           // orderd's HTTP address
	Timeout  time.Duration    // bounds the whole command
	Auth     kafkaauth.Config // TLS and SASL, orderd's settings: -kafka-tls... / KAFKA_TLS...
	Stdout   io.Writer
	Stderr   io.Writer
}

// RootName is the command as typed.
const RootName = "orderctl"
