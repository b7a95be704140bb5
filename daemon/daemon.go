// Package daemon is orderd as a process: it reads the configuration, connects
// to Kafka and PostgreSQL (retrying while they are down), runs the ingest
// pipeline and the HTTP server, and shuts them down in order. cmd/orderd's
// main only calls Run; tests and the bench tool call it too.
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
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/pipeline"
	"github.com/orderd/orderd/server"
	"github.com/orderd/orderd/stages"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/web"
)

// Run runs orderd until ctx ends or SIGINT/SIGTERM arrives, then shuts down
// gracefully. args are the command-line arguments without the program name;
// getenv reads the environment. It returns nil after a clean shutdown.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := newLogger(cfg, stdout)
	if err != nil {
		return fmt.Errorf("configuration: LOG_LEVEL: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := (&daemon{cfg: cfg, log: log}).run(ctx); err != nil {
		return err
	}
	log.Info().Msg("orderd stopped cleanly")
	return nil
}

type daemon struct {
	cfg     Config
	log     zerolog.Logger
	metrics *stages.Metrics
}

// component returns the sub-logger of one part of orderd.
func (d *daemon) component(name string) zerolog.Logger {
	return d.log.With().Str("component", name).Logger()
}

// backoff spaces out every retry of the daemon and its stages.
func (d *daemon) backoff() pipeline.Backoff {
	return pipeline.Backoff{Min: 100 * time.Millisecond, Max: d.cfg.RetryMaxBackoff}
}

