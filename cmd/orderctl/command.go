package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// usageError is a command called the wrong way: an unknown command or flag,
// a missing or malformed argument. By the time run returns it, the mistake
// and the usage are already on stderr, so main only exits with status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// command is one node of orderctl's command tree (orderctl, orderctl dlq,
// orderctl dlq ls, ...): its flags and its help.
//
// Help asked for with -h goes to stdout, so it can be paged or searched;
// a mistake goes to stderr with the usage and a pointer to -h.
type command struct {
	name       string // as typed, e.g. "orderctl dlq ls"
	summary    string // what it is for; -h prints it first
	usage      string // how to call it; a mistake prints it too
	details    string // -h prints it after the usage
	flagsTitle string // heading of the flag list; "Flags:" when empty
	examples   string // -h prints them last
	flags      *flag.FlagSet
	stdout     io.Writer
	stderr     io.Writer
}

func (c *cli) newCommand(name string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print its errors and the usage itself, always
	// to one writer; parse reports them instead, where each belongs.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{name: name, flags: fs, stdout: c.stdout, stderr: c.stderr}
}

// parse parses the flags at the start of args and returns the arguments
// after them, for the command tree's inner nodes: parsing stops at the
// name of the next command, whose flags are its own.
//
// On -h it prints the help to stdout and returns flag.ErrHelp, which run
// turns into success. On a mistake it returns a usageError.
func (c *command) parse(args []string) ([]string, error) {
	if err := c.flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(c.stdout)
			return nil, err
		}
		return nil, c.fail(err)
	}
	return c.flags.Args(), nil
}

// parseAll parses flags anywhere among args and returns the other
// arguments, for the leaves of the command tree: "dlq redrive 1:5 -dry-run"
// must not take -dry-run for a record reference. After "--" everything is
// an argument, e.g. an order_uid that starts with '-'.
func (c *command) parseAll(args []string) ([]string, error) {
	var positional []string
	for {
		rest, err := c.parse(args)
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

// fail reports err, a mistake in how the command was called, with the
// usage on stderr, and returns it as a usageError.
func (c *command) fail(err error) error {
	fmt.Fprintf(c.stderr, "%s: %v\n\n%s\nRun '%s -h' for details.\n", c.name, err, c.usage, c.name)
	return &usageError{err: fmt.Errorf("%s: %w", c.name, err)}
}

// failf is fail with a formatted message.
func (c *command) failf(format string, args ...any) error {
	return c.fail(fmt.Errorf(format, args...))
}

func (c *command) printHelp(w io.Writer) {
	if c.summary != "" {
		fmt.Fprintf(w, "%s\n", c.summary)
	}
	fmt.Fprint(w, c.usage)
	if c.details != "" {
		fmt.Fprintf(w, "\n%s", c.details)
	}
	hasFlags := false
	c.flags.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		title := c.flagsTitle
		if title == "" {
			title = "Flags:"
		}
		fmt.Fprintf(w, "\n%s\n", title)
		c.flags.SetOutput(w)
		c.flags.PrintDefaults()
		c.flags.SetOutput(io.Discard)
	}
	if c.name != rootName {
		fmt.Fprintf(w, "\nGlobal flags (-brokers, -topic, -dlq-topic, -url, -timeout) go before the\ncommand; 'orderctl -h' lists them.\n")
	}
	if c.examples != "" {
		fmt.Fprintf(w, "\nExamples:\n%s", c.examples)
	}
}

// subcommand runs one command of a group with the arguments after its name.
type subcommand func(ctx context.Context, args []string) error

// dispatch runs the command named by args[0] among subs. With no command
// it prints the group's whole help, its overview, to stderr.
func (c *command) dispatch(ctx context.Context, args []string, subs map[string]subcommand) error {
	if len(args) == 0 {
		c.printHelp(c.stderr)
		return &usageError{err: fmt.Errorf("%s: no command given", c.name)}
	}
	sub, ok := subs[args[0]]
	if !ok {
		return c.failf("unknown command %q", args[0])
	}
	return sub(ctx, args[1:])
}

// noArgs refuses arguments a command does not take.
func (c *command) noArgs(args []string) error {
	if len(args) > 0 {
		return c.failf("unexpected argument %q", args[0])
	}
	return nil
}
