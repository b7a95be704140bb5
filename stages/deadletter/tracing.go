package deadletter

import (
	"context"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/pipeline"
)

// withTraceID adds the message's trace id to a log line about it.
func withTraceID(ev *zerolog.Event, span trace.Span) *zerolog.Event {
	if span != nil {
		if sc := span.SpanContext(); sc.IsValid() {
			ev = ev.Str("trace_id", sc.TraceID().String())
		}
	}
	return ev
}

// traceparentHeaders is hs with the traceparent and tracestate of span's
// context in place of the ones it had: a dead letter is a child of the
// message's span, in the producer's trace, so the trace leads to it.
func traceparentHeaders(hs []sarama.RecordHeader, span trace.Span) []sarama.RecordHeader {
	if span == nil || !span.SpanContext().IsValid() {
		return hs
	}
	var c producedHeaders
	pipeline.Propagator.Inject(trace.ContextWithSpan(context.Background(), span), &c)
	out := make([]sarama.RecordHeader, 0, len(hs)+len(c))
	for _, h := range hs {
		if k := string(h.Key); k != "traceparent" && k != "tracestate" {
			out = append(out, h)
		}
	}
	return append(out, c...)
}

// producedHeaders collects the headers a propagator writes.
type producedHeaders []sarama.RecordHeader

func (c *producedHeaders) Get(key string) string {
	for _, h := range *c {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c *producedHeaders) Set(key, value string) {
	*c = append(*c, sarama.RecordHeader{Key: []byte(key), Value: []byte(value)})
}

func (c *producedHeaders) Keys() []string {
	keys := make([]string, len(*c))
	for i, h := range *c {
		keys[i] = string(h.Key)
	}
	return keys
}
