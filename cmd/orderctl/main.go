// Command orderctl is the operator's tool for orderd: it lists, shows and
// redrives the records of the dead-letter topic, and fetches orders from
// orderd's HTTP API. Run it with -h for its commands.
//
// This package reads the global flags and hands over to a command group:
// internal/dlqcmd and internal/ordercmd, built on internal/command. It never
// connects to Kafka or orderd itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var usage *command.UsageError
	switch {
	case errors.As(err, &usage):
		os.Exit(2) // run has already printed what was wrong, with the usage
	case err != nil:
		fmt.Fprintf(os.Stderr, "orderctl: %v\n", err)
		os.Exit(1)
	}
}
