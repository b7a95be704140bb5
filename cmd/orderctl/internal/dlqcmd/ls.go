package dlqcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/cmd/orderctl/internal/termtext"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
)

// Widths of the cut columns of the dlq ls table, in characters.
const (
	keyWidth     = 32 // an order_uid is at most 64, usually 20 or so
	errorWidth   = 60
	payloadWidth = 40
)

// dlqList runs "orderctl dlq ls".
func (c *cli) dlqList(ctx context.Context, args []string) error {
	cmd := c.NewCommand("orderctl dlq ls", lsHelp)
	var reason reasonFlag
	cmd.Flags.Var(&reason, "reason", "only dead letters with this reason `CODE`: "+reasonList())
	limit := cmd.Flags.Int("limit", 20, "list at most `N` dead letters")
	since := cmd.Flags.Duration("since", 0, "only dead letters appended to the topic within this `DURATION`, e.g. 30m or 24h; 0 for any age")
	cursor := cmd.Flags.String("cursor", "", "continue an earlier listing from the `CURSOR` it printed; give the same -reason and -since")
	asJSON := cmd.Flags.Bool("json", false, "print one JSON object per line instead of the table")
	rest, err := cmd.ParseAll(args)
	if err != nil {
		return err
	}
	if err := cmd.NoArgs(rest); err != nil {
		return err
	}
	if *limit < 1 {
		return cmd.Failf("-limit must be at least 1, got %d", *limit)
	}
	if *since < 0 {
		return cmd.Failf("-since must not be negative, got %s", *since)
	}
	if !browse.ValidCursor(*cursor) {
		return cmd.Failf("-cursor %q is not a cursor dlq ls printed; pass it unchanged", *cursor)
	}

	reader, client, err := c.openDLQ()
	if err != nil {
		return err
	}
	defer client.Close()
	start := time.Now()
	page, err := reader.ListPage(ctx, browse.Filter{Reason: dlq.Reason(reason), Since: *since, Limit: *limit, Cursor: *cursor})
	if err != nil {
		return c.kafkaError(err)
	}
	took := time.Since(start).Round(100 * time.Millisecond)

	if *asJSON {
		// No lines for no records, and no last line when the listing is
		// complete: scripts need no special case.
		if err := writeJSONLines(c.Stdout, page.Records); err != nil {
			return err
		}
		return writeJSONMore(c.Stdout, page)
	}
	switch {
	case len(page.Records) > 0:
		if err := writeTable(c.Stdout, page.Records); err != nil {
			return err
		}
	case page.Next != "":
		fmt.Fprintln(c.Stdout, "no dead letters found yet")
	default:
		fmt.Fprintln(c.Stdout, "no dead letters")
	}
	// On stderr, so the table on stdout stays only the table.
	c.writeMore(page, *limit, took, reason != "" || *since > 0)
	return nil
}

// writeMore says, after a table, what the listing left out and how to go
// on: a last line with the cursor when there may be more.
func (c *cli) writeMore(page browse.Page, limit int, took time.Duration, filtered bool) {
	for _, t := range page.Trimmed {
		fmt.Fprintf(c.Stderr, "partition %d was trimmed by retention while it was listed: it now starts at offset %d; "+
			"every record %s still holds was listed\n", t.Partition, t.Oldest, c.DLQTopic)
	}
	if page.Next == "" {
		return
	}
	same := ""
	if filtered {
		same = ", with the same -reason and -since"
	}
	if page.Partial {
		fmt.Fprintf(c.Stderr, "stopped after reading for %s, with %d listed; there may be more, older: continue with -cursor %s%s\n",
			took, len(page.Records), page.Next, same)
		return
	}
	fmt.Fprintf(c.Stderr, "listed the newest %d; there may be more: continue with -cursor %s%s\n", limit, page.Next, same)
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
			source = termtext.Cell(fmt.Sprintf("%s/%d/%d", r.SourceTopic, r.SourcePartition, r.SourceOffset), 2*keyWidth)
		}
		// A column of its own, not a mark in PAYLOAD: a payload is any
		// producer's text, and could spell out any mark.
		if r.Truncated {
			truncated = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Ref(), failedAt, termtext.Cell(string(r.Reason), keyWidth), source,
			termtext.Cell(string(r.Key), keyWidth), termtext.Cell(r.Error, errorWidth), truncated, payloadCell(r))
	}
	return tw.Flush()
}

