package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoff_GrowsAndStaysWithinCap(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	f := func(attempt int, lo, hi time.Duration) {
		t.Helper()
		for range 200 {
			if d := b.Delay(attempt); d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", attempt, d, lo, hi)
			}
		}
	}
	f(1, 50*time.Millisecond, 100*time.Millisecond)  // first retry: around Min
	f(2, 100*time.Millisecond, 200*time.Millisecond) // doubles
	f(4, 400*time.Millisecond, 800*time.Millisecond)
	f(5, 500*time.Millisecond, time.Second)  // capped at Max
	f(60, 500*time.Millisecond, time.Second) // no overflow far out
}

func TestSleep_ReturnsEarlyWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v", err)
	}
}
