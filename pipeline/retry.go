package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Verdict is what a Retry does with a failure.
type Verdict uint8

const (
	// Again waits and tries again: the failure can heal (an outage, or a
	// misconfiguration an operator will fix).
	Again Verdict = iota
	// GiveUp returns the failure: trying again cannot help.
	GiveUp
)

// Failure is one failed attempt that will be tried again.
type Failure struct {
	Attempt int           // 1 for the first failure since the last success
	Err     error         // why it failed
	Delay   time.Duration // the wait before the next attempt
	Since   time.Time     // when the first failure since the last success happened
}

// Reporter is told how a Retry's work goes: the hooks that keep a health
// component, a metric and the log. A Retry is its reporter's only caller, so
// a health component behind one has exactly one writer.
type Reporter interface {
	// Failed is called for every failure that will be retried, before
	// the wait.
	Failed(Failure)
	// Succeeded is called for every success. failures is how many
	// preceded it since the last success, and since when; zero when none.
	Succeeded(failures int, since time.Time)
}

// Retry is orderd's one way of retrying: an operation is called until it
// succeeds, pausing with Backoff between failures, for as long as its
// classifier says the failure can heal and ctx lives.
//
// A Retry keeps the state of its current run of failures: work that runs
// concurrently (several writers) takes one Retry each, or one would report
// the others' failures healed.
type Retry struct {
	backoff  Backoff
	classify func(error) Verdict
	report   Reporter

	mu       sync.Mutex // Succeeded may come from a callback of op's
	failures int
	since    time.Time
}

// NewRetry returns a Retry pausing with b between failures. classify says
// which failures to retry (nil: all of them); report is told of every
// failure and success (nil: nobody).
func NewRetry(b Backoff, classify func(error) Verdict, report Reporter) *Retry {
	return &Retry{backoff: b, classify: classify, report: report}
}

// Do calls op until it returns nil, then reports the success. A failure the
// classifier gives up on is returned as it is. If ctx ends first, Do returns
// ctx's error joined with the last failure.
func (r *Retry) Do(ctx context.Context, op func(ctx context.Context) error) error {
	for {
		err := op(ctx)
		if err == nil {
			r.Succeeded()
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		if r.classify != nil && r.classify(err) == GiveUp {
			return err
		}
		delay := r.Fail(err)
		if serr := Sleep(ctx, delay); serr != nil {
			return errors.Join(serr, err)
		}
	}
}

// Fail records a failure that will be retried and returns how long to wait
// before the next attempt. Do calls it; so does work whose attempts Do cannot
// frame, such as a loop that checks something periodically.
func (r *Retry) Fail(err error) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures == 0 {
		r.since = time.Now()
	}
	r.failures++
	delay := r.backoff.Delay(r.failures)
	if r.report != nil {
		r.report.Failed(Failure{Attempt: r.failures, Err: err, Delay: delay, Since: r.since})
	}
	return delay
}

// Succeeded ends the current run of failures and reports the success. Do
// calls it when op returns nil; a long-running op calls it as soon as it
// knows it works (a consumer session that has started), since its return may
// be hours away.
func (r *Retry) Succeeded() {
	r.mu.Lock()
	defer r.mu.Unlock()
	failures, since := r.failures, r.since
	r.failures, r.since = 0, time.Time{}
	if r.report != nil {
		r.report.Succeeded(failures, since)
	}
}
