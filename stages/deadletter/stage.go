package deadletter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
)

// Poison is why a message can never be processed.
type Poison struct {
	Reason   dlq.Reason
	Err      error
	FailedAt time.Time
}

// Dead carries a message condemned to the dead-letter topic.
type Dead = pipeline.Envelope[Poison]

// DeadLetters publishes condemned messages to the dead-letter topic and acks
// each one once Kafka has acknowledged its record.
//
// A record the topic or the producer finds too large is that message's own
// fault: it is published cut to fit (dlq.Letter.Fit), never retried as it
// is, so one large message cannot stall the stage. Any other failure (a
// broker down, the topic missing, writes not authorized) is an outage or a
// misconfiguration someone will fix: the records are retried with backoff
// for as long as ctx lives, and /health says what the broker answered and
// which setting to check. If ctx ends first, the records still unpublished
// are nacked, so their offsets are never committed and they are consumed
// again after a restart.
type DeadLetters struct {
	Producer sarama.SyncProducer
	Topic    string
	// MaxRecordBytes is the largest record sent, as sarama counts it
	// (ProducerMessage.ByteSize): at most the producer's MaxMessageBytes,
	// and the dead-letter topic's max.message.bytes less
	// dlq.BatchOverhead. Larger dead letters are cut to fit.
	MaxRecordBytes int
	Health         *health.Component
	Log            zerolog.Logger
	Metrics        *Metrics
	Retry          pipeline.Backoff
	// MaxBatch is the most records sent in one request.
	MaxBatch int
}

