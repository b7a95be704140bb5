package pipeline

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func double(ctx context.Context, in <-chan int, out chan<- int) error {
	for v := range in {
		if err := Send(ctx, out, v*2); err != nil {
			return err
		}
	}
	return nil
}

func TestRun_ClosesOutAfterAllWorkers(t *testing.T) {
	in := make(chan int)
	out := make(chan int, 100)
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), 4, double, in, out) }()
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

func TestRun_FirstErrorStopsTheOtherWorkers(t *testing.T) {
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
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), 3, failing, in, out) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("Run returned %v, want boom", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after a worker failed")
	}
	if _, ok := <-out; ok {
		t.Fatal("out not closed after Run returned")
	}
}

func TestRoute_KeepsTheOrderOfValuesThatPickAlike(t *testing.T) {
	in := make(chan int, 100)
	for i := range 100 {
		in <- i
	}
	close(in)
	outs := []chan int{make(chan int, 100), make(chan int, 100), make(chan int, 100)}
	if err := Route(context.Background(), in, outs, func(v int) uint64 { return uint64(v) }); err != nil {
		t.Fatal(err)
	}
	for i, out := range outs {
		close(out)
		want := i
		for v := range out {
			if v != want {
				t.Fatalf("out %d: got %d, want %d", i, v, want)
			}
			want += len(outs)
		}
		if want < 100 {
			t.Fatalf("out %d ended at %d", i, want)
		}
	}
}
