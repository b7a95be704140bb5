// Package daemon is orderd as a process: it reads the configuration, connects
// to Kafka and PostgreSQL (retrying while they are down), runs the ingest
// pipeline and the HTTP server, and shuts them down in order. Its one job is
// the wiring: each part of orderd, in the list that starts and stops them
// (parts), built from its sub-packages: config, telemetry, kafkaclient,
// warmup, ingest, stats, serve and demo. cmd/orderd's main only calls Run; tests
// and the bench tool call it too. Nothing of orderd's but those imports it,
// and its sub-packages never import it.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/daemon/demo"
	"github.com/orderd/orderd/daemon/kafkaclient"
	"github.com/orderd/orderd/daemon/parts"
	"github.com/orderd/orderd/daemon/stats"
	"github.com/orderd/orderd/daemon/telemetry"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/server/instrument"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/storage"
)

// Run runs orderd until ctx ends or SIGINT/SIGTERM arrives, then shuts down
// gracefully. args are the command-line arguments without the program name;
// getenv reads the environment. It returns nil after a clean shutdown, and
// only once every goroutine orderd started has ended.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.Probe != "" {
		return probe(ctx, cfg.Probe)
	}
	log, err := config.NewLogger(cfg, stdout)
	if err != nil {
		return fmt.Errorf("configuration: LOG_LEVEL: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d := newDaemon(cfg, log)
	if d.tracing, err = telemetry.New(ctx, getenv, d.prom, d.component("tracing")); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if err := d.run(ctx); err != nil {
		return err
	}
	log.Info().Msg("orderd stopped cleanly")
	return nil
}

// daemon is one orderd process: its parts, and what they share.
type daemon struct {
	cfg     config.Config
	log     zerolog.Logger
	prom    *prometheus.Registry
	metrics *stages.Metrics
	health  *health.Registry
	loops   *health.Loops // the pipeline's workers, for /livez
	// fatal carries the first error that must stop orderd (see die).
	fatal chan error
	// tracing is OpenTelemetry's, on when OTEL_EXPORTER_OTLP_ENDPOINT is set.
	tracing *telemetry.Tracing
	// origin names this process in its commit announcements, so that its
	// own cost it nothing (see follow.Follower).
	origin string

	// Each health component has one writer.
	kafkaHealth  *health.Retries           // connecting, then the consumer's sessions
	commits      *health.Component         // the consumer group's offset commits (consumer.CommitWatch)
	storeHealth  *health.Component         // the store part: connecting, then pinging
	warmupHealth *health.Component         // the read path's warm-up
	fillHealth   *health.Component         // the read path's listener for other replicas' commits
	writerHealth []*health.Component       // one per writer
	dlqHealth    *health.Component         // the dead-letter stage
	lifecycle    *health.Component         // the readiness part: not ready once shutdown begins
	notReadyAt   atomic.Pointer[time.Time] // when the readiness part turned not ready, for SHUTDOWN_GRACE
	closing      atomic.Bool               // set with notReadyAt: HTTP answers say Connection: close

	// Connected or built by one part, used by later ones.
	store    parts.Late[storage.Store]
	kafka    parts.Late[*kafkaclient.Clients]
	httpAddr net.Addr
	demo     *demo.Mode
	brokers  []string

	// What the HTTP server reads through, once it exists.
	reads  lateOrders
	lister lateLister
	stats  lateStats
	dead   lateDLQ
	// history is sampled by historyPart for the UI's charts and the
	// ingest rate of GET /api/stats.
	history *stats.Ring
	// httpMetrics are the HTTP server's, whose GET /order latency the
	// history reads.
	httpMetrics *instrument.Metrics
}

func newDaemon(cfg config.Config, log zerolog.Logger) *daemon {
	d := &daemon{cfg: cfg, log: log, prom: newRegistry(), health: health.New(), loops: new(health.Loops), fatal: make(chan error, 1), brokers: cfg.KafkaBrokers, origin: newOrigin()}
	d.metrics = stages.NewMetrics(d.prom)
	d.kafkaHealth = &health.Retries{Health: d.health.Component("kafka"), Log: d.component("kafka"), Metrics: d.metrics}
	d.commits = d.health.Component("commits")
	d.commits.Wait("waiting for the consumer to start")
	d.storeHealth = d.health.Component("store")
	d.warmupHealth = d.health.Component("warmup")
	d.fillHealth = d.health.Component("fill")
	d.writerHealth = d.health.Aggregate("writer", "writers", cfg.Writers)
	d.dlqHealth = d.health.Component("dlq")
	d.lifecycle = d.health.Component("lifecycle")
	d.httpMetrics = instrument.NewMetrics(d.prom)
	d.history = stats.NewRing(d.readCounters)
	return d
}

// run starts orderd's parts in the order listed and, on a signal or a fatal
// error, stops them in the reverse order.
//
// Starting never waits: connecting to PostgreSQL and Kafka (with retries)
// and warming the cache happen in the parts' goroutines, so HTTP answers at
// once, /health with 503 saying what is awaited.
//
// Stopping, on SIGTERM:
//  1. readiness: /health reports not ready (lifecycle), so load balancers
//     turn away; reads are still served.
//  2. the demo stops publishing.
//  3. the pipeline (see pipelineParts): stop consuming; each partition waits
//     up to DRAIN_TIMEOUT for its messages in flight and the session
//     commits; the stages drain, the batcher flushes, the last dead letters
//     are published; then the watchers stop. Past SHUTDOWN_TIMEOUT what is
//     unfinished is abandoned, uncommitted.
//  4. http and pprof stop: until here every read was served.
//  5. the read path's warm-up, the cache, the Kafka clients (the group is
//     left) and the store close, and the demo's Kafka last.
func (d *daemon) run(ctx context.Context) error {
	d.log.Info().Object("config", d.cfg).Str("origin", d.origin).Msg("orderd starting")
	if d.cfg.Kafka.InsecureSkipVerify {
		d.log.Warn().Msg("KAFKA_TLS_INSECURE_SKIP_VERIFY: the brokers' certificates are not checked; anyone between orderd and Kafka can read and change the orders")
	}
	adminToken, err := d.adminToken()
	if err != nil {
		return err
	}
	list := slices.Concat([]parts.Part{
		d.tracingPart(),   // first, so it stops last: it flushes every part's spans
		d.demoKafkaPart(), // the broker, in demo mode
		d.storePart(),
		d.kafkaPart(),
		d.readPathPart(),
		d.pprofPart(),
		d.httpPart(adminToken),
		d.historyPart(),
	}, d.pipelineParts(), []parts.Part{
		d.demoFeedPart(),
		d.readinessPart(),
	})
	return parts.Run(ctx, d.log, list, d.fatal, d.cfg.ShutdownTimeout+d.cfg.ShutdownGrace)
}

// newOrigin names one run of orderd: random, since replicas in one pod
// template share a hostname pattern and tests run several in one process.
func newOrigin() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// die reports an error that must stop orderd; the first one counts.
func (d *daemon) die(err error) {
	select {
	case d.fatal <- err:
	default:
	}
}

// component returns the sub-logger of one part of orderd.
func (d *daemon) component(name string) zerolog.Logger {
	return d.log.With().Str("component", name).Logger()
}

// backoff spaces out every retry of the daemon and its stages.
func (d *daemon) backoff() pipeline.Backoff {
	return pipeline.Backoff{Min: 100 * time.Millisecond, Max: d.cfg.RetryMaxBackoff}
}

// readinessPart reports orderd ready once everything started, as far as it
// is concerned, and not ready first thing when shutdown begins.
func (d *daemon) readinessPart() parts.Part {
	return parts.Part{
		Name:  "readiness",
		Start: func() error { d.lifecycle.OK(); return nil },
		Stop: func() error {
			d.lifecycle.Wait("shutting down: consuming stops, reads are served until HTTP stops")
			// Clients move off their keep-alive connections while HTTP
			// still serves: none is closed under a request later.
			d.closing.Store(true)
			now := time.Now()
			d.notReadyAt.Store(&now)
			return nil
		},
	}
}

// adminToken is ADMIN_TOKEN, or in demo mode without it a token made up for
// this run and printed, so the demo's DLQ tab can be tried at once.
func (d *daemon) adminToken() (string, error) {
	if d.cfg.AdminToken != "" || !d.cfg.Demo {
		if d.cfg.AdminToken == "" {
			d.log.Info().Msg("admin API disabled: set ADMIN_TOKEN to enable /api/admin/ and the UI's DLQ tab")
		}
		return d.cfg.AdminToken, nil
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate the demo admin token: %w", err)
	}
	token := hex.EncodeToString(b[:])
	d.log.Warn().Str("admin_token", token).
		Msg("demo: admin API token for this run (the UI's DLQ tab asks for it; set ADMIN_TOKEN to choose one)")
	return token, nil
}

// probe GETs url and returns nil on a 2xx: orderd -probe, for the HEALTHCHECK
// of an image that has no curl.
func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: %s", url, resp.Status)
	}
	return nil
}

// browseURL is how a person on this machine reaches addr.
func browseURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(tcp.Port)))
}
