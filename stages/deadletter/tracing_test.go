package deadletter

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/pipeline"
)

const producerTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// A dead letter's traceparent is its message's span, in the same trace,
// replacing the producer's. (That the message's span is a child of the
// producer's: see the consumer package's TestTracing_MessageSpan.)
func TestTracing_DeadLetterContinuesTheMessageSpan(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	parent := pipeline.Propagator.Extract(context.Background(), propagation.MapCarrier{"traceparent": producerTraceparent, "tracestate": "producer=1"})
	_, span := tp.Tracer("test").Start(parent, "process orders", trace.WithSpanKind(trace.SpanKindConsumer))
	defer span.End()
	sc := span.SpanContext()
	headers := traceparentHeaders([]sarama.RecordHeader{
		{Key: []byte("traceparent"), Value: []byte(producerTraceparent)}, {Key: []byte("other"), Value: []byte("v")},
	}, span)
	want := "00-0af7651916cd43dd8448eb211c80319c-" + sc.SpanID().String() + "-01"
	var got []string
	for _, h := range headers {
		if string(h.Key) == "traceparent" {
			got = append(got, string(h.Value))
		}
	}
	if len(got) != 1 || got[0] != want || len(headers) != 3 { // other, traceparent, tracestate
		t.Fatalf("dead letter headers %q, want one traceparent %s", got, want)
	}
}
