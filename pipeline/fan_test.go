package pipeline

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// workers adds n copies of stage over in and out to f, out shared.
func workers[In, O any](f *Fan, n int, stage Stage[In, O], in <-chan In, out chan O) {
	shared := Out(out)
	for range n {
		f.Go(func(ctx context.Context) error { return stage(ctx, in, out) }, shared)
	}
}

func TestFan_ClosesASharedOutputAfterAllItsSenders(t *testing.T) {
	in := make(chan int)
	out := make(chan int, 100)
	var f Fan
	workers(&f, 4, double, in, out)
	done := make(chan error, 1)
	go func() { done <- f.Run(context.Background()) }()
	for i := range 50 {
		in <- i
	}
	close(in)

	var got []int
	timeout := time.After(5 * time.Second)
	for {
		select {
		case v, ok := <-out:
			if !ok {
				slices.Sort(got)
				if len(got) != 50 || got[0] != 0 || got[49] != 98 {
					t.Fatalf("got %d values %v", len(got), got)
				}
				if err := <-done; err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			got = append(got, v)
		case <-timeout:
			t.Fatal("out was not closed")
		}
	}
}

func TestFan_KeepsASharedOutputOpenWhileOneSenderRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := make(chan int, 1)
		release := make(chan struct{})
		shared := Out(out)
		var f Fan
		f.Go(func(context.Context) error { return nil }, shared) // done at once
		f.Go(func(ctx context.Context) error {
			<-release
			return Send(ctx, out, 1)
		}, shared)
		done := make(chan error, 1)
		go func() { done <- f.Run(context.Background()) }()

		synctest.Wait() // the first sender has returned; the second waits
		select {
		case v, ok := <-out:
			t.Fatalf("out gave %d, %v while a sender still ran", v, ok)
		default:
		}
		close(release)
		synctest.Wait()
		if v, ok := <-out; !ok || v != 1 {
			t.Fatalf("out gave %d, %v; want the last sender's 1", v, ok)
		}
		if _, ok := <-out; ok {
			t.Fatal("out not closed after its last sender returned")
		}
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestFan_FirstErrorCancelsTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		failing := func(ctx context.Context, in <-chan int, out chan<- int) error {
			for v := range in {
				if v == 0 {
					return boom
				}
				if err := Send(ctx, out, v); err != nil {
					return err
				}
			}
			return nil
		}
		in := make(chan int, 10)
		for i := range 10 {
			in <- i
		}
		close(in)
		out := make(chan int) // never read: the other workers block in Send until cancelled
		other := make(chan int)
		var f Fan
		workers(&f, 3, failing, in, out)
		// A stage of another output, waiting for input that never comes.
		f.Go(func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}, Out(other))
		done := make(chan error, 1)
		go func() { done <- f.Run(context.Background()) }()

		synctest.Wait()
		select {
		case err := <-done:
			if !errors.Is(err, boom) {
				t.Fatalf("Run returned %v, want boom", err)
			}
		default:
			t.Fatal("Run did not return after a stage failed")
		}
		if _, ok := <-out; ok {
			t.Fatal("out not closed after Run returned")
		}
		if _, ok := <-other; ok {
			t.Fatal("the other stage's output not closed after Run returned")
		}
	})
}
