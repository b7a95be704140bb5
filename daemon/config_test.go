package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/daemon/kafkaclient"
)

func TestLoadConfig_FlagsOverEnvironmentOverDefaults(t *testing.T) {
	env := map[string]string{
		"KAFKA_BROKERS": "k1:9092, k2:9092",
		"DATABASE_URL":  "postgres://u:secret@db:5432/orders",
		"BATCH_SIZE":    "500",
		"BATCH_LINGER":  "5ms",
		"HTTP_ADDR":     ":9000",
	}
	c, err := config.Load([]string{"-http-addr", ":7000"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if c.HTTPAddr != ":7000" {
		t.Errorf("HTTPAddr = %q: the flag must win over HTTP_ADDR", c.HTTPAddr)
	}
	if !reflect.DeepEqual(c.KafkaBrokers, []string{"k1:9092", "k2:9092"}) {
		t.Errorf("KafkaBrokers = %q", c.KafkaBrokers)
	}
	if c.BatchSize != 500 || c.BatchLinger != 5*time.Millisecond {
		t.Errorf("BatchSize %d, BatchLinger %s: the environment was not applied", c.BatchSize, c.BatchLinger)
	}
	if c.KafkaTopic != "orders" || c.KafkaDLQTopic != "orders.dlq" || c.KafkaGroup != "orderd" || c.LogLevel != "info" {
		t.Errorf("defaults: %+v", c)
	}
	if got := c.RedactedDatabaseURL(); strings.Contains(got, "secret") {
		t.Errorf("redacted URL %q shows the password", got)
	}
}

func TestLoadConfig_RejectsWhatCannotWork(t *testing.T) {
	f := func(env map[string]string, args []string, wantInError string) {
		t.Helper()
		_, err := config.Load(args, func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), wantInError) {
			t.Errorf("config.Load(%v, %v) = %v; want an error mentioning %q", env, args, err, wantInError)
		}
	}
	ok := map[string]string{"KAFKA_BROKERS": "k:9092", "DATABASE_URL": "postgres://db/orders"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for key, val := range ok {
			m[key] = val
		}
		m[k] = v
		return m
	}
	f(map[string]string{"DATABASE_URL": "postgres://db/o"}, nil, "KAFKA_BROKERS is required")              // production needs a broker
	f(map[string]string{"KAFKA_BROKERS": "k:9092"}, nil, "DATABASE_URL is required")                       // and a database
	f(with("DATABASE_URL", "mysql://db/o"), nil, "postgres:// URL")                                        // wrong database
	f(with("MAX_IN_FLIGHT", "10"), nil, "MAX_IN_FLIGHT (10) must be at least BATCH_SIZE")                  // batches could never fill
	f(with("BATCH_SIZE", "abc"), nil, `BATCH_SIZE="abc"`)                                                  // unparsable value names the variable
	f(with("KAFKA_DLQ_TOPIC", "orders"), nil, "must differ")                                               // DLQ into itself
	f(with("LOG_FORMAT", "xml"), nil, "LOG_FORMAT")                                                        // unknown format
	f(with("LOG_LEVEL", "loud"), nil, "LOG_LEVEL")                                                         // unknown level
	f(with("DEMO_BROKEN", "2"), nil, "DEMO_BROKEN")                                                        // a share above 1
	f(ok, []string{"-no-such-flag"}, "no-such-flag")                                                       // unknown flag
	f(ok, []string{"extra"}, "unexpected arguments")                                                       // stray argument
	f(with("SHUTDOWN_TIMEOUT", "1s"), []string{"-drain-timeout", "5s"}, "SHUTDOWN_TIMEOUT must be longer") // drain must fit
	f(map[string]string{"KAFKA_TLS": "true"}, []string{"-demo"}, "-demo runs its own plaintext Kafka")     // TLS against kfake
	f(map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, []string{"-demo"}, "unset KAFKA_TLS* and KAFKA_SASL*")
}

func TestLoadConfig_DemoNeedsNothing(t *testing.T) {
	c, err := config.Load([]string{"-demo"}, func(string) string { return "" }, io.Discard)
	if err != nil || !c.Demo {
		t.Fatalf("config.Load(-demo) = %+v, %v", c, err)
	}
}

func TestLoadConfig_HelpIsNotAnError(t *testing.T) {
	var usage strings.Builder
	_, err := config.Load([]string{"-h"}, func(string) string { return "" }, &usage)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(usage.String(), "-kafka-brokers") {
		t.Fatalf("-h: %v\n%s", err, usage.String())
	}
}

// orderd -probe URL exits 0 on a 2xx and 1 otherwise, and starts nothing.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/livez" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	run := func(args ...string) error {
		var out bytes.Buffer
		return Run(context.Background(), args, func(string) string { return "" }, &out, &out)
	}
	if err := run("-probe", srv.URL+"/livez"); err != nil {
		t.Fatalf("probe of a 200: %v", err)
	}
	if err := run("-probe", srv.URL+"/readyz"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("probe of a 503 = %v, want an error saying 503", err)
	}
	if err := run("-probe", "http://"+freeAddr(t)+"/livez"); err == nil {
		t.Fatal("probe of nothing listening succeeded")
	}
	if err := run("-probe", "not a url"); err == nil {
		t.Fatal("probe of a non-URL succeeded")
	}
	// A probe reads no secret: a container whose secret file is gone, or
	// that sets a secret twice, must still answer its HEALTHCHECK.
	err := Run(context.Background(), []string{"-probe", srv.URL + "/livez"}, func(k string) string {
		return map[string]string{"ADMIN_TOKEN": "t", "ADMIN_TOKEN_FILE": "/nonexistent/token"}[k]
	}, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("probe with unreadable secrets: %v", err)
	}
	// Nor a malformed setting: the HEALTHCHECK runs in the container's
	// environment, whatever it holds.
	err = Run(context.Background(), []string{"-probe", srv.URL + "/livez"}, func(k string) string {
		return map[string]string{"WRITERS": "many"}[k]
	}, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("probe with a malformed setting: %v", err)
	}
}

