package consumer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/stages"
)

// KafkaSource consumes the orders topic as a member of a consumer group and
// feeds every message into the pipeline. It is the sarama
// ConsumerGroupHandler: each claimed partition gets a PartitionTracker,
// which marks offsets on the session only as far as the pipeline has
// finished without gaps.
type KafkaSource struct {
	Group  sarama.ConsumerGroup
	Topics []string
	// Out receives every consumed message; Run closes it when it returns.
	Out chan<- stages.Message
	// InFlight bounds the messages inside the pipeline, and their bytes,
	// across partitions.
	InFlight *pipeline.InFlight
	// MaxAhead bounds how many messages of one partition are held from its
	// oldest unfinished one on; at the bound that partition pauses.
	MaxAhead int
	// Marks, if set, is told every offset marked for commit, for the
	// CommitWatch.
	Marks *Marks
	// DrainTimeout bounds how long a partition being let go (rebalance or
	// shutdown) waits for its messages already in the pipeline, so that the
	// session's final commit includes them.
	DrainTimeout time.Duration
	// Retry spaces out new sessions after Consume fails. Its reporter is
	// the kafka health component's: a session that starts reports it
	// healthy, one that fails reports why.
	Retry   *pipeline.Retry
	Log     zerolog.Logger
	Metrics *stages.Metrics
	// Tracing, if set, gives each message a consumer span (see stages.Tracing).
	Tracing *stages.Tracing
}

// Run consumes until ctx ends, then closes Out. sarama's Consume returns at
// every rebalance, so it is called in a loop; the partitions' drains have
// finished and the session's offsets are committed when it returns.
func (s *KafkaSource) Run(ctx context.Context) error {
	defer close(s.Out)
	for {
		err := s.Retry.Do(ctx, func(ctx context.Context) error {
			if err := s.Group.Consume(ctx, s.Topics, s); err != nil {
				return fmt.Errorf("consume %v: %w", s.Topics, err)
			}
			return nil
		})
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		}
		// A rebalance ended the session; join the next one.
	}
}

// IsClosed is the Retry classifier of a KafkaSource: a closed group never
// consumes again, anything else is worth another session.
func IsClosed(err error) pipeline.Verdict {
	if errors.Is(err, sarama.ErrClosedConsumerGroup) {
		return pipeline.GiveUp
	}
	return pipeline.Again
}

// Setup is called by sarama when a session starts.
func (s *KafkaSource) Setup(sess sarama.ConsumerGroupSession) error {
	s.Retry.Succeeded()
	s.Log.Info().Int32("generation", sess.GenerationID()).Interface("claims", sess.Claims()).Msg("partitions claimed")
	return nil
}

// Cleanup is called by sarama after every ConsumeClaim has returned, before
// the session's offsets are committed for the last time.
func (s *KafkaSource) Cleanup(sess sarama.ConsumerGroupSession) error {
	s.Log.Info().Int32("generation", sess.GenerationID()).AnErr("cause", context.Cause(sess.Context())).
		Msg("partitions released")
	return nil
}

// ConsumeClaim feeds one partition into the pipeline. It runs in a sarama
// goroutine and returns promptly once the session ends: every blocking step
// selects on the session's context, and the final drain is bounded by
// DrainTimeout.
func (s *KafkaSource) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	series := s.Metrics.Partition(claim.Partition())
	lag := &lagMarker{session: sess, claim: claim, series: series, marks: s.Marks}
	lag.marked.Store(claim.InitialOffset())
	tracker := pipeline.NewPartitionTracker(claim.Topic(), claim.Partition(), lag, s.InFlight, s.MaxAhead)
	defer s.Metrics.ForgetPartition(claim.Partition())
	if s.Marks != nil {
		defer s.Marks.forget(claim.Partition())
	}
	defer s.drain(tracker, claim)

	ctx := sess.Context()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok { // revoked, or the session is ending
				return nil
			}
			series.Consumed.Inc()
			if lag.marked.Load() < 0 {
				// The claim started at "oldest": the committed position is
				// the first message's offset.
				lag.marked.Store(msg.Offset)
			}
			lag.update()
			ticket, err := tracker.Track(ctx, msg.Offset, admitWeight(len(msg.Key)+len(msg.Value)))
			if err != nil {
				return nil // the session ended while waiting for room
			}
			env := s.envelope(msg, ticket)
			if pipeline.Send(ctx, s.Out, env) != nil {
				env.Nack()
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// admitWeight is what a message of raw bytes is charged against
// MAX_IN_FLIGHT_MB when it is consumed, before any stage has measured it:
// its raw bytes, and as much again twice, for the order decoded from it and
// the canonical JSON encoded from that, which are each about its size.
// Decode and Validate then re-weigh it with what it really holds
// (pipeline.Envelope.Weigh), so the estimate only has to be right until
// then.
func admitWeight(raw int) int { return 3 * raw }

// drain waits, at most DrainTimeout, for the partition's messages still in
// the pipeline, so their offsets are marked before sarama commits for the
// last time. What does not finish in time is simply consumed again later.
func (s *KafkaSource) drain(tracker *pipeline.PartitionTracker, claim sarama.ConsumerGroupClaim) {
	if tracker.Pending() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.DrainTimeout)
	defer cancel()
	if err := tracker.Wait(ctx); err != nil {
		s.Log.Warn().Str("topic", claim.Topic()).Int32("partition", claim.Partition()).
			Int("unfinished", tracker.Pending()).Stringer("drain_timeout", s.DrainTimeout).
			Msg("partition released with messages unfinished; they will be consumed again")
	}
}

// lagMarker marks offsets on the session and keeps the partition's lag
// gauge: the high-water mark minus the offset marked for commit, which is
// how far the committed position trails the partition.
type lagMarker struct {
	session sarama.ConsumerGroupSession
	claim   sarama.ConsumerGroupClaim
	series  stages.PartitionSeries
	marks   *Marks // nil: nobody watches the commits
	marked  atomic.Int64
}

func (l *lagMarker) MarkOffset(topic string, partition int32, offset int64, metadata string) {
	l.session.MarkOffset(topic, partition, offset, metadata)
	if l.marks != nil {
		l.marks.set(partition, offset)
	}
	l.marked.Store(offset)
	l.update()
}

func (l *lagMarker) update() {
	if hwm := l.claim.HighWaterMarkOffset(); hwm >= 0 {
		l.series.SetLag(max(hwm-l.marked.Load(), 0))
	}
}

func source(msg *sarama.ConsumerMessage) *pipeline.Source {
	src := &pipeline.Source{
		Topic:     msg.Topic,
		Partition: msg.Partition,
		Offset:    msg.Offset,
		Key:       msg.Key,
		Value:     msg.Value,
		Timestamp: msg.Timestamp,
	}
	if len(msg.Headers) > 0 {
		src.Headers = make([]pipeline.Header, 0, len(msg.Headers))
		for _, h := range msg.Headers {
			if h != nil {
				src.Headers = append(src.Headers, pipeline.Header{Key: h.Key, Value: h.Value})
			}
		}
	}
	return src
}
