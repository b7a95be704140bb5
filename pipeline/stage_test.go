package pipeline

import (
	"context"
	"testing"
)

func double(ctx context.Context, in <-chan int, out chan<- int) error {
	for v := range in {
		if err := Send(ctx, out, v*2); err != nil {
			return err
		}
	}
	return nil
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
