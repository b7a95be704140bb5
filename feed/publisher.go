// Package feed publishes orders to Kafka: generated ones at a chosen rate
// with a share of broken and duplicate messages (for the demo, cmd/producer
// and the bench tool), or a given payload such as the canonical order.
package feed

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"

	"github.com/orderd/orderd/kafkaauth"
)

// Publisher sends messages to one topic through a sarama AsyncProducer and
// counts what Kafka acknowledged.
type Publisher struct {
	producer sarama.AsyncProducer
	topic    string

	pending sync.WaitGroup
	acked   atomic.Int64
	failed  atomic.Int64

	mu       sync.Mutex
	firstErr error
	done     chan struct{}
}

// NewPublisher connects to brokers, secured by auth (the zero Config for a
// plain local Kafka), and publishes to topic.
func NewPublisher(brokers []string, topic string, auth kafkaauth.Config) (*Publisher, error) {
	secure, err := auth.Configure()
	if err != nil {
		return nil, err
	}
	cfg := sarama.NewConfig()
	secure(cfg)
	cfg.ClientID = "orderd-feed"
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	// Idempotence keeps a retried batch from being written twice, so the
	// counts of published and duplicate orders are exact.
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	// Producer.MaxMessageBytes stays sarama's default (1,000,000): sarama
	// also caps each record batch at it, and a batch larger than the
	// topic's max.message.bytes is refused whole by the broker.
	producer, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("producer for %s: %w", topic, auth.Explain(err))
	}
	p := &Publisher{producer: producer, topic: topic, done: make(chan struct{})}
	go p.collect()
	return p, nil
}

// Send queues one message. Kafka's answer arrives later: Flush waits for it.
func (p *Publisher) Send(ctx context.Context, key, value []byte, headers ...sarama.RecordHeader) error {
	msg := &sarama.ProducerMessage{Topic: p.topic, Value: sarama.ByteEncoder(value), Headers: headers}
	if key != nil {
		msg.Key = sarama.ByteEncoder(key)
	}
	p.pending.Add(1)
	select {
	case p.producer.Input() <- msg:
		return nil
	case <-ctx.Done():
		p.pending.Done()
		return ctx.Err()
	}
}

// collect counts Kafka's answers until the producer is closed.
func (p *Publisher) collect() {
	defer close(p.done)
	successes, failures := p.producer.Successes(), p.producer.Errors()
	for successes != nil || failures != nil {
		select {
		case _, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			p.acked.Add(1)
			p.pending.Done()
		case perr, ok := <-failures:
			if !ok {
				failures = nil
				continue
			}
			p.failed.Add(1)
			p.mu.Lock()
			if p.firstErr == nil {
				p.firstErr = perr.Err
			}
			p.mu.Unlock()
			p.pending.Done()
		}
	}
}

// Flush waits until Kafka has answered for every message sent so far, and
// returns the first failure, if any, with the count.
func (p *Publisher) Flush(ctx context.Context) error {
	flushed := make(chan struct{})
	go func() { p.pending.Wait(); close(flushed) }()
	select {
	case <-flushed:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.failures()
}

// failures reports how many messages Kafka refused, with the first reason.
func (p *Publisher) failures() error {
	n := p.failed.Load()
	if n == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Errorf("publish to %s: %d messages failed, first: %w", p.topic, n, p.firstErr)
}

// Acked is how many messages Kafka has acknowledged.
func (p *Publisher) Acked() int64 { return p.acked.Load() }

// Close stops the producer once the messages in flight are answered, and
// reports failures like Flush.
func (p *Publisher) Close() error {
	// AsyncClose, not Close: Close would drain the Successes and Errors
	// channels itself, racing collect for the answers it counts.
	p.producer.AsyncClose()
	<-p.done
	return p.failures()
}
