// Package config is orderd's one Config: its defaults, the flags and
// environment variables that fill it, its validation, how it is logged with
// its secrets masked, and the root logger it describes. It never imports the
// daemon or the server: they are handed the Config.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/daemon/telemetry"
	"github.com/orderd/orderd/kafkaauth"
	"github.com/orderd/orderd/storage/postgres"
)

// Config is everything orderd can be told. Each field is a flag, and each
// flag can also be set by the environment variable of the same name in upper
// case with '_' for '-' (-http-addr and HTTP_ADDR); a flag on the command
// line wins over the environment. The README's configuration table lists
// them all.
type Config struct {
	HTTPAddr  string // address GET /order, /health, /metrics and the UI are served on
	PprofAddr string // address of the opt-in pprof server; empty: off

	// Limits of every HTTP connection: what one client may make orderd
	// hold, whether it means to or not.
	HTTPReadTimeout    time.Duration // the whole request, headers and body; a client that trickles its headers is cut off
	HTTPWriteTimeout   time.Duration // the response, once the handler returned
	HTTPIdleTimeout    time.Duration // a keep-alive connection between requests
	HTTPMaxHeaderBytes int           // the request line and headers; beyond it, 431
	HTTPMaxBodyBytes   int           // any request body (only POST /api/admin/dlq/redrive takes one); beyond it, 413
	HTTPMaxConns       int           // connections at once; beyond them new ones are refused

	KafkaBrokers      []string // seed brokers; required unless -demo
	KafkaTopic        string   // topic the orders arrive on
	KafkaDLQTopic     string   // dead-letter topic
	KafkaGroup        string   // consumer group; replicas sharing it split the partitions
	KafkaCreateTopics bool     // create missing topics, and raise the DLQ's max.message.bytes to match the orders topic
	KafkaPartitions   int      // partitions of topics orderd creates
	KafkaHeartbeat    time.Duration
	KafkaSession      time.Duration
	Kafka             kafkaauth.Config // TLS and SASL: KAFKA_TLS*, KAFKA_SASL*

	DatabaseURL     string // PostgreSQL URL (pgx); required unless -demo, where memory is used without it
	DatabaseURLFile string // DATABASE_URL from a file (a mounted secret)

	AdminToken     string // bearer token of the admin API (/api/admin/); empty disables it, except in demo mode
	AdminTokenFile string // ADMIN_TOKEN from a file

	LogLevel  string // trace, debug, info, warn, error
	LogFormat string // json, console, or auto: console when stdout is a terminal

	MaxMessageBytes   int           // larger messages are dead-lettered as too_large unparsed
	MaxInFlight       int           // messages inside the pipeline at once
	MaxInFlightMB     int           // MiB of memory they hold at once (bytes, decoded, encoded)
	MaxPartitionAhead int           // messages of one partition held from its oldest unfinished one on
	Workers           int           // goroutines decoding, and as many validating
	BatchSize         int           // orders per PostgreSQL transaction, at most
	BatchLinger       time.Duration // longest an order waits for its batch to fill
	WriteTimeout      time.Duration // longest one write transaction may take before it is abandoned and retried
	LivenessStall     time.Duration // longest a loop may stay busy with one piece of work before /livez fails
	Writers           int           // batches written concurrently
	DrainTimeout      time.Duration // how long a released partition waits for its work in flight
	ShutdownTimeout   time.Duration // how long shutdown may take before unfinished work is abandoned (it stays uncommitted)
	ShutdownGrace     time.Duration // how long HTTP goes on serving after /readyz turned 503, so load balancers stop sending first
	Probe             string        // -probe URL: GET it, exit 0 on 2xx and 1 otherwise, and do nothing else
	RetryMaxBackoff   time.Duration // longest pause between retries of PostgreSQL, Kafka or the DLQ
	CacheSizeMB       int           // memory for cached order JSON
	NegativeTTL       time.Duration // how long an id found missing is answered 404 without asking PostgreSQL
	ReadConcurrency   int           // cache-miss queries to PostgreSQL at once
	ReadQueueTimeout  time.Duration // how long a cache miss waits for a query slot before 503
	ListConcurrency   int           // list and count queries (GET /api/orders, /api/stats) at once
	ListQueueTimeout  time.Duration // how long one waits for a connection before 503

	Demo          bool    // run an in-process Kafka, and an in-memory store unless DATABASE_URL is set
	DemoRate      float64 // generated orders per second in demo mode
	DemoBroken    float64 // share of broken messages among them
	DemoKafkaPort int     // 127.0.0.1 port of the demo's in-process Kafka; 0 picks a free one
}

