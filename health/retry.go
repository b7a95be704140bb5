package health

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/pipeline"
)

// Retry causes, the cause label of orderd_retries_total.
const (
	RetryStore      = "store"       // a batch write failed as a whole
	RetryDeadLetter = "dead_letter" // publishing to the DLQ failed
	RetryKafka      = "kafka"       // a consumer group session failed
	RetryWarmUp     = "warmup"      // loading the cache from the store failed
	RetryConnect    = "connect"     // connecting to Kafka or the store failed
	RetryFill       = "fill"        // the listener for other replicas' commits lost its connection
)

// Retries is a health component's only writer, with the log and the retry
// counter that go with it: orderd's one way of reporting retried work, used
// by the stages and the daemon alike, and the one place that logs a failure
// and its healing. Each kind of work reported on it gets a Retry of its own
// (see Retry); work done concurrently needs a Retries each (see
// Registry.Aggregate), or one's success would clear another's
// failure. The kafka component's Retries serves connecting first, then the
// consumer's sessions: one after the other, never at once.
type Retries struct {
	Health  *Component
	Log     zerolog.Logger
	Metrics RetryCounter
}

// RetryCounter counts retries by cause: orderd_retries_total.
type RetryCounter interface {
	Retry(cause string)
}

// Work names one kind of retried work.
type Work struct {
	// Cause labels its retries in orderd_retries_total; work that retries
	// nothing when it fails, such as a periodic check, leaves it empty and
	// is not counted.
	Cause string
	// What names it in the health detail: "<What> failing since <time>,
	// retrying: <error>".
	What string
	// Failing is the log line of each failure, Healed the one when it
	// succeeds after failures.
	Failing, Healed string
	// Next, when set, is what the component still waits for once this work
	// succeeds, for work that is one step of several: its success reports
	// that instead of OK.
	Next string
}

// Retry returns a Retry for work, reported on r, pausing with b between
// failures and retrying those classify says can heal (nil: all).
func (r *Retries) Retry(work Work, b pipeline.Backoff, classify func(error) pipeline.Verdict) *pipeline.Retry {
	return pipeline.NewRetry(b, classify, &workReport{r, work})
}

// workReport is the pipeline.Reporter of one kind of work.
type workReport struct {
	*Retries
	Work
}

func (r *workReport) Failed(f pipeline.Failure) {
	if r.Cause != "" {
		r.Metrics.Retry(r.Cause)
	}
	r.Health.Fail(fmt.Errorf("%s failing since %s, retrying: %w", r.What, f.Since.UTC().Format(time.RFC3339), f.Err))
	r.Log.Warn().Err(f.Err).Int("attempt", f.Attempt).Stringer("retry_in", f.Delay).Msg(r.Failing)
}

func (r *workReport) Succeeded(failures int, since time.Time) {
	if r.Next != "" {
		r.Health.Wait(r.Next)
	} else {
		r.Health.OK()
	}
	if failures > 0 {
		r.Log.Info().Int("attempts", failures+1).Stringer("outage", time.Since(since).Round(time.Millisecond)).Msg(r.Healed)
	}
}
