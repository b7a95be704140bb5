package consumer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/stages"
)

// Marks holds the offset last marked for commit on each partition this
// member has claimed and marked something on: what sarama's auto-commit is
// to commit next. KafkaSource writes it; CommitWatch reads it.
type Marks struct {
	mu     sync.Mutex
	marked map[int32]int64
}

// NewMarks returns an empty Marks.
func NewMarks() *Marks { return &Marks{marked: map[int32]int64{}} }

func (m *Marks) set(partition int32, offset int64) {
	m.mu.Lock()
	m.marked[partition] = offset
	m.mu.Unlock()
}

func (m *Marks) forget(partition int32) {
	m.mu.Lock()
	delete(m.marked, partition)
	m.mu.Unlock()
}

// Marked is the offset last marked on partition, if this member holds it
// and has marked anything on it.
func (m *Marks) Marked(partition int32) (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	off, ok := m.marked[partition]
	return off, ok
}

// CommitWatch turns the consumer group's errors into the health of its
// offset commits: the commits component, which has no other writer.
//
// sarama's auto-commit reports a failed commit only on the group's Errors
// channel, mixed with fetch errors, and never reports one that succeeds. So
// each error on a partition is checked against the broker: if, Grace after
// it, the group's committed offset there is still below what had been
// marked when the error came, commits are failing, whatever the error was.
// The component then names the partitions, the broker's error and what to
// check, and heals once the committed offsets reach those marks. Nothing is
// lost meanwhile (what is not committed is consumed again), but a restart
// or a rebalance replays everything since the last good commit, so it is
// worth an operator's look; /livez and /readyz do not change.
type CommitWatch struct {
	// Errors is the group's Errors channel; Run ends when it closes.
	Errors <-chan error
	// Committed asks the broker for the group's committed offsets of
	// Topic's partitions. It may block: Run bounds each call by Grace.
	Committed    func(partitions []int32) (map[int32]int64, error)
	Marks        *Marks
	Topic, Group string
	// Grace is how long a marked offset may take to be committed: a few
	// auto-commit intervals.
	Grace   time.Duration
	Health  *health.Component
	Log     zerolog.Logger
	Metrics *stages.Metrics
}

// suspect is an error on a partition, waiting for its check.
type suspect struct {
	partition int32
	err       error
	at        time.Time
	marked    int64 // the partition's mark when the error came
}

// commitFailure is a partition whose commits are failing.
type commitFailure struct {
	since  time.Time
	err    error
	marked int64 // the commits heal when the committed offset reaches it
}

// Run watches until the Errors channel closes or ctx ends.
func (w *CommitWatch) Run(ctx context.Context) {
	w.Health.OK()
	tick := time.NewTicker(w.Grace / 4)
	defer tick.Stop()
	var (
		suspects []suspect
		failing  = map[int32]*commitFailure{}
	)
	for {
		select {
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			w.Log.Warn().Err(err).Msg("consumer error")
			var cerr *sarama.ConsumerError
			if !errors.As(err, &cerr) || cerr.Topic != w.Topic {
				continue
			}
			// One suspect per partition at a time: errors keep coming
			// while the broker is away, and the first one's check tells.
			if marked, ok := w.Marks.Marked(cerr.Partition); ok && !slices.ContainsFunc(suspects, func(s suspect) bool { return s.partition == cerr.Partition }) {
				suspects = append(suspects, suspect{partition: cerr.Partition, err: cerr.Err, at: time.Now(), marked: marked})
			}
		case <-tick.C:
			suspects = w.check(ctx, suspects, failing)
		case <-ctx.Done():
			return
		}
	}
}