// Run publishes everything from in until it is closed.
func (d *DeadLetters) Run(ctx context.Context, in <-chan Dead) error {
	retry := (&health.Retries{Health: d.Health, Log: d.Log, Metrics: d.Metrics}).Retry(health.Work{
		Cause:   health.RetryDeadLetter,
		What:    "publishing dead letters to " + d.Topic,
		Failing: "dead-letter publish failed; their offsets stay uncommitted",
		Healed:  "dead-letter topic accepts records again",
	}, d.Retry, nil)
	retry.Succeeded() // healthy until a publish fails: it only fails while retrying
	batch := make([]Dead, 0, max(d.MaxBatch, 1))
	for {
		var env Dead
		var ok bool
		select {
		case env, ok = <-in:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = append(batch[:0], env)
		d.Metrics.In.Inc()
		closed := false
	fill: // take what is already waiting, without waiting for more
		for len(batch) < cap(batch) {
			select {
			case env, ok := <-in:
				if !ok {
					closed = true
					break fill
				}
				batch = append(batch, env)
				d.Metrics.In.Inc()
			default:
				break fill
			}
		}
		if err := d.publish(ctx, retry, batch); err != nil {
			return err
		}
		if closed {
			return nil
		}
	}
}

// outgoing is one dead letter on its way to the topic.
type outgoing struct {
	env       Dead
	letter    dlq.Letter
	msg       *sarama.ProducerMessage
	truncated bool
	err       error // why its last send failed
}

// publish sends batch, acking each record Kafka acknowledged and retrying
// the rest.
func (d *DeadLetters) publish(ctx context.Context, retry *pipeline.Retry, batch []Dead) error {
	pending := make([]*outgoing, len(batch))
	for i, env := range batch {
		o := &outgoing{env: env, letter: letterOf(env)}
		o.msg, o.truncated = o.letter.Fit(d.Topic, d.MaxRecordBytes)
		pending[i] = o
	}
	err := retry.Do(ctx, func(ctx context.Context) error {
		pending = d.send(ctx, pending)
		return d.failure(pending)
	})
	if err != nil {
		for _, o := range pending {
			o.env.Nack()
		}
		return fmt.Errorf("dead-letter %d records: %w", len(pending), err)
	}
	return nil
}

// send publishes pending in one request and returns the records that are
// still unpublished, each with its own error. A record refused as too large
// is sent again on its own, so that the records sharing its batch are never
// blamed for its size, and cut smaller until it is accepted. If ctx ends
// first, every record not yet acknowledged is returned with ctx's error.
func (d *DeadLetters) send(ctx context.Context, pending []*outgoing) []*outgoing {
	msgs := make([]*sarama.ProducerMessage, len(pending))
	for i, o := range pending {
		msgs[i] = fresh(o.msg)
	}
	failed := dlq.RecordErrors(bounded(ctx, func() error { return d.Producer.SendMessages(msgs) }), msgs)
	var left []*outgoing
	for i, o := range pending {
		if o.err = failed[i]; o.err == nil {
			d.done(o)
			continue
		}
		if isTooLarge(o.err) && d.sendAlone(ctx, o) == nil {
			d.done(o)
			continue
		}
		left = append(left, o)
	}
	return left
}

// sendAlone sends o as a batch of its own, halving the room it may take
// while the topic refuses it as too large: the limit the producer was given
// at start may be larger than the topic's now.
func (d *DeadLetters) sendAlone(ctx context.Context, o *outgoing) error {
	limit := d.MaxRecordBytes
	for {
		msg := fresh(o.msg)
		err := bounded(ctx, func() error {
			_, _, err := d.Producer.SendMessage(msg)
			return err
		})
		if o.err = dlq.RecordErrors(err, []*sarama.ProducerMessage{msg})[0]; o.err == nil || !isTooLarge(o.err) {
			return o.err
		}
		size := o.msg.ByteSize(2)
		limit = min(limit, size) / 2
		smaller, _ := o.letter.Fit(d.Topic, limit)
		if smaller.ByteSize(2) >= size {
			return o.err // as small as a dead letter gets
		}
		o.msg, o.truncated = smaller, true
	}
}

// bounded runs send, a sarama call that cannot be cancelled, and stops
// waiting for it when ctx ends (SHUTDOWN_TIMEOUT). A broker that accepts the
// request and never answers would hold it for sarama's read timeout and
// retries, minutes, and shutdown must not wait that long. The call is left
// to end by itself; the records it carried were not acknowledged, so they
// are nacked and consumed again, and may be dead-lettered twice.
func bounded(ctx context.Context, send func() error) error {
	done := make(chan error, 1)
	go func() { done <- send() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fresh is a copy of msg for one send. A message handed to sarama is never
// handed to it again: sarama may still read a message it has returned as
// failed (its retry count, for a backoff) while the copy sent again
// succeeds on another goroutine. Being distinct, the copies are also what
// dlq.RecordErrors tells apart.
func fresh(msg *sarama.ProducerMessage) *sarama.ProducerMessage {
	return &sarama.ProducerMessage{Topic: msg.Topic, Key: msg.Key, Value: msg.Value, Headers: msg.Headers}
}

// done acks a published dead letter.
func (d *DeadLetters) done(o *outgoing) {
	env := o.env
	// The log names the message, never what it holds: the reason's text
	// may quote a phone number or an email address, and is on the
	// dead-letter record (dlq-error) for those allowed to read it.
	ev := d.Log.Debug()
	if p, ok := errors.AsType[*pipeline.PanicError](env.Value.Err); ok {
		// A bug of orderd's that this message triggers: worth a line of
		// its own, with the panic and the stack, whatever the log level.
		ev = d.Log.Error().Err(p).Str("stack", string(p.Stack))
	}
	withTraceID(ev, env.Span()).Str("reason", string(env.Value.Reason)).Str("source_topic", env.Src.Topic).Int32("partition", env.Src.Partition).
		Int64("offset", env.Src.Offset).Bool("truncated", o.truncated).Msg("dead-lettered")
	env.Ack()
	d.Metrics.Out.Inc()
	d.Metrics.count(env.Value.Reason, o.truncated)
}

// failure is why the records left unpublished failed: each distinct cause
// once, with what to check.
func (d *DeadLetters) failure(left []*outgoing) error {
	if len(left) == 0 {
		return nil
	}
	var causes []error
	var seen []string
	for _, o := range left {
		if text := o.err.Error(); !slices.Contains(seen, text) {
			seen = append(seen, text)
			causes = append(causes, explainProduceError(d.Topic, o.err))
		}
	}
	return fmt.Errorf("%d of the records not accepted: %w", len(left), errors.Join(causes...))
}

// isTooLarge reports whether a record was refused for its size: by the
// broker (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE) or by sarama's own check
// against Producer.MaxMessageBytes.
func isTooLarge(err error) bool {
	var cfg sarama.ConfigurationError
	return errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.Is(err, sarama.ErrMessageSetSizeTooLarge) ||
		(errors.As(err, &cfg) && strings.Contains(string(cfg), "MaxMessageBytes"))
}

// explainProduceError adds to what the broker answered which setting to
// check. The failures here are not any record's fault, so they are retried
// until someone fixes them.
func explainProduceError(topic string, err error) error {
	var netErr net.Error
	var hint string
	switch {
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		hint = "topic " + topic + " does not exist: create it, or set KAFKA_CREATE_TOPICS=true and restart orderd"
	case errors.Is(err, sarama.ErrTopicAuthorizationFailed):
		hint = "orderd's Kafka principal may not write to " + topic + ": grant it WRITE on the topic"
	case errors.Is(err, sarama.ErrClusterAuthorizationFailed):
		hint = "the idempotent dead-letter producer needs IDEMPOTENT_WRITE on the cluster for orderd's Kafka principal"
	case errors.Is(err, sarama.ErrNotEnoughReplicas), errors.Is(err, sarama.ErrNotEnoughReplicasAfterAppend):
		hint = "fewer in-sync replicas of " + topic + " than its min.insync.replicas"
	case isTooLarge(err):
		hint = topic + " refuses even a dead letter cut to a few hundred bytes: raise its max.message.bytes"
	case errors.Is(err, sarama.ErrOutOfBrokers), errors.As(err, &netErr):
		hint = "no broker reachable: check KAFKA_BROKERS and the network"
	default:
		return err
	}
	return health.Hinted(err, hint)
}

// letterOf is the dead letter of env.
func letterOf(env Dead) dlq.Letter {
	src, p := env.Src, env.Value
	l := dlq.Letter{
		SourceTopic: src.Topic, SourcePartition: src.Partition, SourceOffset: src.Offset,
		Key: src.Key, Value: src.Value,
		Reason: p.Reason, Error: p.Err.Error(), FailedAt: p.FailedAt,
	}
	if len(src.Headers) > 0 {
		l.Headers = make([]sarama.RecordHeader, len(src.Headers))
		for i, h := range src.Headers {
			l.Headers[i] = sarama.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	l.Headers = traceparentHeaders(l.Headers, env.Span())
	return l
}
