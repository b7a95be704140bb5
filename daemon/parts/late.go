package parts

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrNotReady is the use of a Late before it is set.
var ErrNotReady = errors.New("not connected yet: orderd is starting")

// Late holds something connected after the parts that use it have started:
// the HTTP server fails its uses (503) until then instead of waiting for
// PostgreSQL or Kafka, and the parts that cannot work without it wait.
type Late[T any] struct {
	v     atomic.Pointer[T]
	once  sync.Once
	ready chan struct{} // closed by Set
}

func (l *Late[T]) readyCh() chan struct{} {
	l.once.Do(func() { l.ready = make(chan struct{}) })
	return l.ready
}

// Set makes v available; it is called once.
func (l *Late[T]) Set(v T) {
	l.v.Store(&v)
	close(l.readyCh())
}

// Get returns the value, or ErrNotReady before it is set.
func (l *Late[T]) Get() (T, error) {
	p := l.v.Load()
	if p == nil {
		var zero T
		return zero, ErrNotReady
	}
	return *p, nil
}

// Wait returns the value once it is set, or ctx's error if ctx ends first.
func (l *Late[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-l.readyCh():
		return *l.v.Load(), nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
