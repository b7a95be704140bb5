package writes

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// traceChild starts a child of the span in ctx, if one is recording, with
// that span's own tracer provider; otherwise it returns ctx and a span that
// does nothing.
func traceChild(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer("github.com/orderd/orderd/storage").Start(ctx, name, trace.WithAttributes(attrs...))
}

// Attribute keys of the writes.
var (
	attrRows  = attribute.Key("orderd.batch.size")
	attrState = attribute.Key("db.response.status_code") // an SQLSTATE, never a value
)
