package dlq

import (
	"context"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// WithTracer makes every record d redrives start a span: a PRODUCER span, the
// root of a trace of its own linked to the dead letter's (its traceparent
// header: the trace of the message it holds), whose context the redriven
// record carries in its traceparent, so that orderd consuming it again
// continues the redrive's trace. A nil tracer traces nothing.
func (d *Redriver) WithTracer(t trace.Tracer) *Redriver {
	d.tracer = t
	return d
}

var propagator = propagation.TraceContext{}

// startRedrive starts the span of redriving rec as msg, and sets msg's
// traceparent to it. nil when d does not trace.
func (d *Redriver) startRedrive(rec Record, msg *sarama.ProducerMessage) trace.Span {
	if d.tracer == nil {
		return nil
	}
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(d.topic),
			attrRedrivenFrom.String(d.reader.Topic()+"/"+Ref{Partition: rec.Partition, Offset: rec.Offset}.String()),
		),
	}
	dead := trace.SpanContextFromContext(propagator.Extract(context.Background(), recordHeaders(rec.Headers)))
	if dead.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: dead}))
	}
	ctx, span := d.tracer.Start(context.Background(), "send "+d.topic, opts...)
	kept := msg.Headers[:0]
	for _, h := range msg.Headers {
		if k := string(h.Key); k != "traceparent" && k != "tracestate" {
			kept = append(kept, h)
		}
	}
	msg.Headers = kept
	propagator.Inject(ctx, producerHeaders{msg})
	return span
}

// endRedrive ends span, failed if err is not nil.
func endRedrive(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, "redrive not accepted")
	}
	span.End()
}

// attrRedrivenFrom names the dead letter redriven: topic/partition/offset.
var attrRedrivenFrom = attribute.Key("orderd.dlq.redriven_from")

// recordHeaders reads a dead letter's headers as a propagation carrier.
type recordHeaders []Header

func (c recordHeaders) Get(key string) string {
	for _, h := range c {
		if h.Key == key {
			return h.Value
		}
	}
	return ""
}

func (c recordHeaders) Set(string, string) {}

func (c recordHeaders) Keys() []string {
	keys := make([]string, len(c))
	for i, h := range c {
		keys[i] = h.Key
	}
	return keys
}

// producerHeaders writes a propagator's headers onto a message.
type producerHeaders struct{ msg *sarama.ProducerMessage }

func (c producerHeaders) Get(key string) string {
	for _, h := range c.msg.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c producerHeaders) Set(key, value string) {
	c.msg.Headers = append(c.msg.Headers, sarama.RecordHeader{Key: []byte(key), Value: []byte(value)})
}

func (c producerHeaders) Keys() []string {
	keys := make([]string, len(c.msg.Headers))
	for i, h := range c.msg.Headers {
		keys[i] = string(h.Key)
	}
	return keys
}
