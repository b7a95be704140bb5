package storage

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// TraceEvent adds an event to the span in ctx, if one is recording: how a
// write's retries, bisections and schema probe show on its batch's span.
// Without a recording span it costs a context lookup.
func TraceEvent(ctx context.Context, name string, attrs ...attribute.KeyValue) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(name, trace.WithAttributes(attrs...))
	}
}
