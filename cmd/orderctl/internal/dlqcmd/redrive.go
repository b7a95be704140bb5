package dlqcmd

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/cmd/orderctl/internal/termtext"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
)

// dlqRedrive runs "orderctl dlq redrive".
func (c *cli) dlqRedrive(ctx context.Context, args []string) error {
	cmd := c.NewCommand("orderctl dlq redrive", redriveHelp)
	var reason reasonFlag
	cmd.Flags.Var(&reason, "reason", "redrive the dead letters with this reason `CODE`, newest first: "+reasonList())
	limit := cmd.Flags.Int("limit", 100, "with -reason, redrive at most `N` dead letters")
	payloadFile := cmd.Flags.String("payload-file", "", "publish this `FILE`'s bytes instead of the payload, for exactly one PARTITION:OFFSET; the only way to redrive a truncated one")
	dryRun := cmd.Flags.Bool("dry-run", false, "print what would be redriven; publish nothing")
	rest, err := cmd.ParseAll(args)
	if err != nil {
		return err
	}
	refs := make([]dlq.Ref, len(rest))
	for i, arg := range rest {
		if refs[i], err = dlq.ParseRef(arg); err != nil {
			return cmd.Fail(err)
		}
	}
	given := map[string]bool{}
	cmd.Flags.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case len(refs) == 0 && reason == "":
		return cmd.Failf("say which dead letters: PARTITION:OFFSET references or -reason CODE")
	case len(refs) > 0 && reason != "":
		return cmd.Failf("give PARTITION:OFFSET references or -reason, not both")
	case given["limit"] && reason == "":
		return cmd.Failf("-limit applies to -reason only")
	case *limit < 1:
		return cmd.Failf("-limit must be at least 1, got %d", *limit)
	case *payloadFile != "" && len(refs) != 1:
		return cmd.Failf("-payload-file replaces the payload of exactly one dead letter; give one PARTITION:OFFSET")
	}
	var payload []byte // nil keeps each record's own payload
	if *payloadFile != "" {
		if payload, err = os.ReadFile(*payloadFile); err != nil {
			return fmt.Errorf("read -payload-file: %w", err)
		}
	}

	reader, client, err := c.openDLQ()
	if err != nil {
		return err
	}
	defer client.Close()
	// Before anything is read or sent: a mistyped -topic must not fail
	// halfway through a batch.
	if err := c.checkOrdersTopic(client); err != nil {
		return err
	}
	// Every record is read before any is sent, so that a reference to
	// nothing, or to a truncated record, fails with nothing published.
	var recs []dlq.Record
	if reason != "" {
		if recs, err = listNewest(ctx, reader, dlq.Reason(reason), *limit); err != nil {
			return c.kafkaError(err)
		}
		if len(recs) == 0 {
			fmt.Fprintf(c.Stdout, "no dead letters with reason %s\n", reason)
			return nil
		}
	} else {
		if recs, err = reader.GetAll(ctx, refs); err != nil {
			return c.kafkaError(err)
		}
		// Named one by one, a truncated record is a mistake to point out
		// before anything is sent; chosen by -reason it is skipped, below.
		if payload == nil {
			if cut := truncated(recs); len(cut) > 0 {
				return &truncatedError{recs: cut}
			}
		}
	}
	if *dryRun {
		return c.dryRun(recs, *payloadFile, payload)
	}
	return c.redrive(ctx, reader, client, recs, payload)
}

// listNewest returns the newest dead letters of reason, at most limit,
// following the listing's cursors until it has them or reached the end.
// Each record holds only a preview of its payload.
func listNewest(ctx context.Context, reader *browse.Reader, reason dlq.Reason, limit int) ([]dlq.Record, error) {
	var recs []dlq.Record
	f := browse.Filter{Reason: reason, Limit: limit}
	for {
		page, err := reader.ListPage(ctx, f)
		if err != nil {
			return nil, err
		}
		recs = append(recs, page.Records...)
		if page.Next == "" || len(recs) >= limit {
			return recs, nil
		}
		f.Cursor, f.Limit = page.Next, limit-len(recs)
	}
}