// Load reads the flags in args (without the program name) over the
// environment read through getenv, and validates the result.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	fs := flags(&c, usage)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.Probe != "" { // orderd only probes: no setting it would not use may stop that
		return c, c.validate()
	}
	if err := applyEnv(fs, getenv); err != nil {
		return Config{}, err
	}
	if c.Probe != "" { // orderd only probes: no secret it cannot read may stop that
		return c, c.validate()
	}
	if err := c.readSecrets(); err != nil {
		return Config{}, err
	}
	return c, c.validate()
}

// readSecrets fills each secret given as a file (NAME_FILE, the Docker and
// Kubernetes secrets convention) from it. Giving both is an error: which one
// wins would be a guess.
func (c *Config) readSecrets() error {
	var errs []error
	for _, s := range []struct {
		name  string
		value *string
		file  string
	}{
		{"ADMIN_TOKEN", &c.AdminToken, c.AdminTokenFile},
		{"DATABASE_URL", &c.DatabaseURL, c.DatabaseURLFile},
	} {
		switch {
		case s.file == "":
		case *s.value != "":
			errs = append(errs, fmt.Errorf("set %s or %s_FILE, not both", s.name, s.name))
		default:
			v, err := kafkaauth.ReadSecret(s.file)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", s.name, err))
			}
			*s.value = v
		}
	}
	// KAFKA_SASL_PASSWORD_FILE, and whether the Kafka settings go together.
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Settings returns the environment variable of every setting, for tools and
// tests that check a deployment sets only settings orderd knows.
func Settings() []string {
	var names []string
	flags(&Config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		if f.Name != "probe" {
			names = append(names, kafkaauth.EnvName(f.Name))
		}
	})
	return names
}

