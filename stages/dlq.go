package stages

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
)

// maxErrorHeader bounds dlq-error: a message breaking many rules must not
// make its dead-letter record much bigger than the message itself.
const maxErrorHeader = 4096

// DeadLetters publishes condemned messages to the dead-letter topic and acks
// each one once Kafka has acknowledged its record. A publish that fails is
// retried with backoff for as long as ctx lives; if ctx ends first, the
// messages still unpublished are nacked, so their offsets are never
// committed and they are consumed again after a restart.
type DeadLetters struct {
	Producer sarama.SyncProducer
	Topic    string
	Health   *health.Component
	Log      zerolog.Logger
	Metrics  *Metrics
	Retry    pipeline.Backoff
	// MaxBatch is the most records sent in one request.
	MaxBatch int
}

// Run publishes everything from in until it is closed.
func (d *DeadLetters) Run(ctx context.Context, in <-chan Dead) error {
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
		d.Metrics.DeadLetter.In.Inc()
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
				d.Metrics.DeadLetter.In.Inc()
			default:
				break fill
			}
		}
		if err := d.publish(ctx, batch); err != nil {
			return err
		}
		if closed {
			return nil
		}
	}
}

// publish sends batch and acks each record Kafka acknowledged, retrying the
// rest.
func (d *DeadLetters) publish(ctx context.Context, batch []Dead) error {
	pending := batch
	var firstFailure time.Time
	for attempt := 1; ; attempt++ {
		msgs := make([]*sarama.ProducerMessage, len(pending))
		for i, env := range pending {
			msgs[i] = DeadLetterRecord(d.Topic, env)
			msgs[i].Metadata = i
		}
		err := d.Producer.SendMessages(msgs)
		failed := failedIndexes(err, len(msgs))
		var retry []Dead
		for i, env := range pending {
			if failed[i] {
				retry = append(retry, env)
				continue
			}
			d.Log.Debug().Str("reason", string(env.Value.Reason)).Int32("partition", env.Src.Partition).
				Int64("offset", env.Src.Offset).Err(env.Value.Err).Msg("dead-lettered")
			env.Ack()
			d.Metrics.DeadLetter.Out.Inc()
			if c, ok := d.Metrics.deadLettered[env.Value.Reason]; ok {
				c.Inc()
			}
		}
		if len(retry) == 0 {
			if attempt > 1 {
				d.Log.Info().Int("attempts", attempt).Stringer("outage", time.Since(firstFailure)).
					Msg("dead-letter topic accepts records again")
			}
			d.Health.OK()
			return nil
		}
		if attempt == 1 {
			firstFailure = time.Now()
		}
		pending = retry
		delay := d.Retry.Delay(attempt)
		d.Metrics.Retry(RetryDeadLetter)
		d.Health.Fail(fmt.Errorf("publishing to %s failing since %s, retrying: %w",
			d.Topic, firstFailure.UTC().Format(time.RFC3339), err))
		d.Log.Warn().Err(err).Int("records", len(pending)).Int("attempt", attempt).Stringer("retry_in", delay).
			Msg("dead-letter publish failed; their offsets stay uncommitted")
		if serr := pipeline.Sleep(ctx, delay); serr != nil {
			for _, env := range pending {
				env.Nack()
			}
			return fmt.Errorf("dead-letter %d records: %w", len(pending), errors.Join(serr, err))
		}
	}
}

// failedIndexes maps a SendMessages error to the indexes (Metadata) of the
// records that were not acknowledged: all of them unless sarama says which.
func failedIndexes(err error, n int) []bool {
	failed := make([]bool, n)
	if err == nil {
		return failed
	}
	var perrs sarama.ProducerErrors
	if !errors.As(err, &perrs) {
		for i := range failed {
			failed[i] = true
		}
		return failed
	}
	for _, pe := range perrs {
		if i, ok := pe.Msg.Metadata.(int); ok && i >= 0 && i < n {
			failed[i] = true
		}
	}
	return failed
}

// DeadLetterRecord builds the dead-letter record for env: the original key,
// value and headers, unchanged, plus the dlq-* headers. Headers of an earlier
// dead-lettering (a redriven message that failed again) are replaced, not
// repeated.
func DeadLetterRecord(topic string, env Dead) *sarama.ProducerMessage {
	src, p := env.Src, env.Value
	headers := make([]sarama.RecordHeader, 0, len(src.Headers)+6)
	for _, h := range src.Headers {
		if !strings.HasPrefix(string(h.Key), "dlq-") {
			headers = append(headers, sarama.RecordHeader{Key: h.Key, Value: h.Value})
		}
	}
	add := func(k, v string) {
		headers = append(headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	add(dlq.HeaderReason, string(p.Reason))
	add(dlq.HeaderError, truncateUTF8(p.Err.Error(), maxErrorHeader))
	add(dlq.HeaderSourceTopic, src.Topic)
	add(dlq.HeaderSourcePartition, strconv.FormatInt(int64(src.Partition), 10))
	add(dlq.HeaderSourceOffset, strconv.FormatInt(src.Offset, 10))
	add(dlq.HeaderFailedAt, p.FailedAt.UTC().Format(time.RFC3339))

	msg := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(src.Value), Headers: headers}
	if src.Key != nil {
		msg.Key = sarama.ByteEncoder(src.Key)
	}
	return msg
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
