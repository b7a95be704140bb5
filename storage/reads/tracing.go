package reads

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// AttrCache says how the read path answered: hit (the cache), miss
// (PostgreSQL was asked) or negative (remembered as not found).
var AttrCache = attribute.Key("orderd.cache")

// traceCache records on the span in ctx how the cache answered.
func traceCache(ctx context.Context, outcome string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(AttrCache.String(outcome))
	}
}