// redrive publishes recs to the orders topic, together, the payload
// replaced when payload is not nil. A truncated record without a payload
// is skipped. It prints a line per record, in the order of recs, once the
// sends are done; a skipped record makes it fail after the others went.
func (c *cli) redrive(ctx context.Context, reader *browse.Reader, client sarama.Client, recs []dlq.Record, payload []byte) error {
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return c.kafkaError(fmt.Errorf("start producer: %w", err))
	}
	// Every send is acknowledged before SendAll returns, so closing has
	// nothing in flight left to report.
	defer func() { _ = producer.Close() }()
	redriver := dlq.NewRedriver(reader, producer, c.Topic)
	var send []dlq.Record
	var refs []dlq.Ref
	var skipped []dlq.Record
	previews := false
	for _, r := range recs {
		if r.Truncated && payload == nil {
			skipped = append(skipped, r)
			continue
		}
		send, refs = append(send, r), append(refs, dlq.Ref{Partition: r.Partition, Offset: r.Offset})
		previews = previews || r.Previewed()
	}
	var done []dlq.Redriven
	switch {
	case len(send) == 0:
	case previews: // listed: read them whole, then send
		done, err = redriver.Redrive(ctx, refs, payload)
	default:
		done, err = redriver.SendAll(send, payload)
	}
	landed := make(map[dlq.Ref]dlq.Redriven, len(done))
	for _, d := range done {
		landed[d.From] = d
	}
	for _, r := range recs {
		ref := dlq.Ref{Partition: r.Partition, Offset: r.Offset}
		if d, ok := landed[ref]; ok {
			fmt.Fprintf(c.Stdout, "redriven %s %s -> %s %d:%d\n", c.DLQTopic, d.From, d.Topic, d.Partition, d.Offset)
		} else if r.Truncated && payload == nil {
			fmt.Fprintf(c.Stdout, "skipped %s %s: truncated, %s; redrive it alone with -payload-file\n", c.DLQTopic, r.Ref(), kept(r))
		}
	}
	if err != nil {
		return c.kafkaError(fmt.Errorf("%w (%d of %d redriven, listed above)", err, len(done), len(send)))
	}
	if len(skipped) > 0 {
		return &truncatedError{recs: skipped, chosen: len(recs)}
	}
	return nil
}

// dryRun prints what redriving recs would publish, and fails as redriving
// would for the truncated records it would skip.
func (c *cli) dryRun(recs []dlq.Record, payloadFile string, payload []byte) error {
	var skipped []dlq.Record
	for _, r := range recs {
		what := fmt.Sprintf("payload %d bytes", r.PayloadBytes())
		if payload != nil {
			what = fmt.Sprintf("payload %d bytes from %s", len(payload), payloadFile)
		} else if r.Truncated {
			fmt.Fprintf(c.Stdout, "would skip %s %s (%s, key %s, truncated, %s; redrive it alone with -payload-file)\n",
				c.DLQTopic, r.Ref(), termtext.Cell(string(r.Reason), keyWidth), termtext.Cell(string(r.Key), keyWidth), kept(r))
			skipped = append(skipped, r)
			continue
		}
		fmt.Fprintf(c.Stdout, "would redrive %s %s -> %s (%s, key %s, %s)\n",
			c.DLQTopic, r.Ref(), c.Topic, termtext.Cell(string(r.Reason), keyWidth), termtext.Cell(string(r.Key), keyWidth), what)
	}
	if len(skipped) > 0 {
		return &truncatedError{recs: skipped, chosen: len(recs), dryRun: true}
	}
	return nil
}

// truncated returns the records of recs cut to fit the dead-letter topic.
func truncated(recs []dlq.Record) []dlq.Record {
	var cut []dlq.Record
	for _, r := range recs {
		if r.Truncated {
			cut = append(cut, r)
		}
	}
	return cut
}

// truncatedError is dead letters not redriven because their payload was cut
// to fit the dead-letter topic (dlq.ErrTruncated): refused when named by
// reference, skipped when chosen by -reason.
type truncatedError struct {
	recs   []dlq.Record
	chosen int  // how many -reason chose, recs among them; 0 when refused
	dryRun bool // skipped only in a dry run
}

