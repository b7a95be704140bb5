package config

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// NewLogger builds the root logger: JSON lines on stdout, or human console
// output when stdout is a terminal (LOG_FORMAT=auto) or LOG_FORMAT=console.
func NewLogger(c Config, stdout io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(c.LogLevel)
	if err != nil {
		return zerolog.Logger{}, err
	}
	out := stdout
	if c.LogFormat == "console" || (c.LogFormat == "auto" && isTerminal(stdout)) {
		out = zerolog.ConsoleWriter{Out: stdout, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// MarshalZerologObject logs the configuration with secrets masked.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str("http_addr", c.HTTPAddr).
		Str("log_level", c.LogLevel).
		Str("log_format", c.LogFormat).
		Str("pprof_addr", c.PprofAddr).
		Dur("http_read_timeout", c.HTTPReadTimeout).
		Dur("http_write_timeout", c.HTTPWriteTimeout).
		Dur("http_idle_timeout", c.HTTPIdleTimeout).
		Int("http_max_header_bytes", c.HTTPMaxHeaderBytes).
		Int("http_max_body_bytes", c.HTTPMaxBodyBytes).
		Int("http_max_conns", c.HTTPMaxConns).
		Strs("kafka_brokers", c.KafkaBrokers).
		Str("kafka_topic", c.KafkaTopic).
		Str("kafka_dlq_topic", c.KafkaDLQTopic).
		Str("kafka_group", c.KafkaGroup).
		Bool("kafka_create_topics", c.KafkaCreateTopics).
		Int("kafka_partitions", c.KafkaPartitions).
		Dur("kafka_heartbeat", c.KafkaHeartbeat).
		Dur("kafka_session", c.KafkaSession).
		Bool("kafka_tls", c.Kafka.TLS).
		Str("kafka_tls_ca_file", c.Kafka.CAFile).
		Str("kafka_tls_cert_file", c.Kafka.CertFile).
		Str("kafka_tls_key_file", c.Kafka.KeyFile).
		Str("kafka_tls_server_name", c.Kafka.ServerName).
		Bool("kafka_tls_insecure_skip_verify", c.Kafka.InsecureSkipVerify).
		Str("kafka_sasl_mechanism", c.Kafka.Mechanism).
		Str("kafka_sasl_username", c.Kafka.Username).
		Bool("kafka_sasl_password", c.Kafka.Password != ""). // never its value
		Str("kafka_sasl_password_file", c.Kafka.PasswordFile).
		Str("database_url", c.RedactedDatabaseURL()).
		Str("database_url_file", c.DatabaseURLFile).
		Str("admin_token_file", c.AdminTokenFile).
		Bool("admin_api", c.AdminToken != "").
		Int("max_message_bytes", c.MaxMessageBytes).
		Int("max_in_flight", c.MaxInFlight).
		Int("max_in_flight_mb", c.MaxInFlightMB).
		Int("max_partition_ahead", c.MaxPartitionAhead).
		Int("workers", c.Workers).
		Int("batch_size", c.BatchSize).
		Dur("batch_linger", c.BatchLinger).
		Int("writers", c.Writers).
		Dur("write_timeout", c.WriteTimeout).
		Dur("liveness_stall", c.LivenessStall).
		Dur("drain_timeout", c.DrainTimeout).
		Dur("shutdown_timeout", c.ShutdownTimeout).
		Dur("shutdown_grace", c.ShutdownGrace).
		Dur("retry_max_backoff", c.RetryMaxBackoff).
		Int("cache_size_mb", c.CacheSizeMB).
		Dur("negative_ttl", c.NegativeTTL).
		Int("read_concurrency", c.ReadConcurrency).
		Dur("read_queue_timeout", c.ReadQueueTimeout).
		Int("list_concurrency", c.ListConcurrency).
		Dur("list_queue_timeout", c.ListQueueTimeout).
		Bool("demo", c.Demo)
	if c.Demo {
		e.Float64("demo_rate", c.DemoRate).Float64("demo_broken", c.DemoBroken).Int("demo_kafka_port", c.DemoKafkaPort)
	}
}