func (d *daemon) run(ctx context.Context) error {
	cfg := d.cfg
	d.log.Info().Object("config", cfg).Msg("orderd starting")

	promReg := newRegistry()
	d.metrics = stages.NewMetrics(promReg)
	warmUpMetrics := newWarmUpMetrics(promReg)

	reg := health.New()
	kafkaHealth := reg.Component("kafka")
	storeHealth := reg.Component("store")
	warmupHealth := reg.Component("warmup")
	writerHealth := reg.Aggregate("writer", "writers", cfg.Writers)
	dlqHealth := reg.Component("dlq")

	adminToken, err := d.adminToken()
	if err != nil {
		return err
	}

	// HTTP comes up first and goes down last: /health must answer (503)
	// while PostgreSQL or Kafka are still being reached. What it reads
	// through is connected later (late*).
	var (
		reads  = &lateOrders{}
		lister = &lateLister{}
		stats  = &lateStats{}
		dead   = &lateDLQ{}
	)
	handler, err := server.NewServer(server.Deps{
		Orders:         reads,
		List:           lister,
		Stats:          stats,
		DLQ:            dead,
		Health:         reg,
		Metrics:        server.NewMetrics(promReg),
		MetricsHandler: metricsHandler(promReg),
		AdminToken:     adminToken,
		UI:             web.Static,
		Log:            d.component("http"),
	})
	if err != nil {
		return err
	}
	srv := &fasthttp.Server{
		Handler:      handler,
		Name:         "orderd",
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(ln) }()
	d.log.Info().Str("addr", ln.Addr().String()).Msg("http serving")
	if cfg.PprofAddr != "" {
		addr, _, err := servePprof(ctx, cfg.PprofAddr)
		if err != nil {
			return fmt.Errorf("listen on PPROF_ADDR %s: %w", cfg.PprofAddr, err)
		}
		d.log.Info().Str("addr", addr.String()).Msg("pprof serving")
	}
	defer func() {
		d.log.Info().Msg("stopping http")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.ShutdownWithContext(shutdownCtx); err != nil {
			d.log.Warn().Err(err).Msg("http shutdown")
		}
		d.log.Info().Msg("http stopped")
	}()

	brokers := cfg.KafkaBrokers
	var demo *demoMode
	if cfg.Demo {
		demo, err = startDemo(cfg, d.component("demo"))
		if err != nil {
			return err
		}
		defer demo.close()
		brokers = demo.brokers
		demo.baseURL = browseURL(ln.Addr())
	}

	// Connect to the store and to Kafka at the same time; each retries
	// until it succeeds or orderd is stopped.
	storeCh := make(chan storage.Store, 1)
	go func() {
		s, err := d.openStore(ctx, storeHealth)
		if err == nil {
			storeCh <- s
		}
		close(storeCh)
	}()
	kafkaCh := make(chan *kafkaClients, 1)
	go func() {
		k, err := d.connectKafka(ctx, brokers, kafkaHealth)
		if err == nil {
			kafkaCh <- k
		}
		close(kafkaCh)
	}()
	store, storeOK := <-storeCh
	kafka, kafkaOK := <-kafkaCh
	if storeOK {
		defer d.closeStore(store)
	}
	if kafkaOK {
		defer func() {
			d.log.Info().Msg("closing kafka clients")
			if err := kafka.close(); err != nil {
				d.log.Warn().Err(err).Msg("close kafka clients")
			}
			d.log.Info().Msg("kafka clients closed")
		}()
	}
	if !storeOK || !kafkaOK {
		return nil // stopped while connecting
	}

	cache, err := storage.NewCache(cfg.CacheSizeMB << 20)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer cache.Close()
	orders := storage.NewOrders(store, cache, storage.OrdersOptions{
		NegativeTTL:        cfg.NegativeTTL,
		MaxConcurrentReads: cfg.ReadConcurrency,
		ReadQueueTimeout:   cfg.ReadQueueTimeout,
	})
	reads.set(orders)
	lister.set(store)
	promReg.MustRegister(storage.NewCollector(orders))

	go d.warmUp(ctx, orders, warmupHealth, warmUpMetrics)
	go d.watchStore(ctx, store, storeHealth)

	// work lives until the pipeline has drained after a shutdown signal;
	// it is cancelled early only by a fatal error or SHUTDOWN_TIMEOUT.
	work, abandonWork := context.WithCancel(context.WithoutCancel(ctx))
	defer abandonWork()
	consume, stopConsuming := context.WithCancel(work)
	defer stopConsuming()

	src := make(chan stages.Message, 256)
	inFlight := pipeline.NewInFlight(cfg.MaxInFlight)
	promReg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orderd_pipeline_in_flight",
		Help: "Messages inside the pipeline; the consumer pauses at MAX_IN_FLIGHT.",
	}, func() float64 { return float64(inFlight.Len()) }))
	source := &stages.KafkaSource{
		Group:        kafka.group,
		Topics:       []string{cfg.KafkaTopic},
		Out:          src,
		InFlight:     inFlight,
		DrainTimeout: cfg.DrainTimeout,
		Log:          d.component("consumer"),
		Metrics:      d.metrics,
		Retry: (&stages.Report{Health: kafkaHealth, Log: d.component("consumer"), Metrics: d.metrics}).Retry(stages.Work{
			Cause:   stages.RetryKafka,
			What:    "consuming " + cfg.KafkaTopic,
			Failing: "consumer group session failed",
			Healed:  "consuming again",
		}, d.backoff(), stages.IsClosed),
	}
	ingest := &stages.Ingest{
		Workers:         cfg.Workers,
		MaxMessageBytes: cfg.MaxMessageBytes,
		BatchSize:       cfg.BatchSize,
		BatchLinger:     cfg.BatchLinger,
		Writers:         cfg.Writers,
		Writer: &stages.Writer{
			Store: store, Health: writerHealth, Log: d.component("writer"), Metrics: d.metrics, Retry: d.backoff(),
		},
		Orders: orders,
		DeadLetters: &stages.DeadLetters{
			Producer: kafka.dlq, Topic: cfg.KafkaDLQTopic, MaxRecordBytes: kafka.dlqMaxRecord, Health: dlqHealth,
			Log: d.component("dlq"), Metrics: d.metrics, Retry: d.backoff(), MaxBatch: 256,
		},
		Metrics: d.metrics,
	}
	reader := dlq.NewReader(kafka.admin, cfg.KafkaDLQTopic)
	dead.set(deadLetters{Reader: reader, Redriver: dlq.NewRedriver(reader, kafka.adminProduce, cfg.KafkaTopic)})
	statsSrc := &statsSource{store: store, orders: orders, metrics: d.metrics, reader: reader, inFlight: inFlight}
	go statsSrc.sampleRate(ctx)
	stats.set(statsSrc)

	ingestDone := make(chan error, 1)
	go func() { ingestDone <- ingest.Run(work, src) }()
	sourceDone := make(chan error, 1)
	go func() { sourceDone <- source.Run(consume) }()
	d.log.Info().Str("topic", cfg.KafkaTopic).Str("group", cfg.KafkaGroup).Msg("consuming")

	feedDone := make(chan struct{})
	if demo != nil {
		go func() { defer close(feedDone); demo.feed(ctx) }()
	} else {
		close(feedDone)
	}

	var (
		fatal                        error
		sourceErr, ingestErr         error
		sourceStopped, ingestStopped bool
	)
	select {
	case <-ctx.Done():
		d.log.Info().Msg("shutdown requested")
	case sourceErr = <-sourceDone:
		sourceStopped = true
		fatal = fmt.Errorf("consumer stopped: %w", sourceErr)
	case ingestErr = <-ingestDone:
		ingestStopped = true
		fatal = fmt.Errorf("pipeline stopped: %w", ingestErr)
	case err := <-httpDone:
		fatal = fmt.Errorf("http server stopped: %w", err)
	}
	if fatal != nil {
		d.log.Error().Err(fatal).Msg("shutting down after a fatal error")
	}

	// Shutdown, in this order. Past SHUTDOWN_TIMEOUT the pipeline is
	// abandoned: what it had not finished stays uncommitted and is
	// consumed again at the next start.
	deadline := time.AfterFunc(cfg.ShutdownTimeout, func() {
		d.log.Error().Stringer("shutdown_timeout", cfg.ShutdownTimeout).
			Msg("shutdown timed out; abandoning unfinished work, which stays uncommitted")
		abandonWork()
	})
	defer deadline.Stop()

	// 1. The demo stops publishing.
	<-feedDone
	// 2. Stop reading from Kafka. Each partition waits up to DRAIN_TIMEOUT
	//    for its messages in flight, then the session commits what was
	//    marked and the source closes the pipeline's input.
	d.log.Info().Msg("stopping consumer")
	stopConsuming()
	if !sourceStopped {
		sourceErr = <-sourceDone
	}
	d.log.Info().Msg("consumer stopped")
	// 3. The stages drain: the batcher flushes, the last batches are
	//    written and acked, the dead-letter stage publishes what is left.
	d.log.Info().Msg("stopping pipeline")
	if !ingestStopped {
		ingestErr = <-ingestDone
	}
	d.log.Info().Msg("pipeline stopped")
	if fatal == nil && (sourceErr != nil || ingestErr != nil) {
		fatal = fmt.Errorf("stopping: %w", errors.Join(sourceErr, ingestErr))
	}
	// 4. Deferred, in reverse order of the defers above: the Kafka clients
	//    (leave the group, close the DLQ producer), the cache, the store,
	//    the demo's Kafka, and HTTP last, so reads are served throughout.
	return fatal
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