func (e *truncatedError) Unwrap() error { return dlq.ErrTruncated }

func (e *truncatedError) Error() string {
	refs := make([]string, len(e.recs))
	for i, r := range e.recs {
		refs[i] = r.Ref()
	}
	fix := "redrive each alone with its whole message, corrected, in -payload-file FILE (dlq show REF prints what was kept)"
	if len(e.recs) == 1 {
		fix = "redrive it alone with the whole message, corrected, in -payload-file FILE (dlq show " + refs[0] + " prints what was kept)"
	}
	switch {
	case e.chosen > 0 && e.dryRun:
		return fmt.Sprintf("%d of %d dead letters would be skipped, truncated to fit the dead-letter topic: %s; %s",
			len(e.recs), e.chosen, strings.Join(refs, ", "), fix)
	case e.chosen > 0:
		return fmt.Sprintf("%d of %d dead letters skipped, truncated to fit the dead-letter topic: %s; %s",
			len(e.recs), e.chosen, strings.Join(refs, ", "), fix)
	case len(e.recs) == 1:
		r := e.recs[0]
		return fmt.Sprintf("dead letter %s was truncated to fit the dead-letter topic (%s, original sha256 %s), so its payload is not the message that arrived: %s; nothing was redriven",
			refs[0], kept(r), originalSHA256(r), fix)
	default:
		return fmt.Sprintf("dead letters %s were truncated to fit the dead-letter topic, so their payloads are not the messages that arrived: %s; nothing was redriven",
			strings.Join(refs, ", "), fix)
	}
}

const (
	redriveUsage = `Usage:
  orderctl [global flags] dlq redrive [-dry-run] [-payload-file FILE] PARTITION:OFFSET ...
  orderctl [global flags] dlq redrive [-dry-run] -reason CODE [-limit N]
`
	redriveDetails = `Publishes dead letters back to the orders topic (-topic), for orderd to
process once more: typically after the producer's bug was fixed, or with a
corrected payload (-payload-file). Each keeps its key and its other headers;
the dlq-* headers are dropped, and a redriven-from header names the dead
letter it came from (topic/partition/offset). The dead letters themselves
stay where they are.

Choose the dead letters by their PARTITION:OFFSET (see dlq ls), or all of one
-reason, newest first, at most -limit (default 100): one way or the other,
not both. -reason goes through as many pages of the listing as it takes,
within -timeout.

Every chosen dead letter is read whole before any is published, each
partition in one pass, and they are published together, in the order
chosen (at most 64 MiB of them at a time). Then it prints a line per dead
letter, naming where its copy landed:
  redriven orders.dlq 1:5 -> orders 2:1234
If some could not be published, it prints the lines of those that were and
fails naming the error and how many were redriven.

A message too large for the dead-letter topic was truncated to fit it (dlq
ls marks it TRUNCATED; dlq show says how many bytes were kept). What is left
is not the message that arrived, so it is never published as it is: redrive
it alone, with the whole message, corrected, in -payload-file. Named by
PARTITION:OFFSET without -payload-file, it is refused and nothing is
published. Chosen by -reason, it is skipped with a line saying so,
  skipped orders.dlq 0:7: truncated, 1626 of 7632 bytes kept; redrive it alone with -payload-file
the others are redriven, and the command then fails (exit status 1) naming
the skipped ones. -dry-run prints "would skip" for them and fails the same.

Redriving the same record twice does no harm: orderd stores each order once.
An identical copy of a stored order is a duplicate that changes nothing; a
different copy of a stored order is dead-lettered again, as conflict.
`
	redriveExamples = `  orderctl dlq redrive 1:5 2:17
  orderctl dlq redrive -dry-run -reason invalid_order -limit 10
  orderctl dlq show 1:5     # copy the payload into fixed.json and correct it
  orderctl dlq redrive -payload-file fixed.json 1:5
`
)

var redriveHelp = command.Help{Usage: redriveUsage, Details: redriveDetails, Examples: redriveExamples}
