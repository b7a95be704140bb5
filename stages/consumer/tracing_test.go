package consumer

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/stages/internal/stagetest"
)

const producerTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func consumed() *sarama.ConsumerMessage {
	return &sarama.ConsumerMessage{
		Topic: "orders", Partition: 2, Offset: 41, Key: []byte("k"), Value: []byte(`{"order_uid":"x"}`),
		Headers: []*sarama.RecordHeader{
			{Key: []byte("traceparent"), Value: []byte(producerTraceparent)},
			{Key: []byte("tracestate"), Value: []byte("producer=1")},
		},
	}
}

// A consumed message's span is a CONSUMER child of its traceparent, in the
// producer's trace; acking the envelope ends the span. (Its dead letter's
// traceparent is that span: see the deadletter package's TestTracing_DeadLetterContinuesTheMessageSpan.)
func TestTracing_MessageSpan(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	src := &KafkaSource{Tracing: &stages.Tracing{Tracer: tp.Tracer("test"), Group: "orderd"}}
	env := src.envelope(consumed(), &stagetest.Acks{})
	sc := env.Span().SpanContext()
	if sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("span in trace %s, want the producer's", sc.TraceID())
	}
	if len(spans.GetSpans()) != 0 {
		t.Fatal("span ended before the ack")
	}
	env.Ack()
	ended := spans.GetSpans()
	if len(ended) != 1 || ended[0].SpanKind != trace.SpanKindConsumer || ended[0].Parent.SpanID().String() != "b7ad6b7169203331" {
		t.Fatalf("ended %v, want one consumer span under the producer's", ended)
	}
}

// The per-message cost of tracing in the source: the envelope, its span
// (started, with its attributes, and ended by the ack), against the
// envelope alone.
func BenchmarkTracing_Message(b *testing.B) {
	f := func(name string, tracing *stages.Tracing) {
		b.Run(name, func(b *testing.B) {
			src := &KafkaSource{Tracing: tracing}
			msg := consumed()
			a := &stagetest.Acks{}
			b.ReportAllocs()
			for b.Loop() {
				env := src.envelope(msg, a)
				env.Ack()
			}
		})
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f("off", nil)
	f("on", &stages.Tracing{Tracer: tp.Tracer("bench"), Group: "orderd"})
}
