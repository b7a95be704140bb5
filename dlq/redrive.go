package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/trace"
)

// Redriver sends dead-letter records back to the orders topic, for orderd
// to process again, typically after the producer's bug was fixed or with a
// corrected payload.
//
// Redriving the same record twice does no harm: orderd stores an order once,
// and an identical copy is a duplicate that changes nothing.
type Redriver struct {
	reader   Source
	producer sarama.SyncProducer
	topic    string
	tracer   trace.Tracer // nil: redrives are not traced (WithTracer)
}

// Source is where a Redriver reads the records it redrives: a
// browse.Reader of the dead-letter topic.
type Source interface {
	// GetAll returns the records at refs, whole, in their order, or
	// an error naming one that is missing (browse.ErrNotFound).
	GetAll(ctx context.Context, refs []Ref) ([]Record, error)
	// Topic is the dead-letter topic read.
	Topic() string
}

// NewRedriver reads records through reader and publishes them to topic (the
// orders topic) through producer, which stays the caller's to close.
func NewRedriver(reader Source, producer sarama.SyncProducer, topic string) *Redriver {
	return &Redriver{reader: reader, producer: producer, topic: topic}
}

// Redriven says where a redriven record went.
type Redriven struct {
	From      Ref
	Topic     string
	Partition int32
	Offset    int64
}

// MaxRedriveBytes bounds what one Redrive holds: the keys, payloads and
// headers of the records it reads, whole, before it sends them. A request
// for more fails with ErrRedriveTooLarge before anything is sent.
const MaxRedriveBytes = 64 << 20

var (
	// ErrPayloadNeedsOneRecord is returned when a replacement payload is
	// given for more or fewer than one record.
	ErrPayloadNeedsOneRecord = errors.New("a replacement payload applies to exactly one record")
	// ErrTruncated is returned for a record whose payload was cut to fit
	// the dead-letter topic, when no replacement payload is given: what is
	// left is not the message that arrived, and redriving it would only
	// dead-letter a fragment.
	ErrTruncated = errors.New("its payload was cut to fit the dead-letter topic; redrive it with a corrected payload")
	// ErrRedriveTooLarge is returned when the records named hold more than
	// MaxRedriveBytes.
	ErrRedriveTooLarge = errors.New("too many bytes for one redrive")
	// ErrPreviewOnly is returned by Send for a record from a listing, which
	// holds only the start of its payload: Get reads it whole.
	ErrPreviewOnly = errors.New("the record holds only a preview of its payload; read it whole with Get")
)

// Redrive publishes each record of refs to the orders topic with its
// original key and headers, the dead-letter headers removed and a
// redriven-from header added naming the record. With payload non-nil (only
// for a single record) the payload replaces the record's value; without it
// a truncated record is refused with ErrTruncated.
//
// It reads every record whole first (GetAll: each partition in one pass),
// and refuses them all, sending nothing, if one is missing (browse.ErrNotFound)
// or truncated, or if they hold more than MaxRedriveBytes. It then sends
// them together (SendAll).
func (d *Redriver) Redrive(ctx context.Context, refs []Ref, payload []byte) ([]Redriven, error) {
	if payload != nil && len(refs) != 1 {
		return nil, ErrPayloadNeedsOneRecord
	}
	if len(refs) == 0 {
		return nil, nil
	}
	recs, err := d.reader.GetAll(ctx, refs)
	if err != nil {
		return nil, err
	}
	return d.SendAll(recs, payload)
}

// SendAll publishes recs, read whole (GetAll), as Redrive does, all
// together and in their order: nothing is sent if one cannot be redriven
// (ErrTruncated, ErrPreviewOnly). If some sends fail, it returns the
// others, which were redriven, with the error. With payload non-nil (only
// for a single record) the payload replaces the record's value.
func (d *Redriver) SendAll(recs []Record, payload []byte) ([]Redriven, error) {
	if payload != nil && len(recs) != 1 {
		return nil, ErrPayloadNeedsOneRecord
	}
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, rec := range recs {
		var err error
		if msgs[i], err = d.message(rec, payload); err != nil {
			return nil, err
		}
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	spans := make([]trace.Span, len(msgs))
	for i, msg := range msgs {
		spans[i] = d.startRedrive(recs[i], msg)
	}
	err := d.producer.SendMessages(msgs)
	errs := RecordErrors(err, msgs)
	for i, span := range spans {
		endRedrive(span, errs[i])
	}
	var perrs sarama.ProducerErrors
	if err != nil && !errors.As(err, &perrs) {
		return nil, fmt.Errorf("redrive %d records to %s: %w", len(msgs), d.topic, err)
	}
	done := make([]Redriven, 0, len(msgs))
	var failed []error
	for i, msg := range msgs {
		if errs[i] != nil {
			failed = append(failed, errs[i])
			continue
		}
		from := Ref{Partition: recs[i].Partition, Offset: recs[i].Offset}
		done = append(done, Redriven{From: from, Topic: d.topic, Partition: msg.Partition, Offset: msg.Offset})
	}
	if len(failed) > 0 {
		return done, fmt.Errorf("redrive %d of %d records to %s: %w", len(failed), len(msgs), d.topic, failed[0])
	}
	return done, nil
}

// Send publishes rec, already read whole (Get), to the orders topic as
// Redrive does: its key and headers, the dead-letter headers removed and
// redriven-from set, and payload instead of its value when payload is not
// nil.
func (d *Redriver) Send(rec Record, payload []byte) (Redriven, error) {
	msg, err := d.message(rec, payload)
	if err != nil {
		return Redriven{}, err
	}
	ref := Ref{Partition: rec.Partition, Offset: rec.Offset}
	span := d.startRedrive(rec, msg)
	p, o, err := d.producer.SendMessage(msg)
	endRedrive(span, err)
	if err != nil {
		return Redriven{}, fmt.Errorf("redrive %s to %s: %w", ref, d.topic, err)
	}
	return Redriven{From: ref, Topic: d.topic, Partition: p, Offset: o}, nil
}

// message is the redriven copy of rec, or why rec cannot be redriven.
func (d *Redriver) message(rec Record, payload []byte) (*sarama.ProducerMessage, error) {
	ref := Ref{Partition: rec.Partition, Offset: rec.Offset}
	switch {
	case payload != nil:
	case rec.Truncated:
		return nil, fmt.Errorf("redrive %s (%d of %d bytes kept, sha256 %s): %w",
			ref, rec.PayloadBytes(), rec.OriginalBytes, rec.OriginalSHA256, ErrTruncated)
	case rec.Previewed():
		return nil, fmt.Errorf("redrive %s: %w", ref, ErrPreviewOnly)
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
	return msg, nil
}
