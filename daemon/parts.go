package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// part is one piece of orderd and how it starts and stops. start must not
// block for long: whatever waits (connecting, warming up, serving) runs in
// goroutines that stop ends and joins. stop is called only if start
// succeeded, and must not return before everything the part started has.
type part struct {
	name  string
	start func() error
	stop  func() error
}

// runParts starts parts in the order given and waits until ctx ends or a
// part reports a fatal error on fatal. Then it stops the started parts in the
// reverse order, each one only after every part started after it has
// stopped, and returns the fatal error and any failure to stop. The order of
// the list is the order of shutdown: it is data, not a pile of defers.
func runParts(ctx context.Context, log zerolog.Logger, parts []part, fatal <-chan error) error {
	var err error
	started := 0
	for _, p := range parts {
		if err = p.start(); err != nil {
			err = fmt.Errorf("start %s: %w", p.name, err)
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
	for i := started - 1; i >= 0; i-- {
		p := parts[i]
		log.Info().Msg("stopping " + p.name)
		if serr := p.stop(); serr != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", p.name, serr))
			log.Warn().Err(serr).Msg(p.name + " stopped with an error")
			continue
		}
		log.Info().Msg(p.name + " stopped")
	}
	return errors.Join(errs...)
}

// background is the goroutines of one part: started with go, cancelled and
// joined by stop.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground() *background {
	b := &background{}
	// Not the signal's context: a part's goroutines stop when the part
	// does, in its turn, not all at once when the signal arrives.
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

func (b *background) goRun(f func(ctx context.Context)) { b.wg.Go(func() { f(b.ctx) }) }

// stop cancels the goroutines and waits for them.
func (b *background) stop() {
	b.cancel()
	b.wg.Wait()
}
