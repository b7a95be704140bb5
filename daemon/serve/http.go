// Package serve runs orderd's listeners as two of its parts: the HTTP
// server of the API, the UI and the probes, with every one of fasthttp's
// limits set from the Config and a shutdown that serves on through
// SHUTDOWN_GRACE; and the opt-in pprof listener. What is answered is
// package server's, and what it reads through the daemon's to hand it. It
// never imports the daemon.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/server"
)

// httpShutdownTimeout bounds how long stopping HTTP waits for requests in
// progress.
const httpShutdownTimeout = 5 * time.Second

// HTTP is the server of the API, the UI, /health and /metrics, and what its
// part needs.
type HTTP struct {
	Config config.Config
	// Deps are the handler's: server.NewServer makes it when the part
	// starts.
	Deps server.Deps
	// Log is orderd's root logger; fasthttp's own lines go to Deps.Log.
	Log zerolog.Logger
	// Die stops orderd when serving stops by itself.
	Die func(error)
	// NotReadyAt is when the readiness part turned not ready.
	NotReadyAt *atomic.Pointer[time.Time]
	// Listening is told the listener's address once it is open.
	Listening func(net.Addr)
}

// Part serves. It starts before PostgreSQL and Kafka are reached, and stops
// only after the pipeline, so reads are served throughout shutdown.
func (h HTTP) Part() parts.Part {
	var (
		srv  *fasthttp.Server
		done = make(chan struct{})
	)
	return parts.Part{
		Name: "http",
		Start: func() error {
			handler, err := server.NewServer(h.Deps)
			if err != nil {
				return err
			}
			cfg := h.Config
			srv = &fasthttp.Server{
				Handler: handler,
				Name:    "orderd",
				// Every limit explicit: a client that trickles its
				// headers (slowloris), sends huge ones, a huge body, or
				// opens connections without end, costs a bounded share.
				ReadTimeout:        cfg.HTTPReadTimeout,
				WriteTimeout:       cfg.HTTPWriteTimeout,
				IdleTimeout:        cfg.HTTPIdleTimeout,
				ReadBufferSize:     cfg.HTTPMaxHeaderBytes, // fasthttp's limit of the headers: 431 beyond it
				MaxRequestBodySize: cfg.HTTPMaxBodyBytes,
				Concurrency:        cfg.HTTPMaxConns,
				// A request that cannot be read gets a JSON 4xx, and the
				// line fasthttp logs of it goes to our log at debug, without
				// the request's bytes, which may be anyone's data.
				// Answers during Shutdown say Connection: close too.
				CloseOnShutdown:       true,
				ErrorHandler:          server.HandleRequestError,
				SecureErrorLogMessage: true,
				Logger:                debugPrintf{h.Deps.Log},
			}
			ln, err := net.Listen("tcp", cfg.HTTPAddr)
			if err != nil {
				return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
			}
			h.Listening(ln.Addr())
			go func() {
				defer close(done)
				if err := srv.Serve(ln); err != nil {
					h.Die(fmt.Errorf("http server stopped: %w", err))
				}
			}()
			h.Log.Info().Str("addr", ln.Addr().String()).Msg("http serving")
			return nil
		},
		Stop: func() error {
			// /readyz has said 503 since readiness stopped: go on serving
			// until SHUTDOWN_GRACE has passed since, so that load
			// balancers have stopped sending before the listener closes.
			if at := h.NotReadyAt.Load(); at != nil {
				time.Sleep(time.Until(at.Add(h.Config.ShutdownGrace)))
			}
			// Closes the listener, lets requests in progress finish and
			// closes idle connections.
			ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
			defer cancel()
			err := srv.ShutdownWithContext(ctx)
			<-done
			return err
		},
	}
}

// Pprof serves net/http/pprof on addr (PPROF_ADDR) when it is set. It is
// opt-in and on its own listener, so profiling is never exposed on the
// public port.
func Pprof(addr string, log zerolog.Logger, die func(error)) parts.Part {
	if addr == "" {
		return parts.Part{}
	}
	var (
		srv  *http.Server
		done = make(chan struct{})
	)
	return parts.Part{
		Name: "pprof",
		Start: func() error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on PPROF_ADDR %s: %w", addr, err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				defer close(done)
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					die(fmt.Errorf("pprof server stopped: %w", err))
				}
			}()
			log.Info().Str("addr", ln.Addr().String()).Msg("pprof serving")
			return nil
		},
		Stop: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
			defer cancel()
			err := srv.Shutdown(ctx)
			<-done
			return err
		},
	}
}

// debugPrintf is fasthttp's logger (Printf) writing to orderd's log at
// debug level, since what it reports is a client's fault, not orderd's. It
// writes what kind of failure it was and never fasthttp's text, which quotes
// the request's bytes (a malformed URI, a header value) even with
// SecureErrorLogMessage.
type debugPrintf struct{ log zerolog.Logger }

func (p debugPrintf) Printf(_ string, args ...any) {
	kind := "malformed request"
	for _, a := range args {
		if err, ok := a.(error); ok {
			var small *fasthttp.ErrSmallBuffer
			var netErr net.Error
			switch {
			case errors.As(err, &small):
				kind = "headers too large"
			case errors.Is(err, fasthttp.ErrBodyTooLarge):
				kind = "body too large"
			case errors.As(err, &netErr) && netErr.Timeout():
				kind = "timeout"
			}
		}
	}
	p.log.Debug().Str("kind", kind).Msg("http client connection failed")
}
