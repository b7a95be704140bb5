package pipeline

import "time"

// Source says where a message came from. It travels unchanged through every
// stage so that a dead-lettered message keeps its original key, bytes and
// headers, and names its origin.
type Source struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Timestamp time.Time
}

// Header is one Kafka record header.
type Header struct {
	Key, Value []byte
}

// Acker resolves the processing of one message. Ack says it is finished
// (stored, or dead-lettered) and its offset may be committed once every
// earlier offset of its partition is finished too. Nack says it could not be
// finished: its offset, and every later one of its partition, stays
// uncommitted so the message is delivered again after a restart or
// rebalance. Only the first call counts.
type Acker interface {
	Ack()
	Nack()
}

// Weigher is an Acker whose message's share of the in-flight memory can be
// changed as the message grows or shrinks (see InFlight). *Ticket is one.
type Weigher interface {
	Weigh(bytes int64)
}

// Envelope carries a value through the pipeline together with its source
// and its acknowledgement. Whoever ends an envelope's journey (stores it,
// dead-letters it, merges or drops it) must make sure it is acked or nacked
// exactly once.
type Envelope[T any] struct {
	Value T
	Src   *Source
	acker Acker
}

// NewEnvelope wraps v, read from src, whose processing is resolved by acker.
func NewEnvelope[T any](v T, src *Source, acker Acker) Envelope[T] {
	return Envelope[T]{Value: v, Src: src, acker: acker}
}

// Carry returns an envelope holding v that keeps e's source and
// acknowledgement: the way a stage passes a transformed value on.
func Carry[T, U any](e Envelope[T], v U) Envelope[U] {
	return Envelope[U]{Value: v, Src: e.Src, acker: e.acker}
}

// Ack marks the message finished.
func (e Envelope[T]) Ack() { e.acker.Ack() }

// Nack marks the message as not finished; it will be delivered again.
func (e Envelope[T]) Nack() { e.acker.Nack() }

// Weigh says that the message now holds bytes of memory in all, when its
// acknowledgement keeps count of that (a Weigher); otherwise it does
// nothing.
func (e Envelope[T]) Weigh(bytes int64) {
	if w, ok := e.acker.(Weigher); ok {
		w.Weigh(bytes)
	}
}