// check asks the broker for the committed offsets of the partitions that
// failed or are suspected, once their grace is over, and reports the
// result. It returns the suspects whose grace is not over yet.
func (w *CommitWatch) check(ctx context.Context, suspects []suspect, failing map[int32]*commitFailure) []suspect {
	now := time.Now()
	due := map[int32]bool{}
	for p := range failing {
		due[p] = true
	}
	for _, s := range suspects {
		if now.Sub(s.at) >= w.Grace {
			due[s.partition] = true
		}
	}
	if len(due) == 0 {
		return suspects
	}
	committed, err := w.committed(ctx, slices.Sorted(maps.Keys(due)))
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Warn().Err(err).Msg("cannot read the group's committed offsets to check the commits; checking again")
		}
		return suspects
	}
	wasFailing := len(failing) > 0
	left := suspects[:0]
	for _, s := range suspects {
		if now.Sub(s.at) < w.Grace {
			left = append(left, s)
			continue
		}
		if c, ok := committed[s.partition]; ok && c >= s.marked {
			continue // committed since: it was no commit's error, or one that healed
		}
		w.Metrics.CommitFailed()
		f := failing[s.partition]
		if f == nil {
			f = &commitFailure{since: s.at}
			failing[s.partition] = f
		}
		f.err, f.marked = s.err, max(f.marked, s.marked)
	}
	for p, f := range failing {
		_, held := w.Marks.Marked(p)
		if c, ok := committed[p]; (ok && c >= f.marked) || !held {
			delete(failing, p)
			w.Log.Info().Str("topic", w.Topic).Int32("partition", p).Stringer("outage", now.Sub(f.since).Round(time.Second)).
				Msg("offset commits succeed again")
		}
	}
	switch {
	case len(failing) > 0:
		why := w.explain(failing)
		w.Health.Fail(why)
		if !wasFailing {
			w.Log.Error().Err(why).Msg("offset commits are failing")
		}
	case wasFailing:
		w.Health.OK()
	}
	return left
}

// committed calls Committed, giving up after Grace: a broker that accepts
// the request and never answers must not stop the watch, and the call
// cannot be cancelled, so it is left to end by sarama's own timeout.
func (w *CommitWatch) committed(ctx context.Context, partitions []int32) (map[int32]int64, error) {
	type answer struct {
		offsets map[int32]int64
		err     error
	}
	done := make(chan answer, 1)
	go func() {
		offsets, err := w.Committed(partitions)
		done <- answer{offsets, err}
	}()
	timeout := time.NewTimer(w.Grace)
	defer timeout.Stop()
	select {
	case a := <-done:
		return a.offsets, a.err
	case <-timeout.C:
		return nil, fmt.Errorf("no answer within %s", w.Grace)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// explain says which partitions' commits fail, since when, what the broker
// answered, and what to check.
func (w *CommitWatch) explain(failing map[int32]*commitFailure) error {
	parts := slices.Sorted(maps.Keys(failing))
	first := failing[parts[0]]
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = fmt.Sprint(p)
		if failing[p].since.Before(first.since) {
			first = failing[p]
		}
	}
	return fmt.Errorf("offset commits of group %s failing since %s on %s partitions %s: %w; nothing is committed meanwhile, so a restart or rebalance consumes again from the last commit",
		w.Group, first.since.UTC().Format(time.RFC3339), w.Topic, strings.Join(names, ", "), explainCommitError(w.Group, w.Topic, first.err))
}

// explainCommitError adds to what the broker answered what to check.
func explainCommitError(group, topic string, err error) error {
	var netErr net.Error
	var hint string
	switch {
	case errors.Is(err, sarama.ErrGroupAuthorizationFailed):
		hint = "orderd's Kafka principal may not commit for group " + group + ": grant it READ on the group (KAFKA_GROUP names it)"
	case errors.Is(err, sarama.ErrTopicAuthorizationFailed):
		hint = "orderd's Kafka principal may not commit offsets of " + topic + ": grant it READ on the topic"
	case errors.Is(err, sarama.ErrUnknownMemberId), errors.Is(err, sarama.ErrIllegalGeneration), errors.Is(err, sarama.ErrRebalanceInProgress):
		hint = "the group rebalanced under orderd; if it goes on, check KAFKA_SESSION and that the members' heartbeats reach the broker"
	case errors.Is(err, sarama.ErrOutOfBrokers), errors.Is(err, sarama.ErrNotCoordinatorForConsumer),
		errors.Is(err, sarama.ErrConsumerCoordinatorNotAvailable), errors.As(err, &netErr):
		hint = "the group's coordinator is not reachable: check KAFKA_BROKERS and the network"
	default:
		return err
	}
	return health.Hinted(err, hint)
}
