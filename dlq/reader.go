package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/errgroup"
)

var (
	// ErrNotFound means no record is at the requested position (never
	// written, or already removed by retention).
	ErrNotFound = errors.New("dead-letter record not found")
	// ErrUnknownTopic means the dead-letter topic does not exist.
	ErrUnknownTopic = errors.New("topic does not exist")
)

// Reader reads the dead-letter topic with a plain consumer: it joins no
// consumer group and commits nothing, so inspecting never moves anyone's
// position. It is safe for concurrent use.
type Reader struct {
	client sarama.Client
	topic  string
}

// NewReader reads topic through client, which stays the caller's to close.
// A client made with ClientConfig answers fastest.
func NewReader(client sarama.Client, topic string) *Reader {
	return &Reader{client: client, topic: topic}
}

// ClientConfig is a sarama configuration suited to reading the dead-letter
// topic and redriving from it: a short fetch wait, since every read asks for
// records that are already there and waits out the fetch in flight before
// starting, and acknowledged sends for a SyncProducer.
func ClientConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Consumer.MaxWaitTime = 50 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Metadata.AllowAutoTopicCreation = false
	// Bound every request, which no context can: sarama's defaults (30s per
	// read, three metadata retries) would let one silent broker hold a
	// caller for minutes.
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Timeout = 20 * time.Second
	return c
}

// Topic is the dead-letter topic read.
func (r *Reader) Topic() string { return r.topic }

// Filter selects records for List.
type Filter struct {
	Reason Reason        // only this reason; empty for any
	Since  time.Duration // only records that failed less than this long ago; 0 for any age
	Limit  int           // at most this many, newest first; must be positive
}

// scanChunk is how many offsets List reads at a time while walking a
// partition back from its end.
const scanChunk = 256

// List returns the records that match f, newest first. It walks each
// partition back from its end and stops as soon as it has Limit matches
// there or reaches records older than Since, so a long topic costs only
// what the answer needs.
func (r *Reader) List(ctx context.Context, f Filter) ([]Record, error) {
	if f.Limit <= 0 {
		return nil, fmt.Errorf("list %s: limit must be positive", r.topic)
	}
	partitions, err := r.partitions()
	if err != nil {
		return nil, err
	}
	var cutoff time.Time
	if f.Since > 0 {
		cutoff = time.Now().Add(-f.Since)
	}
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.topic, err)
	}
	defer consumer.Close()

	// Partitions are walked in parallel: each new partition subscription
	// waits for the consumer's fetch in flight, so one after the other
	// costs a fetch wait (Consumer.MaxWaitTime) per partition.
	perPartition := make([][]Record, len(partitions))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range partitions {
		g.Go(func() error {
			recs, err := r.walkBack(gctx, consumer, p, f, cutoff)
			perPartition[i] = recs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	found := slices.Concat(perPartition...)
	slices.SortFunc(found, func(a, b Record) int {
		if c := b.when().Compare(a.when()); c != 0 {
			return c
		}
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(b.Offset - a.Offset)
	})
	return found[:min(len(found), f.Limit)], nil
}

// walkBack returns the newest records of partition p that match f, at most
// f.Limit, none older than cutoff (when set).
func (r *Reader) walkBack(ctx context.Context, consumer sarama.Consumer, p int32, f Filter, cutoff time.Time) ([]Record, error) {
	oldest, end, err := r.bounds(p)
	if err != nil {
		return nil, err
	}
	var found []Record
	for end > oldest {
		start := max(oldest, end-scanChunk)
		recs, err := r.read(ctx, consumer, p, start, end)
		if err != nil {
			return nil, err
		}
		for i := len(recs) - 1; i >= 0; i-- {
			rec := recs[i]
			if !cutoff.IsZero() && rec.when().Before(cutoff) {
				return found, nil // older ones are older still
			}
			if f.Reason == "" || rec.Reason == f.Reason {
				if found = append(found, rec); len(found) == f.Limit {
					return found, nil
				}
			}
		}
		end = start
	}
	return found, nil
}

// when is the time a record is ordered and filtered by: when it failed, or
// when Kafka appended it if the header is missing.
func (r Record) when() time.Time {
	if !r.FailedAt.IsZero() {
		return r.FailedAt
	}
	return r.Timestamp
}

// Get returns the record at ref, or ErrNotFound.
func (r *Reader) Get(ctx context.Context, ref Ref) (Record, error) {
	partitions, err := r.partitions()
	if err != nil {
		return Record{}, err
	}
	if !slices.Contains(partitions, ref.Partition) {
		return Record{}, fmt.Errorf("record %s of %s: %w (no partition %d)", ref, r.topic, ErrNotFound, ref.Partition)
	}
	oldest, end, err := r.bounds(ref.Partition)
	if err != nil {
		return Record{}, err
	}
	switch {
	case oldest == end:
		return Record{}, fmt.Errorf("record %s of %s: %w (partition %d is empty)", ref, r.topic, ErrNotFound, ref.Partition)
	case ref.Offset < oldest || ref.Offset >= end:
		return Record{}, fmt.Errorf("record %s of %s: %w (partition %d holds offsets %d to %d)",
			ref, r.topic, ErrNotFound, ref.Partition, oldest, end-1)
	}
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return Record{}, fmt.Errorf("read %s: %w", r.topic, err)
	}
	defer consumer.Close()
	recs, err := r.read(ctx, consumer, ref.Partition, ref.Offset, ref.Offset+1)
	if err != nil {
		return Record{}, err
	}
	if len(recs) == 0 || recs[0].Offset != ref.Offset {
		return Record{}, fmt.Errorf("record %s of %s: %w", ref, r.topic, ErrNotFound)
	}
	return recs[0], nil
}

// Size is the number of records on the topic now.
func (r *Reader) Size(ctx context.Context) (int64, error) {
	partitions, err := r.partitions()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range partitions {
		oldest, end, err := r.bounds(p)
		if err != nil {
			return 0, err
		}
		n += end - oldest
	}
	return n, nil
}

func (r *Reader) partitions() ([]int32, error) {
	ps, err := r.client.Partitions(r.topic)
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return nil, fmt.Errorf("%s: %w", r.topic, ErrUnknownTopic)
	}
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", r.topic, err)
	}
	return ps, nil
}

