// Command orderd ingests orders from Kafka into PostgreSQL and serves them
// over HTTP. Run it with -demo for a self-contained demonstration, or -h for
// its settings.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/orderd/orderd/daemon"
)

func main() {
	if err := daemon.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "orderd: %v\n", err)
		os.Exit(1)
	}
}