// flags is the flag set of orderd's settings, filling c.
func flags(c *Config, usage io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("orderd", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintf(usage, "orderd ingests orders from Kafka into PostgreSQL and serves them over HTTP.\n\n"+
			"Usage: orderd [flags]\n\nEvery flag can also be set by its environment variable, e.g. -http-addr by HTTP_ADDR.\n\n")
		fs.PrintDefaults()
		telemetry.PrintUsage(usage)
	}

	fs.StringVar(&c.HTTPAddr, "http-addr", ":8081", "HTTP listen address")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "listen address of the pprof profiling server, e.g. 127.0.0.1:6060 (off when empty)")
	fs.DurationVar(&c.HTTPReadTimeout, "http-read-timeout", 10*time.Second, "longest a client may take to send a whole request, headers and body")
	fs.DurationVar(&c.HTTPWriteTimeout, "http-write-timeout", 10*time.Second, "longest a response may take to be written")
	fs.DurationVar(&c.HTTPIdleTimeout, "http-idle-timeout", time.Minute, "longest a keep-alive connection may wait for its next request")
	fs.IntVar(&c.HTTPMaxHeaderBytes, "http-max-header-bytes", 8<<10, "largest request line and headers; larger ones get 431")
	fs.IntVar(&c.HTTPMaxBodyBytes, "http-max-body-bytes", 4<<20, "largest request body (a redrive with a corrected payload); larger ones get 413")
	fs.IntVar(&c.HTTPMaxConns, "http-max-conns", 10000, "most HTTP connections at once; more are refused")
	fs.Var((*listFlag)(&c.KafkaBrokers), "kafka-brokers", "comma-separated Kafka seed brokers (required unless -demo)")
	fs.StringVar(&c.KafkaTopic, "kafka-topic", "orders", "topic to consume orders from")
	fs.StringVar(&c.KafkaDLQTopic, "kafka-dlq-topic", "orders.dlq", "dead-letter topic")
	fs.StringVar(&c.KafkaGroup, "kafka-group", "orderd", "consumer group id")
	fs.BoolVar(&c.KafkaCreateTopics, "kafka-create-topics", true, "create missing topics and size the DLQ's max.message.bytes to the orders topic")
	fs.IntVar(&c.KafkaPartitions, "kafka-partitions", 3, "partitions of the topics orderd creates")
	fs.DurationVar(&c.KafkaHeartbeat, "kafka-heartbeat", 3*time.Second, "consumer group heartbeat interval (rebalances take about this long)")
	fs.DurationVar(&c.KafkaSession, "kafka-session", 10*time.Second, "consumer group session timeout")
	c.Kafka.AddFlags(fs)
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL, e.g. postgres://user:pass@host:5432/db (required unless -demo)")
	fs.StringVar(&c.DatabaseURLFile, "database-url-file", "", "`file` holding DATABASE_URL (a mounted secret; a trailing newline is dropped)")
	fs.StringVar(&c.AdminToken, "admin-token", "", "bearer token for the admin API; empty disables it (in -demo one is generated and printed)")
	fs.StringVar(&c.AdminTokenFile, "admin-token-file", "", "`file` holding ADMIN_TOKEN (a mounted secret; a trailing newline is dropped)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "log format: json, console, or auto (console on a terminal)")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", 1<<20, "largest message decoded; larger ones are dead-lettered as too_large")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 20000, "messages inside the pipeline at once; the consumer pauses beyond it")
	fs.IntVar(&c.MaxInFlightMB, "max-in-flight-mb", 64, "MiB of memory the messages inside the pipeline hold at once (their bytes, decoded order and JSON); the consumer pauses beyond it")
	fs.IntVar(&c.MaxPartitionAhead, "max-partition-ahead", 20000, "messages of one partition held behind its oldest unfinished one; that partition pauses beyond it")
	fs.IntVar(&c.Workers, "workers", runtime.GOMAXPROCS(0), "decode goroutines, and as many validate goroutines")
	fs.IntVar(&c.BatchSize, "batch-size", 1000, "most orders written in one PostgreSQL transaction")
	fs.DurationVar(&c.BatchLinger, "batch-linger", 20*time.Millisecond, "longest an order waits for its batch to fill")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", postgres.DefaultPools.WriteTimeout, "longest one write transaction may take; it is then abandoned and retried, and PostgreSQL ends it too (idle_in_transaction_session_timeout)")
	fs.DurationVar(&c.LivenessStall, "liveness-stall", 2*time.Minute, "longest one of orderd's loops may stay busy with one piece of work before /livez answers 503; more than WRITE_TIMEOUT")
	fs.IntVar(&c.Writers, "writers", postgres.DefaultPools.Writers, "batches written to PostgreSQL concurrently")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 5*time.Second, "how long a released partition waits for its messages in flight")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long shutdown may take before unfinished work is left uncommitted")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", 5*time.Second, "how long HTTP goes on serving after /readyz turns 503 on SIGTERM, for load balancers to stop sending")
	fs.StringVar(&c.Probe, "probe", "", "GET this `URL` (e.g. http://127.0.0.1:8081/livez), exit 0 on a 2xx and 1 otherwise; for HEALTHCHECKs of an image without curl")
	fs.DurationVar(&c.RetryMaxBackoff, "retry-max-backoff", 10*time.Second, "longest pause between retries of PostgreSQL, Kafka or the DLQ")
	fs.IntVar(&c.CacheSizeMB, "cache-size-mb", 1024, "memory for cached order JSON, in MiB")
	fs.DurationVar(&c.NegativeTTL, "negative-ttl", time.Second, "how long an id found missing is answered 404 without asking PostgreSQL")
	fs.IntVar(&c.ReadConcurrency, "read-concurrency", postgres.DefaultPools.Reads, "cache-miss queries to PostgreSQL at once")
	fs.DurationVar(&c.ReadQueueTimeout, "read-queue-timeout", 100*time.Millisecond, "how long a cache miss waits for a query slot before answering 503")
	fs.IntVar(&c.ListConcurrency, "list-concurrency", postgres.DefaultPools.Lists, "list and count queries to PostgreSQL at once (GET /api/orders, /api/stats)")
	fs.DurationVar(&c.ListQueueTimeout, "list-queue-timeout", postgres.DefaultPools.ListWait, "how long a list or count query waits for a connection before answering 503")
	fs.BoolVar(&c.Demo, "demo", false, "run everything in-process: Kafka (kfake), generated orders, and memory storage unless DATABASE_URL is set")
	fs.Float64Var(&c.DemoRate, "demo-rate", 2, "generated orders per second in demo mode")
	fs.Float64Var(&c.DemoBroken, "demo-broken", 0.1, "share of broken messages in demo mode, 0 to 1")
	fs.IntVar(&c.DemoKafkaPort, "demo-kafka-port", 0, "127.0.0.1 port of the demo's in-process Kafka (0 picks a free one)")

	return fs
}

