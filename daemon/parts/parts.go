// Package parts runs orderd as a list of parts, each with how it starts
// and how it stops: one runner walks the list forwards to start and
// backwards to stop, within one shutdown budget, so that the order of
// shutdown is data written in one place. Late holds what a part connects
// after others have started. It never imports anything of orderd's.
package parts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Part is one piece of orderd and how it starts and stops. Start must not
// block for long: whatever waits (connecting, warming up, serving) runs in
// goroutines that Stop ends and joins. Stop is called only if Start
// succeeded, and must not return before everything the part started has.
// A Part without Start is not configured, and is left out.
type Part struct {
	Name  string
	Start func() error
	Stop  func() error
}

// lateStop is how long a part's stop is waited for once the shutdown's
// deadline has passed: a moment for what depends on nothing that hangs (the
// HTTP server, closing the cache), before it too is abandoned.
const lateStop = time.Second

// Run starts parts in the order given and waits until ctx ends or a
// part reports a fatal error on fatal. Then it stops the started parts in the
// reverse order, each one only after every part started after it has
// stopped, and returns the fatal error and any failure to stop. The order of
// the list is the order of shutdown: it is data, not a pile of defers.
//
// Stopping is bounded: every stop must end within budget of the first one
// starting (SHUTDOWN_TIMEOUT + SHUTDOWN_GRACE), or lateStop after that. A
// stop still running then is abandoned, and said so: a call into a broker
// that accepted a request and never answers cannot be cancelled, and the
// process must exit before the kubelet kills it. What an abandoned part had
// not finished was never acknowledged, so it stays uncommitted and is
// consumed again; its goroutines end with the process.
func Run(ctx context.Context, log zerolog.Logger, parts []Part, fatal <-chan error, budget time.Duration) error {
	var err error
	started := 0
	parts = slices.DeleteFunc(slices.Clone(parts), func(p Part) bool { return p.Start == nil }) // not configured
	for _, p := range parts {
		if err = p.Start(); err != nil {
			err = fmt.Errorf("start %s: %w", p.Name, err)
			break
		}
		started++
	}
	if err == nil {
		select {
		case <-ctx.Done():
			log.Info().Msg("shutdown requested")
		case err = <-fatal:
		}
	}
	if err != nil {
		log.Error().Err(err).Msg("shutting down after a fatal error")
	}
	errs := []error{err}
	deadline := time.Now().Add(budget)
	for i := started - 1; i >= 0; i-- {
		p := parts[i]
		log.Info().Msg("stopping " + p.Name)
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop() }()
		wait := time.NewTimer(max(time.Until(deadline), lateStop))
		select {
		case serr := <-stopped:
			wait.Stop()
			if serr != nil {
				errs = append(errs, fmt.Errorf("stop %s: %w", p.Name, serr))
				log.Warn().Err(serr).Msg(p.Name + " stopped with an error")
				continue
			}
			log.Info().Msg(p.Name + " stopped")
		case <-wait.C:
			errs = append(errs, fmt.Errorf("stop %s: %w", p.Name, errStopAbandoned))
			log.Error().Stringer("budget", budget).Msg(p.Name + " abandoned: it did not stop within SHUTDOWN_TIMEOUT + SHUTDOWN_GRACE; what it had not finished stays uncommitted and is consumed again")
		}
	}
	return errors.Join(errs...)
}

// errStopAbandoned is a part that did not stop in time.
var errStopAbandoned = errors.New("abandoned after SHUTDOWN_TIMEOUT + SHUTDOWN_GRACE")

// Background is the goroutines of one part: started with Go, cancelled and
// joined by Stop.
type Background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewBackground returns a part's goroutines, none started yet.
func NewBackground() *Background {
	b := &Background{}
	// Not the signal's context: a part's goroutines stop when the part
	// does, in its turn, not all at once when the signal arrives.
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// Go runs f in a goroutine, with a context that Stop cancels.
func (b *Background) Go(f func(ctx context.Context)) { b.wg.Go(func() { f(b.ctx) }) }

// Stop cancels the goroutines and waits for them.
func (b *Background) Stop() {
	b.cancel()
	b.wg.Wait()
}
