package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/orderd/orderd/dlq"
)

// dlqShow runs "orderctl dlq show".
func (c *cli) dlqShow(ctx context.Context, args []string) error {
	cmd := c.newCommand("orderctl dlq show")
	cmd.usage = "Usage:\n  orderctl [global flags] dlq show PARTITION:OFFSET\n"
	cmd.details = showDetails
	cmd.examples = showExamples
	rest, err := cmd.parseAll(args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return cmd.failf("want one PARTITION:OFFSET, got %d arguments", len(rest))
	}
	ref, err := dlq.ParseRef(rest[0])
	if err != nil {
		return cmd.fail(err)
	}

	reader, client, err := c.openDLQ()
	if err != nil {
		return err
	}
	defer client.Close()
	rec, err := reader.Get(ctx, ref)
	if err != nil {
		return c.kafkaError(err)
	}
	writeRecord(c.stdout, c.dlqTopic, rec)
	return nil
}

// writeRecord prints a dead letter in full for a person to read.
func writeRecord(w io.Writer, topic string, r dlq.Record) {
	fmt.Fprintf(w, "record:    %s %s\n", topic, r.Ref())
	appended := "unknown" // a record written without a timestamp
	if !r.Timestamp.IsZero() {
		appended = r.Timestamp.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "appended:  %s\n", appended)
	if r.Key == nil {
		fmt.Fprintf(w, "key:       (none)\n")
	} else {
		fmt.Fprintf(w, "key:       %s\n", shown(string(r.Key)))
	}
	fmt.Fprintf(w, "headers:\n")
	for _, h := range r.Headers {
		fmt.Fprintf(w, "  %s: %s\n", shown(h.Key), shown(h.Value))
	}
	if len(r.Headers) == 0 {
		fmt.Fprintf(w, "  (none)\n")
	}
	switch pretty, isJSON := indentJSON(r.Value); {
	case len(r.Value) == 0:
		fmt.Fprintf(w, "payload:   empty\n")
	case isJSON:
		fmt.Fprintf(w, "payload:   %d bytes, JSON, indented:\n", len(r.Value))
		writeLines(w, pretty)
	default:
		fmt.Fprintf(w, "payload:   %d bytes, not JSON, as it is:\n", len(r.Value))
		writeLines(w, r.Value)
	}
}

const (
	showDetails = `Prints one dead letter: where it is, when Kafka appended it, its key and
every header (key: value) in the order they were written, orderd's dlq-*
headers among them, then its payload: indented when it is JSON, as it is
otherwise.

Any key, header or payload line that is not printable UTF-8 is shown as a
Go quoted string instead, e.g. "abc\xff\x00": a byte that is not UTF-8 as
\xNN, control characters escaped, so nothing in a payload can drive your
terminal.
`
	showExamples = `  orderctl dlq show 1:5
  orderctl dlq ls -reason invalid_json -limit 1 -json | jq -r .ref | xargs orderctl dlq show
`
)
