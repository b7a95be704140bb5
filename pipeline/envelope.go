package pipeline

import (
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

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

// Envelope carries a value through the pipeline together with its source,
// its acknowledgement and, when tracing is on, the message's span. Whoever
// ends an envelope's journey (stores it, dead-letters it, merges or drops
// it) must make sure it is acked or nacked exactly once; acking ends the
// span, so the span lasts exactly as long as the message's processing.
type Envelope[T any] struct {
	Value T
	Src   *Source
	acker Acker
	span  trace.Span // nil when tracing is off
}

// NewEnvelope wraps v, read from src, whose processing is resolved by acker.
func NewEnvelope[T any](v T, src *Source, acker Acker) Envelope[T] {
	return Envelope[T]{Value: v, Src: src, acker: acker}
}

// Carry returns an envelope holding v that keeps e's source and
// acknowledgement: the way a stage passes a transformed value on.
func Carry[T, U any](e Envelope[T], v U) Envelope[U] {
	return Envelope[U]{Value: v, Src: e.Src, acker: e.acker, span: e.span}
}

// WithSpan returns e carrying span, which its Ack or Nack ends.
func (e Envelope[T]) WithSpan(span trace.Span) Envelope[T] {
	e.span = span
	return e
}

// Span is the message's span, or nil when tracing is off: callers test it,
// which is all tracing costs them then.
func (e Envelope[T]) Span() trace.Span { return e.span }

// Ack marks the message finished, and ends its span.
func (e Envelope[T]) Ack() {
	e.acker.Ack()
	if e.span != nil {
		e.span.End()
	}
}

// Nack marks the message as not finished; it will be delivered again. Its
// span ends as failed.
func (e Envelope[T]) Nack() {
	e.acker.Nack()
	if e.span != nil {
		e.span.SetStatus(codes.Error, "not finished; the message is consumed again")
		e.span.End()
	}
}

// Weigh says that the message now holds bytes of memory in all, when its
// acknowledgement keeps count of that (a Weigher); otherwise it does
// nothing.
func (e Envelope[T]) Weigh(bytes int64) {
	if w, ok := e.acker.(Weigher); ok {
		w.Weigh(bytes)
	}
}

// Propagator reads and writes W3C traceparent and tracestate headers: the
// format the producers around orderd, and the tracing backends, speak.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}
