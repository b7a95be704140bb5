package browse

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/dlq"
)

var (
	// ErrNotFound means no record is at the requested position (never
	// written, or already removed by retention).
	ErrNotFound = errors.New("dead-letter record not found")
	// ErrUnknownTopic means the dead-letter topic does not exist.
	ErrUnknownTopic = errors.New("topic does not exist")
	// ErrBadCursor means a cursor is not one a listing returned.
	ErrBadCursor = errors.New("invalid cursor: pass back the next of an earlier listing, unchanged")
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

// Topic is the dead-letter topic read.
func (r *Reader) Topic() string { return r.topic }

// Get returns the record at ref, whole, or ErrNotFound.
func (r *Reader) Get(ctx context.Context, ref dlq.Ref) (dlq.Record, error) {
	recs, err := r.readWhole(ctx, []dlq.Ref{ref}, 0)
	if err != nil {
		return dlq.Record{}, err
	}
	return recs[0], nil
}

// GetAll returns the records at refs, whole, in the order of refs, reading
// each partition in one pass. It fails with ErrNotFound if any is missing,
// and with dlq.ErrRedriveTooLarge if they hold more than dlq.MaxRedriveBytes.
func (r *Reader) GetAll(ctx context.Context, refs []dlq.Ref) ([]dlq.Record, error) {
	return r.readWhole(ctx, refs, dlq.MaxRedriveBytes)
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

// partitions returns the topic's partitions, a copy of sarama's: the
// slice it returns is its metadata cache.
func (r *Reader) partitions() ([]int32, error) {
	ps, err := r.client.Partitions(r.topic)
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return nil, fmt.Errorf("%s: %w", r.topic, ErrUnknownTopic)
	}
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", r.topic, err)
	}
	return slices.Clone(ps), nil
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
