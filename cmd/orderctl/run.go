package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/cmd/orderctl/internal/dlqcmd"
	"github.com/orderd/orderd/cmd/orderctl/internal/ordercmd"
)

// globalEnv names the environment variable behind each global flag. They
// are orderd's own names where orderd has the setting, so an operator's
// shell set up for orderd points orderctl at the same cluster and topics.
var globalEnv = []struct{ flag, env string }{
	{"brokers", "KAFKA_BROKERS"},
	{"topic", "KAFKA_TOPIC"},
	{"dlq-topic", "KAFKA_DLQ_TOPIC"},
	{"url", "ORDERD_URL"},
	{"timeout", "ORDERCTL_TIMEOUT"},
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := &command.Globals{Stdout: stdout, Stderr: stderr}
	root := c.NewCommand(command.RootName, rootHelp)
	var brokers string
	fs := root.Flags
	fs.StringVar(&brokers, "brokers", "127.0.0.1:9092", "comma-separated Kafka broker `addresses`; env KAFKA_BROKERS")
	fs.StringVar(&c.Topic, "topic", "orders", "the orders `topic`, where dlq redrive publishes; env KAFKA_TOPIC")
	fs.StringVar(&c.DLQTopic, "dlq-topic", "orders.dlq", "the dead-letter `topic`; env KAFKA_DLQ_TOPIC")
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8081", "the base `URL` of orderd's HTTP API, for order get; env ORDERD_URL")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "give up on the whole command after this `duration`; env ORDERCTL_TIMEOUT")
	// A secured Kafka: orderd's settings and environment variables, so that
	// a shell set up for orderd reaches the same cluster the same way.
	if err := c.Auth.DefaultsFromEnv(getenv); err != nil {
		return root.Fail(err)
	}
	c.Auth.AddFlags(fs)

	rest, err := root.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := applyEnv(fs, getenv); err != nil {
		return err
	}
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.Brokers = append(c.Brokers, b)
		}
	}
	switch {
	case len(c.Brokers) == 0:
		return root.Failf("-brokers / KAFKA_BROKERS names no broker")
	case c.Topic == "" || c.DLQTopic == "":
		return root.Failf("-topic / KAFKA_TOPIC and -dlq-topic / KAFKA_DLQ_TOPIC must not be empty")
	case c.Timeout <= 0:
		return root.Failf("-timeout / ORDERCTL_TIMEOUT must be positive, got %s", c.Timeout)
	}
	if err := c.Auth.Validate(); err != nil {
		return root.Fail(err)
	}

	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	err = root.Dispatch(ctx, rest, map[string]command.Subcommand{
		"dlq":   func(ctx context.Context, args []string) error { return dlqcmd.Run(ctx, c, args) },
		"order": func(ctx context.Context, args []string) error { return ordercmd.Run(ctx, c, args) },
	})
	switch {
	case errors.Is(err, flag.ErrHelp):
		return nil
	case errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w (gave up after -timeout %s)", err, c.Timeout)
	}
	return err
}

// applyEnv sets each global flag not given on the command line from its
// environment variable, if set: the command line wins, as with orderd.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, g := range globalEnv {
		v := getenv(g.env)
		if v == "" || given[g.flag] {
			continue
		}
		if err := fs.Set(g.flag, v); err != nil {
			return fmt.Errorf("environment variable %s=%q: %w", g.env, v, err)
		}
	}
	return nil
}

const (
	rootSummary = `orderctl is the operator's tool for orderd: it lists, shows and redrives the
records of the dead-letter topic, and fetches orders from orderd's HTTP API.
`
	rootUsage = `Usage:
  orderctl [global flags] COMMAND [flags] [arguments]

Commands:
  dlq ls        list dead letters, newest first
  dlq show      print one dead letter: its headers and its payload
  dlq redrive   publish dead letters to the orders topic again
  order get     print an order as orderd serves it
`
	rootFlagsTitle = `Global flags, before the command. Each has an environment variable,
which the flag overrides:`
	rootDetails = `The dlq commands read the dead-letter topic with a plain consumer: they join
no consumer group and commit nothing, so looking never moves orderd's place.
A dead letter is named PARTITION:OFFSET on that topic, as dlq ls prints it.

Run 'orderctl COMMAND -h' (e.g. 'orderctl dlq redrive -h') for a command's
flags and examples. Exit status: 0 on success, 2 for a command called the
wrong way, 1 for any other failure.
`
	rootExamples = `  orderctl dlq ls -reason invalid_order -since 1h
  orderctl -brokers kafka1:9092,kafka2:9092 dlq show 1:5
  ORDERD_URL=http://orderd:8081 orderctl order get b563feb7b2b84b6test
`
)

var rootHelp = command.Help{Summary: rootSummary, Usage: rootUsage, FlagsTitle: rootFlagsTitle, Details: rootDetails, Examples: rootExamples}
