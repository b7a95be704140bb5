package stages

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/dlq"
)

// Tracing is how the stages trace: a consumer span per message, continuing
// the producer's traceparent, and a span per batch write linking to the
// messages it holds. A nil *Tracing traces nothing, and costs a nil test.
type Tracing struct {
	Tracer trace.Tracer
	// Group is the consumer group, named on every consumer span.
	Group string
}

// Attribute keys of orderd's own.
var (
	attrReason     = attribute.Key("orderd.dlq.reason")
	attrBatchSize  = attribute.Key("orderd.batch.size")
	attrWriter     = attribute.Key("orderd.writer")
	attrOrderUID   = attribute.Key("orderd.order_uid")
	attrBatchTrace = attribute.Key("orderd.batch.trace_id")
	attrBatchSpan  = attribute.Key("orderd.batch.span_id")
)

// startBatch starts the span of one batch write. A batch has as many
// parents as it holds messages, so it picks none of them: it is the root of
// a trace of its own, linked to each message's span. The PostgreSQL calls
// made with the returned context are its children.
func (t *Tracing) startBatch(ctx context.Context, worker int, batch []Valid) (context.Context, trace.Span) {
	links := make([]trace.Link, 0, len(batch))
	for _, env := range batch {
		if s := env.Span(); s != nil {
			links = append(links, trace.Link{SpanContext: s.SpanContext()})
		}
	}
	return t.Tracer.Start(ctx, "write orders",
		trace.WithNewRoot(),
		trace.WithLinks(links...),
		trace.WithAttributes(attrBatchSize.Int(len(batch)), attrWriter.Int(worker), semconv.DBSystemNamePostgreSQL))
}

// traceBatch is the write stage's side of tracing one batch: the context
// its attempts run in, and what ends the span. With tracing off, both are
// what the stage had without it.
func (w *Writer) traceBatch(ctx context.Context, worker int, batch []Valid) (context.Context, trace.Span) {
	if w.Tracing == nil {
		return ctx, nil
	}
	return w.Tracing.startBatch(ctx, worker, batch)
}

// attemptFailed records a failed attempt of a batch write on its span: its
// kind only, since PostgreSQL's messages may quote a value.
func attemptFailed(span trace.Span, err error) {
	if span != nil && err != nil {
		span.AddEvent("attempt failed", trace.WithAttributes(semconv.ErrorTypeKey.String(errorType(err))))
	}
}

// endBatch ends a batch's span, failed if the batch was never written. Each
// message's span gets an event naming it: the batch links to the messages,
// and this leads back, from a message's trace to the write that stored it.
func endBatch(span trace.Span, err error, batch []Valid) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, "batch not written: "+errorType(err))
	}
	sc := span.SpanContext()
	event := trace.WithAttributes(attrBatchTrace.String(sc.TraceID().String()), attrBatchSpan.String(sc.SpanID().String()),
		attrBatchSize.Int(len(batch)))
	for _, env := range batch {
		if s := env.Span(); s != nil {
			s.AddEvent("batch written", event)
		}
	}
	span.End()
}

// observe records v on h, with the span's trace id as the exemplar when the
// span is sampled, so a slow bucket in Grafana leads to a trace.
func observe(h prometheus.Observer, v float64, span trace.Span) {
	if span != nil {
		if sc := span.SpanContext(); sc.IsSampled() {
			if eo, ok := h.(prometheus.ExemplarObserver); ok {
				eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
				return
			}
		}
	}
	h.Observe(v)
}

// markCondemned records on a message's span why it is dead-lettered: the
// reason, which names a kind of failure. Not the error's text: it may
// quote the order's fields.
func markCondemned(span trace.Span, reason dlq.Reason) {
	if span == nil {
		return
	}
	span.SetAttributes(attrReason.String(string(reason)))
	span.SetStatus(codes.Error, "dead-lettered: "+string(reason))
}

// markValid names a valid order's id on its message's span, so that the
// trace of order X can be searched by orderd.order_uid=X. Only once it is
// valid: an order_uid is then 1 to 64 of [A-Za-z0-9_-], an id and nothing
// else, whatever the producer put there.
func markValid(span trace.Span, uid string) {
	if span != nil {
		span.SetAttributes(attrOrderUID.String(uid))
	}
}

// errorType names an error's kind for a span, without its text.
func errorType(err error) string {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		next := u.Unwrap()
		if next == nil {
			break
		}
		err = next
	}
	return fmt.Sprintf("%T", err)
}
