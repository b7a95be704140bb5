package pipeline

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// The batcher's tests run in a synctest bubble: its clock is fake and
// moves only when every goroutine of the test is blocked, so a linger is
// checked to the nanosecond, and "nothing yet" is checked after
// synctest.Wait, when the batcher has done all it will do until time
// moves, instead of after a guess at how long it needs.

func recvBatch(t *testing.T, out <-chan []int) []int {
	t.Helper()
	select {
	case b, ok := <-out:
		if !ok {
			t.Fatal("batch channel closed, want a batch")
		}
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no batch within 5s")
		return nil
	}
}

// noBatch fails the test if a batch is ready now, once the batcher has
// done all it can without the clock moving.
func noBatch(t *testing.T, out <-chan []int, why string) {
	t.Helper()
	synctest.Wait()
	select {
	case b := <-out:
		t.Fatalf("emitted %v %s", b, why)
	default:
	}
}

// startBatch runs a batcher until the test ends (t.Context, which a
// bubble's test cancels before it waits for its goroutines).
func startBatch(t *testing.T, size int, linger time.Duration) (chan<- int, <-chan []int, <-chan error) {
	t.Helper()
	in := make(chan int)
	out := make(chan []int, 16)
	done := make(chan error, 1)
	go func() { done <- Batch[int](size, linger)(t.Context(), in, out) }()
	return in, out, done
}

func TestBatch_EmitsWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const linger = time.Hour
		in, out, _ := startBatch(t, 3, linger)
		for i := range 7 {
			in <- i
		}
		if got := recvBatch(t, out); !slices.Equal(got, []int{0, 1, 2}) {
			t.Fatalf("first batch %v", got)
		}
		if got := recvBatch(t, out); !slices.Equal(got, []int{3, 4, 5}) {
			t.Fatalf("second batch %v", got)
		}
		// The seventh value waits for its linger, to the nanosecond.
		noBatch(t, out, "before the linger began")
		time.Sleep(linger - time.Nanosecond)
		noBatch(t, out, "before the linger elapsed")
		time.Sleep(time.Nanosecond)
		if got := recvBatch(t, out); !slices.Equal(got, []int{6}) {
			t.Fatalf("third batch %v, want [6] once the linger elapsed", got)
		}
	})
}

func TestBatch_EmitsPartialBatchAfterLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const linger = 20 * time.Millisecond
		in, out, _ := startBatch(t, 100, linger)
		start := time.Now()
		in <- 1
		in <- 2
		if got := recvBatch(t, out); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("batch %v, want [1 2]", got)
		}
		if took := time.Since(start); took != linger {
			t.Fatalf("batch after %v, want after the linger, %v", took, linger)
		}
		// The linger restarts with the next batch's first value.
		time.Sleep(time.Hour)
		start = time.Now()
		in <- 3
		if got := recvBatch(t, out); !slices.Equal(got, []int{3}) {
			t.Fatalf("batch %v, want [3]", got)
		}
		if took := time.Since(start); took != linger {
			t.Fatalf("second batch %v after its first value, want %v", took, linger)
		}
	})
}

func TestBatch_FlushesOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, done := startBatch(t, 100, time.Hour)
		start := time.Now()
		in <- 1
		in <- 2
		close(in)
		if got := recvBatch(t, out); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("batch %v, want [1 2]", got)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Batch returned %v after in closed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Batch did not return after in closed")
		}
		if took := time.Since(start); took != 0 {
			t.Fatalf("flushed after %v, want at once, not at the linger", took)
		}
	})
}

func TestBatch_BatchesDoNotShareMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in, out, _ := startBatch(t, 2, time.Hour)
		in <- 1
		in <- 2
		first := recvBatch(t, out)
		in <- 3
		in <- 4
		recvBatch(t, out)
		if !slices.Equal(first, []int{1, 2}) {
			t.Fatalf("first batch changed to %v after the next one was built", first)
		}
	})
}

func TestBatch_ReturnsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		in := make(chan int)
		out := make(chan []int) // nobody reads: the send must not block forever
		done := make(chan error, 1)
		go func() { done <- Batch[int](1, time.Hour)(ctx, in, out) }()
		in <- 1
		synctest.Wait() // blocked on the send of [1]
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Batch returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Batch blocked past cancellation")
		}
	})
}

// While the receiver does not take a ready batch, the batch goes on
// filling, up to size, and is handed over whole: a busy writer gets one
// large batch, not a queue of small ones cut at each linger.
func TestBatch_GrowsWhileTheReceiverIsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const linger = time.Millisecond
		in := make(chan int)
		out := make(chan []int) // unbuffered: taken only when the receiver is ready
		go func() { _ = Batch[int](5, linger)(t.Context(), in, out) }()
		send := func(v int) {
			t.Helper()
			select {
			case in <- v:
			case <-time.After(5 * time.Second):
				t.Fatalf("value %d not taken within 5s while the batch was not full", v)
			}
		}
		send(1)
		time.Sleep(20 * linger) // the linger has long passed; nobody receives
		for i := 2; i <= 5; i++ {
			send(i)
		}
		// Full: it takes nothing more until the batch is taken.
		synctest.Wait()
		select {
		case in <- 6:
			t.Fatal("a full batch took a sixth value")
		default:
		}
		if got := recvBatch(t, out); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("batch %v, want [1 2 3 4 5]: what arrived while the receiver was busy", got)
		}
		start := time.Now()
		send(6)
		if got := recvBatch(t, out); !slices.Equal(got, []int{6}) {
			t.Fatalf("batch %v, want [6] after the linger", got)
		}
		if took := time.Since(start); took != linger {
			t.Fatalf("batch [6] after %v, want after the linger, %v", took, linger)
		}
	})
}
