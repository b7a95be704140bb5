// Package dlqcmd is orderctl dlq: listing, showing and redriving the records
// of the dead-letter topic, with a plain Kafka consumer that joins no group
// and commits nothing.
//
// It never imports orderd's daemon, stages, storage or server: it speaks to
// Kafka through sarama and the dlq package's reader and redriver.
package dlqcmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
)

// cli is one invocation of orderctl, as the commands of this package see it.
type cli struct{ *command.Globals }

// Run runs "orderctl dlq COMMAND" with the arguments after "dlq".
func Run(ctx context.Context, g *command.Globals, args []string) error {
	c := &cli{g}
	return g.RunGroup(ctx, "orderctl dlq", dlqHelp, args, map[string]command.Subcommand{
		"ls":      c.dlqList,
		"show":    c.dlqShow,
		"redrive": c.dlqRedrive,
	})
}

// openDLQ connects to Kafka and returns a reader of the dead-letter topic
// and the client under it, the caller's to close.
func (c *cli) openDLQ() (*browse.Reader, sarama.Client, error) {
	client, err := c.connectKafka()
	if err != nil {
		return nil, nil, err
	}
	return browse.NewReader(client, c.DLQTopic), client, nil
}

// reasonFlag is a -reason value, checked against dlq.Reasons as it is
// parsed, so a typo is a usage error listing the codes rather than an empty
// listing.
type reasonFlag dlq.Reason

func (r *reasonFlag) String() string { return string(*r) }

func (r *reasonFlag) Set(s string) error {
	if !dlq.Reason(s).Valid() {
		return fmt.Errorf("unknown reason %q; want one of %s", s, reasonList())
	}
	*r = reasonFlag(s)
	return nil
}

// reasonList is dlq.Reasons for messages and help.
func reasonList() string {
	codes := make([]string, len(dlq.Reasons))
	for i, r := range dlq.Reasons {
		codes[i] = string(r)
	}
	return strings.Join(codes, ", ")
}

const (
	dlqUsage = `Usage:
  orderctl [global flags] dlq ls [-reason CODE] [-limit N] [-since DURATION] [-cursor CURSOR] [-json]
  orderctl [global flags] dlq show PARTITION:OFFSET
  orderctl [global flags] dlq redrive [-reason CODE] [-limit N] [-payload-file FILE] [-dry-run] [PARTITION:OFFSET ...]
`
	dlqDetails = `The dlq commands work on the dead-letter topic (-dlq-topic), where orderd
puts each message that can never become an order, with headers naming the
reason. They read it with a plain consumer: they join no consumer group and
commit nothing. A dead letter is named PARTITION:OFFSET on that topic, as
dlq ls prints it.

Run 'orderctl dlq COMMAND -h' for a command's flags and examples.
`
	dlqExamples = `  orderctl dlq ls -since 1h
  orderctl dlq show 1:5
  orderctl dlq redrive -dry-run -reason invalid_order
`
)

var dlqHelp = command.Help{Usage: dlqUsage, Details: dlqDetails, Examples: dlqExamples}
