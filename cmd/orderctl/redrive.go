package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/dlq"
)

// dlqRedrive runs "orderctl dlq redrive".
func (c *cli) dlqRedrive(ctx context.Context, args []string) error {
	cmd := c.newCommand("orderctl dlq redrive")
	cmd.usage = redriveUsage
	cmd.details = redriveDetails
	cmd.examples = redriveExamples
	var reason reasonFlag
	cmd.flags.Var(&reason, "reason", "redrive the dead letters with this reason `CODE`, newest first: "+reasonList())
	limit := cmd.flags.Int("limit", 100, "with -reason, redrive at most `N` dead letters")
	payloadFile := cmd.flags.String("payload-file", "", "publish this `FILE`'s bytes instead of the payload; for exactly one PARTITION:OFFSET")
	dryRun := cmd.flags.Bool("dry-run", false, "print what would be redriven; publish nothing")
	rest, err := cmd.parseAll(args)
	if err != nil {
		return err
	}
	refs := make([]dlq.Ref, len(rest))
	for i, arg := range rest {
		if refs[i], err = dlq.ParseRef(arg); err != nil {
			return cmd.fail(err)
		}
	}
	given := map[string]bool{}
	cmd.flags.Visit(func(f *flag.Flag) { given[f.Name] = true })
	switch {
	case len(refs) == 0 && reason == "":
		return cmd.failf("say which dead letters: PARTITION:OFFSET references or -reason CODE")
	case len(refs) > 0 && reason != "":
		return cmd.failf("give PARTITION:OFFSET references or -reason, not both")
	case given["limit"] && reason == "":
		return cmd.failf("-limit applies to -reason only")
	case *limit < 1:
		return cmd.failf("-limit must be at least 1, got %d", *limit)
	case *payloadFile != "" && len(refs) != 1:
		return cmd.failf("-payload-file replaces the payload of exactly one dead letter; give one PARTITION:OFFSET")
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
	var recs []dlq.Record // the dead letters chosen by -reason
	if reason != "" {
		if recs, err = reader.List(ctx, dlq.Filter{Reason: dlq.Reason(reason), Limit: *limit}); err != nil {
			return c.kafkaError(err)
		}
		if len(recs) == 0 {
			fmt.Fprintf(c.stdout, "no dead letters with reason %s\n", reason)
			return nil
		}
		for _, r := range recs {
			refs = append(refs, dlq.Ref{Partition: r.Partition, Offset: r.Offset})
		}
	}
	if *dryRun {
		return c.dryRun(ctx, reader, refs, recs, *payloadFile, payload)
	}
	return c.redrive(ctx, reader, client, refs, recs, payload)
}

// redrive publishes the dead letters at refs to the orders topic, the
// payload replaced when payload is not nil. recs are the records at refs
// when they were listed already, and are not read again.
func (c *cli) redrive(ctx context.Context, reader *dlq.Reader, client sarama.Client, refs []dlq.Ref, recs []dlq.Record, payload []byte) error {
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return c.kafkaError(fmt.Errorf("start producer: %w", err))
	}
	// Each send is synchronous and acknowledged, so closing has nothing in
	// flight left to report.
	defer func() { _ = producer.Close() }()
	redriver := dlq.NewRedriver(reader, producer, c.topic)
	// One record at a time, so each line is printed as soon as its record
	// is on the orders topic: if a later one fails, or the operator stops
	// the command, the output says exactly what was redriven.
	for i, ref := range refs {
		var d dlq.Redriven
		if recs != nil {
			d, err = redriver.Send(recs[i], payload)
		} else {
			var done []dlq.Redriven
			if done, err = redriver.Redrive(ctx, []dlq.Ref{ref}, payload); len(done) == 1 {
				d = done[0]
			}
		}
		if err != nil {
			return c.kafkaError(err)
		}
		fmt.Fprintf(c.stdout, "redriven %s %s -> %s %d:%d\n", c.dlqTopic, d.From, d.Topic, d.Partition, d.Offset)
	}
	return nil
}

// dryRun prints what redriving refs would publish. recs are the records
// at refs when they were listed already; otherwise each is read, so that a
// reference to nothing fails as it would for real.
func (c *cli) dryRun(ctx context.Context, reader *dlq.Reader, refs []dlq.Ref, recs []dlq.Record, payloadFile string, payload []byte) error {
	if recs == nil {
		for _, ref := range refs {
			r, err := reader.Get(ctx, ref)
			if err != nil {
				return c.kafkaError(err)
			}
			recs = append(recs, r)
		}
	}
	for _, r := range recs {
		what := fmt.Sprintf("payload %d bytes", len(r.Value))
		if payload != nil {
			what = fmt.Sprintf("payload %d bytes from %s", len(payload), payloadFile)
		}
		fmt.Fprintf(c.stdout, "would redrive %s %s -> %s (%s, key %s, %s)\n",
			c.dlqTopic, r.Ref(), c.topic, cell(string(r.Reason), keyWidth), cell(string(r.Key), keyWidth), what)
	}
	return nil
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
not both.

It prints a line per dead letter as it goes, naming where its copy landed:
  redriven orders.dlq 1:5 -> orders 2:1234
and stops at the first failure; the lines printed before it stand.

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
