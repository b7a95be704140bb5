package browse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"

	"github.com/orderd/orderd/dlq"
)

// scan reads partition p from offset from up to, not including, to and
// calls each for every record, in offset order, until each returns false.
// It never keeps a message: each must copy what it keeps, since sarama's
// messages share its fetch buffers.
//
// Every read subscribes anew, which costs about 150ms whatever it reads:
// sarama gathers new subscriptions for 100ms before it fetches for them,
// and a subscription closed at the end of a partition waits out a fetch
// (Consumer.MaxWaitTime). Callers read few, large ranges.
//
// Offsets that retention removes from under it are not an error: scan goes
// on from the partition's new oldest offset, and returns that offset as
// trimmed (-1 when nothing was trimmed). Every record it skipped so is gone
// from the topic. Any other fetch error is returned.
func (r *Reader) scan(ctx context.Context, consumer sarama.Consumer, p int32, from, to int64, each func(*sarama.ConsumerMessage) bool) (trimmed int64, err error) {
	trimmed = -1
	for next := from; next < to; {
		reached, err := r.scanOnce(ctx, consumer, p, next, to, each)
		if err == nil {
			return trimmed, nil
		}
		if !errors.Is(err, sarama.ErrOffsetOutOfRange) {
			return trimmed, err
		}
		oldest, oerr := r.client.GetOffset(r.topic, p, sarama.OffsetOldest)
		if oerr != nil {
			return trimmed, fmt.Errorf("offsets of %s[%d]: %w", r.topic, p, oerr)
		}
		if oldest <= reached {
			// Not retention: the offset is past the partition's end (the
			// topic was recreated, or a leader lost records).
			return trimmed, err
		}
		// Each round starts strictly higher, so this ends.
		trimmed, next = oldest, oldest
	}
	return trimmed, nil
}

// scanOnce is one subscription of scan. It returns the offset it reached
// (the next one it would have read) with the error that stopped it.
func (r *Reader) scanOnce(ctx context.Context, consumer sarama.Consumer, p int32, from, to int64, each func(*sarama.ConsumerMessage) bool) (int64, error) {
	pc, err := consumer.ConsumePartition(r.topic, p, from)
	if err != nil {
		return from, fmt.Errorf("read %s[%d] from %d: %w", r.topic, p, from, err)
	}
	// Close, not AsyncClose: the next read of this partition subscribes
	// again, which sarama refuses while this subscription lingers. What
	// it returns is the partition's errors, which were read below.
	defer func() { _ = pc.Close() }()
	next := from
	for {
		select {
		case msg, ok := <-pc.Messages():
			if !ok {
				// sarama stops a partition consumer after an error it
				// cannot retry, and reports it first.
				return next, fmt.Errorf("read %s[%d] at %d: %w", r.topic, p, next, consumerError(pc.Close()))
			}
			if msg.Offset >= to {
				return to, nil
			}
			more := each(msg)
			if next = msg.Offset + 1; next >= to || !more {
				return next, nil
			}
		case cerr := <-pc.Errors():
			return next, fmt.Errorf("read %s[%d] at %d: %w", r.topic, p, next, cerr)
		case <-ctx.Done():
			return next, fmt.Errorf("read %s[%d] at %d: %w", r.topic, p, next, ctx.Err())
		}
	}
}

// consumerError is the first error of what PartitionConsumer.Close returns.
func consumerError(err error) error {
	var errs sarama.ConsumerErrors
	switch {
	case errors.As(err, &errs) && len(errs) > 0:
		return errs[0]
	case err != nil:
		return err
	default:
		return errors.New("the consumer stopped without an error")
	}
}

// gapBytes is how many bytes readWhole reads through to reach the next
// record it wants rather than subscribe again (which costs about as much
// as reading this much on a fast network).
const gapBytes = 16 << 20

