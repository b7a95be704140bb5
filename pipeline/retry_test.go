package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// reports records what a Retry reported.
type reports struct {
	failed    []Failure
	succeeded []int // the failures before each success
}

func (r *reports) Failed(f Failure)                    { r.failed = append(r.failed, f) }
func (r *reports) Succeeded(failures int, _ time.Time) { r.succeeded = append(r.succeeded, failures) }

var fast = Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}

// Run on synctest's fake clock, so that the pause before each attempt is
// measured exactly: it is the delay reported with the failure before it.
func TestRetry_RetriesUntilSuccessAndReportsEachStep(t *testing.T) {
	synctest.Test(t, testRetriesUntilSuccess)
}

func testRetriesUntilSuccess(t *testing.T) {
	rep := &reports{}
	r := NewRetry(fast, nil, rep)
	down := errors.New("connection refused")
	var at []time.Time // when each attempt began
	err := r.Do(context.Background(), func(context.Context) error {
		if at = append(at, time.Now()); len(at) < 4 {
			return down
		}
		return nil
	})
	if err != nil || len(at) != 4 {
		t.Fatalf("Do = %v after %d calls, want nil after 4", err, len(at))
	}
	if len(rep.failed) != 3 || fmt.Sprint(rep.succeeded) != "[3]" {
		t.Fatalf("reported %d failures and successes %v, want 3 and [3]", len(rep.failed), rep.succeeded)
	}
	for i, f := range rep.failed {
		if f.Attempt != i+1 || !errors.Is(f.Err, down) || f.Delay <= 0 || f.Delay > fast.Max || !f.Since.Equal(rep.failed[0].Since) {
			t.Errorf("failure %d reported as %+v", i, f)
		}
		if paused := at[i+1].Sub(at[i]); paused != f.Delay {
			t.Errorf("attempt %d came %v after the one before, want the reported delay %v", i+2, paused, f.Delay)
		}
	}

	// The next run of failures starts counting afresh.
	calls := 0
	_ = r.Do(context.Background(), func(context.Context) error {
		if calls++; calls < 2 {
			return down
		}
		return nil
	})
	if last := rep.failed[len(rep.failed)-1]; last.Attempt != 1 || fmt.Sprint(rep.succeeded) != "[3 1]" {
		t.Fatalf("second run: last failure %+v, successes %v", last, rep.succeeded)
	}
}

func TestRetry_GivesUpWhatTheClassifierCondemns(t *testing.T) {
	rep := &reports{}
	fatal := errors.New("closed")
	r := NewRetry(fast, func(err error) Verdict {
		if errors.Is(err, fatal) {
			return GiveUp
		}
		return Again
	}, rep)
	calls := 0
	err := r.Do(context.Background(), func(context.Context) error {
		if calls++; calls == 1 {
			return errors.New("transient")
		}
		return fatal
	})
	if !errors.Is(err, fatal) || calls != 2 || len(rep.failed) != 1 || len(rep.succeeded) != 0 {
		t.Fatalf("Do = %v after %d calls, %d failures and %d successes reported", err, calls, len(rep.failed), len(rep.succeeded))
	}
}

// Run on synctest's fake clock: Do is asleep between attempts, for an
// hour, when the context ends, and returns at that very instant.
func TestRetry_StopsWhenTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		down := errors.New("down")
		r := NewRetry(Backoff{Min: time.Hour, Max: time.Hour}, nil, nil)
		var calls atomic.Int32
		done := make(chan error, 1)
		go func() {
			done <- r.Do(ctx, func(context.Context) error {
				calls.Add(1)
				return down
			})
		}()
		synctest.Wait() // the first attempt failed; Do sleeps
		if n := calls.Load(); n != 1 {
			t.Fatalf("%d attempts before the first delay, want 1", n)
		}
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || !errors.Is(err, down) {
				t.Fatalf("Do = %v, want the cancellation joined with the last failure", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Do slept through the cancellation")
		}
		if took := time.Since(start); took != 0 || calls.Load() != 1 {
			t.Fatalf("Do returned %v after the cancellation, after %d attempts; want at once, after 1", took, calls.Load())
		}
	})
}

// A long-running operation reports its health as soon as it knows, and a
// later failure starts a new run.
func TestRetry_SucceededMidOperation(t *testing.T) {
	rep := &reports{}
	r := NewRetry(fast, nil, rep)
	r.Fail(errors.New("session failed"))
	r.Succeeded() // the next session started
	if fmt.Sprint(rep.succeeded) != "[1]" {
		t.Fatalf("successes %v", rep.succeeded)
	}
	if d := r.Fail(errors.New("again")); d > fast.Min {
		t.Fatalf("delay %v after a success, want the first step (at most %v)", d, fast.Min)
	}
}