// applyEnv sets every flag not given on the command line from its
// environment variable, through the flag's own parser.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || f.Name == "probe" { // a probe is asked for on the command line only
			return
		}
		if v := getenv(kafkaauth.EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", kafkaauth.EnvName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// listFlag is a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = (*l)[:0]
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if c.Probe != "" { // orderd only probes: nothing else matters
		u, err := url.Parse(c.Probe)
		check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "-probe wants an http:// URL, e.g. http://127.0.0.1:8081/livez")
		return errors.Join(errs...)
	}
	check(c.Demo || len(c.KafkaBrokers) > 0, "KAFKA_BROKERS is required (or run with -demo)")
	check(c.Demo || c.DatabaseURL != "", "DATABASE_URL is required (or run with -demo)")
	check(!c.Demo || c.Kafka == kafkaauth.Config{},
		"-demo runs its own plaintext Kafka: unset KAFKA_TLS* and KAFKA_SASL*, which would be used against it")
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"),
			"DATABASE_URL must be a postgres:// URL")
		check(err != nil || !u.Query().Has("pool_max_conns"),
			"DATABASE_URL must not set pool_max_conns: orderd sizes a pool for each kind of work from WRITERS, READ_CONCURRENCY and LIST_CONCURRENCY")
	}
	_, err := zerolog.ParseLevel(c.LogLevel)
	check(err == nil && c.LogLevel != "", "LOG_LEVEL must be one of trace, debug, info, warn, error")
	check(c.KafkaTopic != "" && c.KafkaDLQTopic != "" && c.KafkaGroup != "", "KAFKA_TOPIC, KAFKA_DLQ_TOPIC and KAFKA_GROUP must not be empty")
	check(c.KafkaTopic != c.KafkaDLQTopic, "KAFKA_DLQ_TOPIC must differ from KAFKA_TOPIC")
	check(c.KafkaPartitions > 0, "KAFKA_PARTITIONS must be positive")
	check(c.KafkaHeartbeat > 0 && c.KafkaSession >= 3*c.KafkaHeartbeat,
		"KAFKA_SESSION must be at least three KAFKA_HEARTBEAT intervals")
	check(c.MaxMessageBytes > 0, "MAX_MESSAGE_BYTES must be positive")
	check(c.BatchSize > 0, "BATCH_SIZE must be positive")
	check(c.MaxInFlight >= c.BatchSize, "MAX_IN_FLIGHT (%d) must be at least BATCH_SIZE (%d), or batches never fill", c.MaxInFlight, c.BatchSize)
	check(c.MaxInFlightMB > 0, "MAX_IN_FLIGHT_MB must be positive")
	check(c.MaxPartitionAhead > 0, "MAX_PARTITION_AHEAD must be positive")
	check(c.Workers > 0 && c.Writers > 0, "WORKERS and WRITERS must be positive")
	check(c.BatchLinger > 0, "BATCH_LINGER must be positive")
	check(c.WriteTimeout > 0 && c.LivenessStall > c.WriteTimeout,
		"WRITE_TIMEOUT must be positive and LIVENESS_STALL longer, or a slow write would count as a stuck writer")
	check(c.DrainTimeout > 0 && c.ShutdownTimeout > c.DrainTimeout, "SHUTDOWN_TIMEOUT must be longer than DRAIN_TIMEOUT")
	check(c.ShutdownGrace >= 0, "SHUTDOWN_GRACE must not be negative")
	check(c.RetryMaxBackoff >= 100*time.Millisecond, "RETRY_MAX_BACKOFF must be at least 100ms")
	check(c.CacheSizeMB > 0, "CACHE_SIZE_MB must be positive")
	check(c.NegativeTTL >= 0, "NEGATIVE_TTL must not be negative")
	check(c.ReadConcurrency > 0 && c.ReadQueueTimeout > 0, "READ_CONCURRENCY and READ_QUEUE_TIMEOUT must be positive")
	check(c.ListConcurrency > 0 && c.ListQueueTimeout > 0, "LIST_CONCURRENCY and LIST_QUEUE_TIMEOUT must be positive")
	check(c.DemoRate > 0, "DEMO_RATE must be positive")
	check(c.DemoBroken >= 0 && c.DemoBroken <= 1, "DEMO_BROKEN must be between 0 and 1")
	check(c.AdminToken == "" || len(c.AdminToken) >= 16, "ADMIN_TOKEN must be at least 16 characters")
	check(c.PprofAddr == "" || c.PprofAddr != c.HTTPAddr, "PPROF_ADDR must differ from HTTP_ADDR")
	check(c.HTTPReadTimeout > 0 && c.HTTPWriteTimeout > 0 && c.HTTPIdleTimeout > 0,
		"HTTP_READ_TIMEOUT, HTTP_WRITE_TIMEOUT and HTTP_IDLE_TIMEOUT must be positive")
	check(c.HTTPMaxHeaderBytes >= 1<<10, "HTTP_MAX_HEADER_BYTES must be at least 1024")
	check(c.HTTPMaxBodyBytes > 0 && c.HTTPMaxConns > 0, "HTTP_MAX_BODY_BYTES and HTTP_MAX_CONNS must be positive")
	check(c.DemoKafkaPort >= 0 && c.DemoKafkaPort < 65536, "DEMO_KAFKA_PORT must be a port number")
	switch c.LogFormat {
	case "json", "console", "auto":
	default:
		check(false, "LOG_FORMAT must be json, console or auto")
	}
	return errors.Join(errs...)
}

// RedactedDatabaseURL is DATABASE_URL with its password masked, for logs.
func (c Config) RedactedDatabaseURL() string {
	if c.DatabaseURL == "" {
		return ""
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "(unparseable)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
