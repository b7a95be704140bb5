package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
)

// Redriver sends dead-letter records back to the orders topic, for orderd
// to process again, typically after the producer's bug was fixed or with a
// corrected payload.
//
// Redriving the same record twice does no harm: orderd stores an order once,
// and an identical copy is a duplicate that changes nothing.
type Redriver struct {
	reader   *Reader
	producer sarama.SyncProducer
	topic    string
}

// NewRedriver reads records through reader and publishes them to topic (the
// orders topic) through producer, which stays the caller's to close.
func NewRedriver(reader *Reader, producer sarama.SyncProducer, topic string) *Redriver {
	return &Redriver{reader: reader, producer: producer, topic: topic}
}

// Redriven says where a redriven record went.
type Redriven struct {
	From      Ref
	Topic     string
	Partition int32
	Offset    int64
}

var (
	// ErrPayloadNeedsOneRecord is returned when a replacement payload is
	// given for more or fewer than one record.
	ErrPayloadNeedsOneRecord = errors.New("a replacement payload applies to exactly one record")
	// ErrTruncated is returned for a record whose payload was cut to fit
	// the dead-letter topic, when no replacement payload is given: what is
	// left is not the message that arrived, and redriving it would only
	// dead-letter a fragment.
	ErrTruncated = errors.New("its payload was cut to fit the dead-letter topic; redrive it with a corrected payload")
)

// Redrive publishes each record of refs to the orders topic with its
// original key and headers, the dead-letter headers removed and a
// redriven-from header added naming the record. With payload non-nil (only
// for a single record) the payload replaces the record's value; without it a
// truncated record is refused with ErrTruncated. It stops at the first
// failure and returns what it redrove until then.
func (d *Redriver) Redrive(ctx context.Context, refs []Ref, payload []byte) ([]Redriven, error) {
	if payload != nil && len(refs) != 1 {
		return nil, ErrPayloadNeedsOneRecord
	}
	done := make([]Redriven, 0, len(refs))
	for _, ref := range refs {
		rec, err := d.reader.Get(ctx, ref)
		if err != nil {
			return done, err
		}
		r, err := d.Send(rec, payload)
		if err != nil {
			return done, err
		}
		done = append(done, r)
	}
	return done, nil
}

// Send publishes rec, already read, to the orders topic as Redrive does:
// its key and headers, the dead-letter headers removed and redriven-from
// set, and payload instead of its value when payload is not nil.
func (d *Redriver) Send(rec Record, payload []byte) (Redriven, error) {
	ref := Ref{Partition: rec.Partition, Offset: rec.Offset}
	if rec.Truncated && payload == nil {
		return Redriven{}, fmt.Errorf("redrive %s (%d of %d bytes kept, sha256 %s): %w",
			ref, len(rec.Value), rec.OriginalBytes, rec.OriginalSHA256, ErrTruncated)
	}
	msg := &sarama.ProducerMessage{Topic: d.topic, Value: sarama.ByteEncoder(rec.Value)}
	if payload != nil {
		msg.Value = sarama.ByteEncoder(payload)
	}
	if rec.Key != nil {
		msg.Key = sarama.ByteEncoder(rec.Key)
	}
	for _, h := range rec.Headers {
		if !IsOwnHeader(h.Key) && h.Key != HeaderRedrivenFrom { // replaced below
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: []byte(h.Value)})
		}
	}
	from := d.reader.Topic() + "/" + strconv.FormatInt(int64(ref.Partition), 10) + "/" + strconv.FormatInt(ref.Offset, 10)
	msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(HeaderRedrivenFrom), Value: []byte(from)})
	p, o, err := d.producer.SendMessage(msg)
	if err != nil {
		return Redriven{}, fmt.Errorf("redrive %s to %s: %w", ref, d.topic, err)
	}
	return Redriven{From: ref, Topic: d.topic, Partition: p, Offset: o}, nil
}