// openStore connects to PostgreSQL, retrying while it is unreachable, or
// returns the in-memory store in demo mode without DATABASE_URL.
func (d *daemon) openStore(ctx context.Context, comp *health.Component) (storage.Store, error) {
	if d.cfg.DatabaseURL == "" {
		d.log.Warn().Msg("demo mode without DATABASE_URL: orders are kept in memory only and are lost when orderd stops")
		comp.OK()
		return storage.NewMemory(), nil
	}
	log := d.component("store")
	// Enough connections for every writer, every read-through query and
	// the health check, so a burst of cache misses never starves the
	// writer; pgxpool would otherwise allow only max(4, GOMAXPROCS).
	dbURL := storage.WithPoolSize(d.cfg.DatabaseURL, d.cfg.ReadConcurrency+d.cfg.Writers+2)
	var pg *storage.Postgres
	err := d.keepTrying(ctx, log, comp, stages.RetryConnect, "connect to postgresql", "postgresql unavailable; retrying",
		func(ctx context.Context) (err error) {
			connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			pg, err = storage.OpenPostgres(connectCtx, dbURL)
			return err
		})
	if err != nil {
		return nil, err
	}
	comp.OK()
	log.Info().Str("database_url", d.cfg.redactedDatabaseURL()).Msg("postgresql connected, migrations applied")
	return pg, nil
}

func (d *daemon) closeStore(s storage.Store) {
	d.log.Info().Msg("closing store")
	s.Close()
	d.log.Info().Msg("store closed")
}

// storePingInterval is how often the store's health is checked.
const storePingInterval = 2 * time.Second

// watchStore pings the store until ctx ends and reports the result, so
// /health answers from memory instead of querying PostgreSQL per request.
func (d *daemon) watchStore(ctx context.Context, s storage.Store, comp *health.Component) {
	log := d.component("store")
	t := time.NewTicker(storePingInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, cancel := context.WithTimeout(ctx, storePingInterval)
		err := s.Ping(pingCtx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			comp.Fail(fmt.Errorf("ping: %w", err))
			if !failing {
				log.Warn().Err(err).Msg("store stopped answering")
			}
			failing = true
		case err == nil:
			comp.OK()
			if failing {
				log.Info().Msg("store answers again")
			}
			failing = false
		}
	}
}

// warmUp loads every stored order into the cache before /health turns green,
// retrying while the store fails.
func (d *daemon) warmUp(ctx context.Context, orders *storage.Orders, comp *health.Component, m warmUpMetrics) {
	log := d.component("warmup")
	var (
		n     int
		start time.Time
	)
	err := d.keepTrying(ctx, log, comp, stages.RetryWarmUp, "cache warm-up", "cache warm-up failed; retrying",
		func(ctx context.Context) (err error) {
			comp.Wait("loading stored orders into the cache")
			start = time.Now()
			n, err = orders.WarmUp(ctx)
			return err
		})
	if err != nil {
		return // stopped before it finished
	}
	m.duration.Set(time.Since(start).Seconds())
	m.orders.Set(float64(n))
	// The cache grew by doubling while it filled; the buffers it outgrew
	// are garbage the runtime would hand back to the OS only gradually.
	// Hand them back now, once, so the resident memory after start is the
	// cache's (about 1.1x the orders' JSON, not 1.5x).
	debug.FreeOSMemory()
	comp.OK()
	log.Info().Int("orders", n).Stringer("took", time.Since(start)).Msg("cache warmed up")
}
