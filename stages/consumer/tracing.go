package consumer

import (
	"context"
	"strconv"

	"github.com/IBM/sarama"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
)

// envelope is the pipeline's envelope of a consumed message, with its span
// when tracing is on.
func (s *KafkaSource) envelope(msg *sarama.ConsumerMessage, acker pipeline.Acker) stages.Message {
	env := pipeline.NewEnvelope(msg.Value, source(msg), acker)
	if s.Tracing != nil {
		env = env.WithSpan(consume(s.Tracing, msg))
	}
	return env
}

// consume starts the span of a consumed message: a CONSUMER span that is a
// child of the traceparent on its headers, or the root of a new trace. Its
// attributes name the message (topic, partition, offset, group, size), never
// what it holds.
func consume(t *stages.Tracing, msg *sarama.ConsumerMessage) trace.Span {
	parent := pipeline.Propagator.Extract(context.Background(), consumedHeaders(msg.Headers))
	_, span := t.Tracer.Start(parent, "process "+msg.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(msg.Topic),
			semconv.MessagingDestinationPartitionID(strconv.FormatInt(int64(msg.Partition), 10)),
			semconv.MessagingKafkaOffset(int(msg.Offset)),
			semconv.MessagingConsumerGroupName(t.Group),
			semconv.MessagingMessageBodySize(len(msg.Value)),
		))
	return span
}

// consumedHeaders reads a consumed message's headers as a propagation
// carrier. Get copies the value: sarama's buffers are the message's.
type consumedHeaders []*sarama.RecordHeader

func (c consumedHeaders) Get(key string) string {
	for _, h := range c {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c consumedHeaders) Set(string, string) {} // read only

func (c consumedHeaders) Keys() []string {
	keys := make([]string, 0, len(c))
	for _, h := range c {
		if h != nil {
			keys = append(keys, string(h.Key))
		}
	}
	return keys
}
