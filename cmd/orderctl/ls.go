package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/orderd/orderd/dlq"
)

// Widths of the cut columns of the dlq ls table, in characters.
const (
	keyWidth     = 32 // an order_uid is at most 64, usually 20 or so
	errorWidth   = 60
	payloadWidth = 40
)

// dlqList runs "orderctl dlq ls".
func (c *cli) dlqList(ctx context.Context, args []string) error {
	cmd := c.newCommand("orderctl dlq ls")
	cmd.usage = "Usage:\n  orderctl [global flags] dlq ls [-reason CODE] [-limit N] [-since DURATION] [-json]\n"
	cmd.details = lsDetails
	cmd.examples = lsExamples
	var reason reasonFlag
	cmd.flags.Var(&reason, "reason", "only dead letters with this reason `CODE`: "+reasonList())
	limit := cmd.flags.Int("limit", 20, "list at most `N` dead letters")
	since := cmd.flags.Duration("since", 0, "only dead letters that failed within this `DURATION`, e.g. 30m or 24h; 0 for any age")
	asJSON := cmd.flags.Bool("json", false, "print one JSON object per line instead of the table")
	rest, err := cmd.parseAll(args)
	if err != nil {
		return err
	}
	if err := cmd.noArgs(rest); err != nil {
		return err
	}
	if *limit < 1 {
		return cmd.failf("-limit must be at least 1, got %d", *limit)
	}
	if *since < 0 {
		return cmd.failf("-since must not be negative, got %s", *since)
	}

	reader, client, err := c.openDLQ()
	if err != nil {
		return err
	}
	defer client.Close()
	recs, err := reader.List(ctx, dlq.Filter{Reason: dlq.Reason(reason), Since: *since, Limit: *limit})
	if err != nil {
		return c.kafkaError(err)
	}

	if *asJSON {
		return writeJSONLines(c.stdout, recs) // no lines for no records: scripts need no special case
	}
	if len(recs) == 0 {
		fmt.Fprintln(c.stdout, "no dead letters")
		return nil
	}
	if err := writeTable(c.stdout, recs); err != nil {
		return err
	}
	if len(recs) == *limit {
		// On stderr, so the table on stdout stays only the table.
		fmt.Fprintf(c.stderr, "listed the newest %d; there may be more: raise -limit\n", *limit)
	}
	return nil
}

func writeTable(w io.Writer, recs []dlq.Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECORD\tFAILED AT\tREASON\tSOURCE\tKEY\tERROR\tTRUNCATED\tPAYLOAD")
	for _, r := range recs {
		failedAt, source, truncated := "-", "-", "-"
		if !r.FailedAt.IsZero() {
			failedAt = r.FailedAt.UTC().Format(time.RFC3339)
		}
		if r.SourceTopic != "" {
			source = cell(fmt.Sprintf("%s/%d/%d", r.SourceTopic, r.SourcePartition, r.SourceOffset), 2*keyWidth)
		}
		// A column of its own, not a mark in PAYLOAD: a payload is any
		// producer's text, and could spell out any mark.
		if r.Truncated {
			truncated = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Ref(), failedAt, cell(string(r.Reason), keyWidth), source,
			cell(string(r.Key), keyWidth), cell(r.Error, errorWidth), truncated, payloadCell(r))
	}
	return tw.Flush()
}

// payloadCell is the start of r's payload for the table.
func payloadCell(r dlq.Record) string {
	// White space collapses in a cell, so read more than a cell shows: an
	// indented JSON payload still shows its first keys.
	const read = 4 * payloadWidth
	preview := r.Preview(read)
	if len(r.Value) > read {
		preview += "…"
	}
	return cell(preview, payloadWidth)
}

// jsonLine is a dead letter as dlq ls -json prints it. The field names are
// an interface for scripts: never rename one.
type jsonLine struct {
	Ref             string     `json:"ref"`
	Partition       int32      `json:"partition"`
	Offset          int64      `json:"offset"`
	FailedAt        *time.Time `json:"failed_at"` // null when the header is missing
	Reason          dlq.Reason `json:"reason"`
	Error           string     `json:"error"`
	SourceTopic     string     `json:"source_topic"`
	SourcePartition int32      `json:"source_partition"`
	SourceOffset    int64      `json:"source_offset"`
	Key             *string    `json:"key"` // null for a record without a key
	Payload         string     `json:"payload"`
	// Only for a record cut to fit the dead-letter topic, as the admin API
	// has them: Payload is then the start of the message.
	Truncated      bool   `json:"truncated,omitempty"`
	OriginalBytes  int64  `json:"original_bytes,omitempty"`
	OriginalSHA256 string `json:"original_sha256,omitempty"`
}

func writeJSONLines(w io.Writer, recs []dlq.Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // payloads are JSON themselves: keep <, > and & readable
	for _, r := range recs {
		line := jsonLine{
			Ref: r.Ref(), Partition: r.Partition, Offset: r.Offset,
			Reason: r.Reason, Error: r.Error,
			SourceTopic: r.SourceTopic, SourcePartition: r.SourcePartition, SourceOffset: r.SourceOffset,
			// encoding/json writes bytes that are not UTF-8 as U+FFFD.
			Payload: string(r.Value),
		}
		if !r.FailedAt.IsZero() {
			t := r.FailedAt.UTC()
			line.FailedAt = &t
		}
		if r.Key != nil {
			k := string(r.Key)
			line.Key = &k
		}
		if r.Truncated {
			line.Truncated, line.OriginalBytes, line.OriginalSHA256 = true, r.OriginalBytes, r.OriginalSHA256
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

const (
	lsDetails = `Lists dead letters, newest first (by their dlq-failed-at header), at most
-limit of them. Prints "no dead letters" when none match.

The table's columns: RECORD, the dead letter's PARTITION:OFFSET for dlq show
and dlq redrive; FAILED AT; REASON; SOURCE, the topic/partition/offset orderd
consumed the message from; KEY; ERROR, what was wrong; TRUNCATED, "yes" for
a message too large for the dead-letter topic, whose payload was cut to fit
it (dlq show says how much is left; dlq redrive takes it only with
-payload-file); PAYLOAD, its start. Long values are cut (…); text that is
not printable UTF-8 is shown as a Go quoted string. dlq show prints a record
in full.

With -json it prints one JSON object per dead letter per line instead, with
nothing cut: ref, partition, offset, failed_at (RFC 3339, null if unknown),
reason, error, source_topic, source_partition, source_offset, key (null for
none) and payload, as text (bytes that are not UTF-8 become U+FFFD); a
truncated dead letter has truncated (true), original_bytes and
original_sha256 (hex) as well, describing the message before it was cut.
No dead letters, no lines.
`
	lsExamples = `  orderctl dlq ls
  orderctl dlq ls -reason conflict -since 24h -limit 100
  orderctl dlq ls -json -limit 1000 | jq -r 'select(.source_partition == 2) | .ref'
  orderctl dlq ls -json -reason too_large | jq -r 'select(.truncated) | .ref'
`
)