// Every secret can come from a file instead (NAME_FILE): a trailing newline
// is dropped, giving both is an error, and the value is never logged.
func TestLoadConfig_SecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{
		"KAFKA_BROKERS":            "k:9092",
		"DATABASE_URL_FILE":        write("db", "postgres://orderd:db-pw@db:5432/orderd\n"),
		"ADMIN_TOKEN_FILE":         write("token", "a-token-of-enough-length\n"),
		"KAFKA_SASL_MECHANISM":     "SCRAM-SHA-512",
		"KAFKA_SASL_USERNAME":      "orderd",
		"KAFKA_SASL_PASSWORD_FILE": write("kafka", "kafka-pw\r\n"),
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://orderd:db-pw@db:5432/orderd" || cfg.AdminToken != "a-token-of-enough-length" || cfg.Kafka.Password != "kafka-pw" {
		t.Fatalf("secrets read as %q, %q, %q", cfg.DatabaseURL, cfg.AdminToken, cfg.Kafka.Password)
	}
	var logged bytes.Buffer
	logger := zerolog.New(&logged)
	logger.Info().Object("config", cfg).Send()
	for _, secret := range []string{"db-pw", "a-token-of-enough-length", "kafka-pw"} {
		if strings.Contains(logged.String(), secret) {
			t.Fatalf("the logged configuration holds %q: %s", secret, logged.String())
		}
	}

	for _, both := range []string{"DATABASE_URL", "ADMIN_TOKEN", "KAFKA_SASL_PASSWORD"} {
		env2 := maps.Clone(env)
		env2[both] = "also given"
		if _, err := config.Load(nil, func(k string) string { return env2[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "not both") {
			t.Errorf("%s and %s_FILE both set: %v, want an error saying not both", both, both, err)
		}
	}
	env["ADMIN_TOKEN_FILE"] = dir + "/missing"
	if _, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard); err == nil || !strings.Contains(err.Error(), "ADMIN_TOKEN_FILE") {
		t.Errorf("a missing ADMIN_TOKEN_FILE: %v", err)
	}
}

// The start-up line names every setting, secrets masked, so that a log
// says what orderd ran with.
func TestConfigLog_NamesEverySetting(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("config", config.Config{AdminToken: "secret-token-0123456789", DatabaseURL: "postgres://u:pw@db/o", Demo: true}).Msg("")
	var line struct{ Config map[string]any }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	// Secrets appear as whether they are set; a setting whose value is
	// the other's file logs under its own name.
	masked := map[string]string{"admin_token": "admin_api", "kafka_sasl_password": "kafka_sasl_password"}
	for _, name := range config.Settings() {
		key := strings.ToLower(name)
		if m, ok := masked[key]; ok {
			key = m
		}
		if _, ok := line.Config[key]; !ok {
			t.Errorf("the start-up line has no %q (%s)", key, name)
		}
	}
	if strings.Contains(buf.String(), "secret-token") || strings.Contains(buf.String(), ":pw@") {
		t.Errorf("a secret in the start-up line: %s", buf.String())
	}
}

// A JoinGroup waits for the rebalance: the read must outlast it, and the
// rebalance must outlast a member's drain, whatever DRAIN_TIMEOUT is.
func TestConsumerConfig_AJoinOutlastsItsRebalance(t *testing.T) {
	for _, drain := range []time.Duration{time.Second, 5 * time.Second, 2 * time.Minute} {
		c := kafkaclient.ConsumerConfig(config.Config{DrainTimeout: drain, KafkaHeartbeat: time.Second, KafkaSession: 10 * time.Second})
		rebalance, read := c.Consumer.Group.Rebalance.Timeout, c.Net.ReadTimeout
		if rebalance <= drain || read <= rebalance {
			t.Errorf("DRAIN_TIMEOUT %s: rebalance %s, read %s; want drain < rebalance < read", drain, rebalance, read)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("DRAIN_TIMEOUT %s: %v", drain, err)
		}
	}
}