// bounds returns the first offset still held and the next offset to be
// written.
func (r *Reader) bounds(p int32) (oldest, end int64, err error) {
	if oldest, err = r.client.GetOffset(r.topic, p, sarama.OffsetOldest); err == nil {
		end, err = r.client.GetOffset(r.topic, p, sarama.OffsetNewest)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of %s[%d]: %w", r.topic, p, err)
	}
	return oldest, end, nil
}

// read returns the records of partition p from offset from up to, not
// including, to.
func (r *Reader) read(ctx context.Context, consumer sarama.Consumer, p int32, from, to int64) ([]Record, error) {
	pc, err := consumer.ConsumePartition(r.topic, p, from)
	if err != nil {
		return nil, fmt.Errorf("read %s[%d] from %d: %w", r.topic, p, from, err)
	}
	// Close, not AsyncClose: the next chunk of this partition subscribes
	// again, which sarama refuses while this subscription lingers. Its
	// error is the partition's errors, already returned below if any.
	defer func() { _ = pc.Close() }()
	recs := make([]Record, 0, to-from)
	for {
		select {
		case msg, ok := <-pc.Messages():
			if !ok {
				return recs, nil
			}
			if msg.Offset >= to {
				return recs, nil
			}
			recs = append(recs, recordOf(msg))
			if msg.Offset == to-1 {
				return recs, nil
			}
		case err := <-pc.Errors():
			return nil, fmt.Errorf("read %s[%d]: %w", r.topic, p, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("read %s[%d] %d to %d: %w", r.topic, p, from, to, ctx.Err())
		}
	}
}

func recordOf(msg *sarama.ConsumerMessage) Record {
	rec := Record{
		Partition: msg.Partition,
		Offset:    msg.Offset,
		Timestamp: msg.Timestamp,
		Key:       msg.Key,
		Value:     msg.Value,
		Headers:   make([]Header, 0, len(msg.Headers)),
	}
	for _, h := range msg.Headers {
		if h != nil {
			rec.Headers = append(rec.Headers, Header{Key: string(h.Key), Value: string(h.Value)})
		}
	}
	rec.parseHeaders()
	return rec
}
