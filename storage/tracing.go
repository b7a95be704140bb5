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

// Attribute keys of the read path and the writes.
var (
	// AttrCache says how the read path answered: hit (the cache), miss
	// (PostgreSQL was asked) or negative (remembered as not found).
	AttrCache = attribute.Key("orderd.cache")
	attrRows  = attribute.Key("orderd.batch.size")
	attrState = attribute.Key("db.response.status_code") // an SQLSTATE, never a value
)

// traceCache records on the span in ctx how the cache answered.
func traceCache(ctx context.Context, outcome string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(AttrCache.String(outcome))
	}
}