// payloadCell is the start of r's payload for the table.
func payloadCell(r dlq.Record) string {
	// White space collapses in a cell, so read more than a cell shows: an
	// indented JSON payload still shows its first keys.
	const read = 4 * payloadWidth
	preview := r.Preview(read)
	if r.PayloadBytes() > read {
		preview += "…"
	}
	return termtext.Cell(preview, payloadWidth)
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
	AppendedAt      *time.Time `json:"appended_at"` // when Kafka appended it; null if unknown
	Key             *string    `json:"key"`         // null for a record without a key
	Payload         string     `json:"payload"`     // at most dlq.PreviewBytes
	PayloadBytes    int        `json:"payload_bytes"`
	// PayloadPreview says Payload is only the start of the payload.
	PayloadPreview bool `json:"payload_preview,omitempty"`
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
			Payload: string(r.Value), PayloadBytes: r.PayloadBytes(), PayloadPreview: r.Previewed(),
		}
		if !r.FailedAt.IsZero() {
			t := r.FailedAt.UTC()
			line.FailedAt = &t
		}
		if !r.Timestamp.IsZero() {
			t := r.Timestamp.UTC()
			line.AppendedAt = &t
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

// moreLine is the last line of dlq ls -json when the listing left
// something out. It has no "ref": scripts tell it from a dead letter so.
type moreLine struct {
	Next    string           `json:"next,omitempty"`
	Partial bool             `json:"partial,omitempty"`
	Trimmed []browse.Trimmed `json:"trimmed,omitempty"`
}

// writeJSONMore writes moreLine when there is more to list or something
// was trimmed.
func writeJSONMore(w io.Writer, page browse.Page) error {
	if page.Next == "" && len(page.Trimmed) == 0 {
		return nil
	}
	return json.NewEncoder(w).Encode(moreLine{Next: page.Next, Partial: page.Partial, Trimmed: page.Trimmed})
}

const (
	lsUsage   = "Usage:\n  orderctl [global flags] dlq ls [-reason CODE] [-limit N] [-since DURATION] [-cursor CURSOR] [-json]\n"
	lsDetails = `Lists dead letters, newest first by when they were appended to the
dead-letter topic (their Kafka timestamp, which dlq show prints as
"appended"), at most -limit of them. Prints "no dead letters" when none
match. -since filters by that time too: a message that failed long ago but
was dead-lettered recently (its publish delayed by an outage, say) is
listed; the dlq-failed-at header can be out of order across replicas.

A listing reads for 5s at most (less when -timeout leaves less), so a
filter that matches little of a long topic still answers. When it stops
early, at -limit or at that time, it says on stderr that there may be more
and prints a cursor:
  listed the newest 20; there may be more: continue with -cursor 1MDo...
Run dlq ls again with -cursor CURSOR, and the same -reason and -since, for
the next page: it starts where this one stopped, lists nothing twice, and
may be empty. A partition that retention trimmed while it was being listed
is named on stderr; nothing the topic still held was skipped.

The table's columns: RECORD, the dead letter's PARTITION:OFFSET for dlq show
and dlq redrive; FAILED AT; REASON; SOURCE, the topic/partition/offset orderd
consumed the message from; KEY; ERROR, what was wrong; TRUNCATED, "yes" for
a message too large for the dead-letter topic, whose payload was cut to fit
it (dlq show says how much is left; dlq redrive takes it only with
-payload-file); PAYLOAD, its start. Long values are cut (…); text that is
not printable UTF-8 is shown as a Go quoted string. dlq show prints a record
in full.

With -json it prints one JSON object per dead letter per line instead:
ref, partition, offset, failed_at (RFC 3339, null if unknown), reason,
error, source_topic, source_partition, source_offset, appended_at (RFC
3339, null if unknown), key (null for none), payload, as text (bytes that
are not UTF-8 become U+FFFD), and payload_bytes, the payload's length. A
listing keeps only the first 1024 bytes of each payload: a longer one has
payload_preview (true) too, and dlq show prints it whole. A truncated dead
letter has truncated (true), original_bytes and original_sha256 (hex) as
well, describing the message before it was cut. No dead letters, no lines.
When the listing stopped early, or a partition was trimmed, the last line
is not a dead letter and has no ref: {"next":"CURSOR"}, with
"partial":true when it stopped for time, and "trimmed":[{"partition":P,
"oldest":OFFSET}] when retention trimmed partitions.
`
	lsExamples = `  orderctl dlq ls
  orderctl dlq ls -reason conflict -since 24h -limit 100
  orderctl dlq ls -reason conflict -since 24h -limit 100 -cursor 1MDo...
  orderctl dlq ls -json -limit 1000 | jq -r 'select(.ref and .source_partition == 2) | .ref'
  orderctl dlq ls -json -reason too_large | jq -r 'select(.truncated) | .ref'
  orderctl dlq ls -json -limit 100 | tail -n 1 | jq -r '.next // empty'
`
)

var lsHelp = command.Help{Usage: lsUsage, Details: lsDetails, Examples: lsExamples}
