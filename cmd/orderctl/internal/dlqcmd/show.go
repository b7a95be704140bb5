package dlqcmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/cmd/orderctl/internal/termtext"
	"github.com/orderd/orderd/dlq"
)

// dlqShow runs "orderctl dlq show".
func (c *cli) dlqShow(ctx context.Context, args []string) error {
	cmd := c.NewCommand("orderctl dlq show", showHelp)
	arg, err := cmd.ParseOne(args, "PARTITION:OFFSET")
	if err != nil {
		return err
	}
	ref, err := dlq.ParseRef(arg)
	if err != nil {
		return cmd.Fail(err)
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
	writeRecord(c.Stdout, c.DLQTopic, rec)
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
		fmt.Fprintf(w, "key:       %s\n", termtext.Shown(string(r.Key)))
	}
	fmt.Fprintf(w, "headers:\n")
	for _, h := range r.Headers {
		fmt.Fprintf(w, "  %s: %s\n", termtext.Shown(h.Key), termtext.Shown(h.Value))
	}
	if len(r.Headers) == 0 {
		fmt.Fprintf(w, "  (none)\n")
	}
	label := "payload:   "
	if r.Truncated {
		// Said before the payload, so that nobody takes what follows for
		// the message that arrived.
		fmt.Fprintf(w, "payload:   %s (truncated to fit the dead-letter topic), original sha256 %s\n", kept(r), originalSHA256(r))
		fmt.Fprintf(w, "           redrive it only with the whole message corrected: dlq redrive -payload-file FILE %s\n", r.Ref())
		label = "kept:      "
	}
	switch pretty, isJSON := termtext.IndentJSON(r.Value); {
	case len(r.Value) == 0:
		fmt.Fprintf(w, "%sempty\n", label)
	case isJSON:
		fmt.Fprintf(w, "%s%d bytes, JSON, indented:\n", label, len(r.Value))
		termtext.WriteLines(w, pretty)
	default:
		fmt.Fprintf(w, "%s%d bytes, not JSON, as it is:\n", label, len(r.Value))
		termtext.WriteLines(w, r.Value)
	}
}

// kept says how much of a truncated record's payload is left, e.g.
// "1626 of 7632 bytes kept".
func kept(r dlq.Record) string {
	original := "unknown" // dlq-original-bytes missing or malformed
	if r.OriginalBytes > 0 {
		original = strconv.FormatInt(r.OriginalBytes, 10)
	}
	return fmt.Sprintf("%d of %s bytes kept", r.PayloadBytes(), original)
}

// originalSHA256 is a truncated record's dlq-original-sha256, which is a
// header and so any producer's text.
func originalSHA256(r dlq.Record) string {
	if r.OriginalSHA256 == "" {
		return "unknown"
	}
	return termtext.Shown(r.OriginalSHA256)
}

const (
	showDetails = `Prints one dead letter: where it is, when Kafka appended it, its key and
every header (key: value) in the order they were written, orderd's dlq-*
headers among them, then its payload: indented when it is JSON, as it is
otherwise.

A message too large for the dead-letter topic was cut to fit it: then the
payload line says so before the payload, e.g.
  payload:   1626 of 7632 bytes kept (truncated to fit the dead-letter topic), original sha256 3d26…
and what follows is only the start of the message (kept:), which dlq redrive
never publishes as it is: redrive it with the whole message, corrected, in
-payload-file. The digest helps find the original at its producer.

Any key, header or payload line that is not printable UTF-8 is shown as a
Go quoted string instead, e.g. "abc\xff\x00": a byte that is not UTF-8 as
\xNN, control characters escaped, so nothing in a payload can drive your
terminal.
`
	showExamples = `  orderctl dlq show 1:5
  orderctl dlq ls -reason invalid_json -limit 1 -json | jq -r 'select(.ref) | .ref' | xargs orderctl dlq show
`
)

var showHelp = command.Help{Usage: "Usage:\n  orderctl [global flags] dlq show PARTITION:OFFSET\n", Details: showDetails, Examples: showExamples}