// readWhole returns the records at refs, whole, in the order of refs: each
// partition is read in one pass (subscribing again only to skip a long
// stretch of records it does not want), the partitions in parallel. A ref
// to nothing fails it with ErrNotFound, and so does holding more than
// maxBytes (0 for no bound) with dlq.ErrRedriveTooLarge.
func (r *Reader) readWhole(ctx context.Context, refs []dlq.Ref, maxBytes int64) ([]dlq.Record, error) {
	partitions, err := r.partitions()
	if err != nil {
		return nil, err
	}
	wanted := map[int32][]int64{}
	for _, ref := range refs {
		if !slices.Contains(partitions, ref.Partition) {
			return nil, fmt.Errorf("record %s of %s: %w (no partition %d)", ref, r.topic, ErrNotFound, ref.Partition)
		}
		wanted[ref.Partition] = append(wanted[ref.Partition], ref.Offset)
	}

	var held atomic.Int64
	perPartition := make(map[int32]map[int64]dlq.Record, len(wanted))
	for p := range wanted {
		perPartition[p] = map[int64]dlq.Record{}
	}
	var g errgroup.Group
	for p, offsets := range wanted {
		slices.Sort(offsets)
		offsets = slices.Compact(offsets)
		found := perPartition[p] // this goroutine's alone
		g.Go(func() error {
			return r.readOffsets(ctx, p, offsets, func(rec dlq.Record) error {
				if n := held.Add(int64(len(rec.Key) + len(rec.Value) + headerBytes(rec.Headers))); maxBytes > 0 && n > maxBytes {
					return fmt.Errorf("read %d records of %s: %w: they hold more than %d MiB; name fewer at a time",
						len(refs), r.topic, dlq.ErrRedriveTooLarge, maxBytes>>20)
				}
				found[rec.Offset] = rec
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]dlq.Record, len(refs))
	for i, ref := range refs {
		rec, ok := perPartition[ref.Partition][ref.Offset]
		if !ok {
			return nil, fmt.Errorf("record %s of %s: %w", ref, r.topic, ErrNotFound)
		}
		out[i] = rec
	}
	return out, nil
}

// readOffsets reads the records of partition p at offsets (sorted, no
// duplicates) and hands each to keep, stopping at its first error. An
// offset outside the partition fails it with ErrNotFound, saying which
// offsets the partition holds; one inside it but without a record is left
// out, for the caller to notice.
func (r *Reader) readOffsets(ctx context.Context, p int32, offsets []int64, keep func(dlq.Record) error) error {
	oldest, end, err := r.bounds(p)
	if err != nil {
		return err
	}
	for _, o := range offsets {
		ref := dlq.Ref{Partition: p, Offset: o}
		switch {
		case oldest == end:
			return fmt.Errorf("record %s of %s: %w (partition %d is empty)", ref, r.topic, ErrNotFound, p)
		case o < oldest || o >= end:
			return fmt.Errorf("record %s of %s: %w (partition %d holds offsets %d to %d)", ref, r.topic, ErrNotFound, p, oldest, end-1)
		}
	}
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return fmt.Errorf("read %s: %w", r.topic, err)
	}
	defer func() { _ = consumer.Close() }()
	var keepErr error
	var read, bytesRead int64
	for i := 0; i < len(offsets); {
		// One subscription, from the next offset wanted to the last, left
		// early when the next one wanted is further off than gapBytes.
		skip := false
		if _, err := r.scan(ctx, consumer, p, offsets[i], offsets[len(offsets)-1]+1, func(msg *sarama.ConsumerMessage) bool {
			read++
			bytesRead += int64(len(msg.Key) + len(msg.Value))
			for i < len(offsets) && offsets[i] < msg.Offset {
				i++ // no record there: not found
			}
			if i < len(offsets) && offsets[i] == msg.Offset {
				if keepErr = keep(dlq.RecordOf(msg, 0)); keepErr != nil {
					return false
				}
				i++
			}
			skip = i < len(offsets) && (offsets[i]-msg.Offset-1)*(bytesRead/read) > gapBytes
			return i < len(offsets) && !skip
		}); err != nil {
			return err
		}
		if keepErr != nil || !skip {
			return keepErr // read to the last offset wanted
		}
	}
	return nil
}

func headerBytes(hs []dlq.Header) int {
	n := 0
	for _, h := range hs {
		n += len(h.Key) + len(h.Value)
	}
	return n
}
