package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/daemon/config"
	"github.com/orderd/orderd/daemon/telemetry"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/health"
	"github.com/orderd/orderd/server"
	"github.com/orderd/orderd/server/instrument"
	"github.com/orderd/orderd/storage"
)

// knownSettings is every environment variable orderd reads.
func knownSettings() map[string]bool {
	known := map[string]bool{}
	for _, name := range config.Settings() {
		known[name] = true
	}
	// OpenTelemetry's standard variables (tracing).
	for _, name := range telemetry.Settings() {
		known[name] = true
	}
	// The Go runtime's: the GC's soft memory limit (see memoryNeeds).
	known["GOMEMLIMIT"] = true
	return known
}

// secretValues are the settings that hold secrets, with a stand-in value
// for each. A deployment gives them as files (NAME_FILE); the tests write the
// stand-in into a file for orderd to read.
var secretValues = map[string]string{
	"DATABASE_URL":        "postgres://orderd:secret@postgres.invalid:5432/orderd?sslmode=verify-full",
	"ADMIN_TOKEN":         "0123456789abcdef0123456789abcdef",
	"KAFKA_SASL_PASSWORD": "secret",
}

// saslMechanisms are the values KAFKA_SASL_MECHANISM takes.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// checkSettings fails the test unless env (a container's environment) holds
// only settings orderd knows, with values orderd's own configuration loader
// (config.Load, which validates them as at start) accepts. Each file a
// *_FILE setting names is replaced by a stand-in the test writes: a secret's
// stand-in value, or a certificate and key for the KAFKA_TLS_* files. It
// returns the configuration orderd would run with.
func checkSettings(t *testing.T, where string, env map[string]string) config.Config {
	t.Helper()
	known := knownSettings()
	for name := range env {
		if !known[name] {
			t.Errorf("%s: %s is not a setting of orderd (config.Settings() and the pending ones); `orderd -h` lists them", where, name)
		}
	}
	if v, ok := env["KAFKA_SASL_MECHANISM"]; ok && v != "" && !slices.Contains(saslMechanisms, v) {
		t.Errorf("%s: KAFKA_SASL_MECHANISM=%q, want one of %v", where, v, saslMechanisms)
	}
	for _, name := range []string{"KAFKA_TLS", "KAFKA_TLS_INSECURE_SKIP_VERIFY"} {
		if v, ok := env[name]; ok {
			if _, err := strconv.ParseBool(v); err != nil {
				t.Errorf("%s: %s=%q, want true or false", where, name, v)
			}
		}
	}
	if v := env["KAFKA_TLS_INSECURE_SKIP_VERIFY"]; v != "" {
		if b, _ := strconv.ParseBool(v); b {
			t.Errorf("%s: KAFKA_TLS_INSECURE_SKIP_VERIFY=%s trusts any certificate: never in a deployment", where, v)
		}
	}

	dir := t.TempDir()
	cert, key := testCertificate(t)
	stand := map[string]string{}
	files := 0
	for name, value := range env {
		base, isFile := strings.CutSuffix(name, "_FILE")
		if !isFile || value == "" {
			stand[name] = value
			continue
		}
		content, isSecret := secretValues[base]
		switch {
		case isSecret:
		case name == "KAFKA_TLS_KEY_FILE":
			content = key
		default: // KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE
			content = cert
		}
		files++
		path := filepath.Join(dir, strconv.Itoa(files)+"-"+filepath.Base(value))
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		stand[name] = path
		// An orderd that does not read NAME_FILE yet gets the value itself.
		if isSecret && !slices.Contains(config.Settings(), name) {
			stand[base] = content
		}
	}
	cfg, err := config.Load(nil, func(name string) string { return stand[name] }, io.Discard)
	if err != nil {
		t.Fatalf("%s: orderd refuses this configuration: %v", where, err)
	}
	return cfg
}

// testCertificate returns a self-signed certificate and its key, PEM
// encoded: the stand-in for the KAFKA_TLS_* files.
func testCertificate(t *testing.T) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "deploy test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// defaults is orderd's configuration when nothing is set (with -demo, which
// needs neither Kafka nor PostgreSQL).
func defaults(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load([]string{"-demo"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// httpPort is the port of cfg's HTTP_ADDR.
func httpPort(t *testing.T, cfg config.Config) int {
	t.Helper()
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		t.Fatalf("HTTP_ADDR=%q: %v", cfg.HTTPAddr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 {
		t.Fatalf("HTTP_ADDR=%q: want a numeric port", cfg.HTTPAddr)
	}
	return n
}

// stopTime is how long orderd may take to stop after SIGTERM, at most:
// SHUTDOWN_GRACE of serving with /readyz at 503, then SHUTDOWN_TIMEOUT of
// draining. Whatever stops it (a kubelet, docker compose) must wait longer.
func stopTime(cfg config.Config) time.Duration { return cfg.ShutdownTimeout + cfg.ShutdownGrace }

// What orderd's memory comes to, from docs/PERFORMANCE.md: after the
// warm-up, RSS is 1.09-1.11x the cached JSON (the orders' JSON, at most
// CACHE_SIZE_MB), and during it at most 1.11x when the orders fit, 1.21x
// when they outnumber CACHE_SIZE_MB; 1.15 and 1.25 are counted. A full
// pipeline adds up to 2x MAX_IN_FLIGHT_MB on top (the bound counts what the
// messages hold; the collector lets the heap reach twice that); the
// runtime, sarama's buffers, connection pools and HTTP buffers take the
// rest, for which 64 MiB are counted.
const (
	warmRatio     = 1.15
	peakRatio     = 1.25
	inFlightRatio = 2
	runtimeMiB    = 64
)

// memoryNeeds is the memory in MiB orderd needs with cfg: at most once warm
// (what a request should reserve) and at its peak (what a limit must allow:
// the warm-up peak with a full pipeline, since the pipeline runs during the
// warm-up).
//
// Those are live memory. The Go GC lets garbage grow to the size of the live
// heap before it collects, and the cache is most of the heap, so under load
// garbage alone could take a replica past a limit set from them. A
// deployment sets GOMEMLIMIT, between the peak and the limit, so that the GC
// collects harder as the heap nears it instead.
func memoryNeeds(cfg config.Config) (warm, peak float64) {
	cache, inFlight := float64(cfg.CacheSizeMB), float64(cfg.MaxInFlightMB)
	return warmRatio*cache + inFlightRatio*inFlight + runtimeMiB,
		peakRatio*cache + inFlightRatio*inFlight + runtimeMiB
}

// goMemLimitMiB parses a GOMEMLIMIT value (bytes, or a number with a B,
// KiB, MiB or GiB suffix, as the Go runtime reads it) in MiB.
func goMemLimitMiB(v string) (float64, error) {
	units := []struct {
		suffix string
		mib    float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"B", 1.0 / (1 << 20)}, {"", 1.0 / (1 << 20)}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil {
				return 0, fmt.Errorf("GOMEMLIMIT=%q: %w", v, err)
			}
			return f * u.mib, nil
		}
	}
	return 0, fmt.Errorf("GOMEMLIMIT=%q: not a size", v)
}

// readyComponents are the components orderd's /readyz requires
// (daemon/http.go's server.Deps.Ready).
var readyComponents = []string{"warmup", "lifecycle"}

// orderd is orderd's real HTTP handler: server.NewServer, so every route
// server/routes.go registers, over fakes for what it reads.
type orderd struct {
	handler fasthttp.RequestHandler
	ready   []*health.Component
}

func newOrderd(t *testing.T) *orderd {
	t.Helper()
	reg := health.New()
	o := &orderd{}
	for _, name := range readyComponents {
		o.ready = append(o.ready, reg.Component(name))
	}
	// Kafka and PostgreSQL stay away throughout: a probe must not turn a
	// replica away (readiness) or restart it (liveness) for that, as its
	// cache still answers reads. So /health, which reports them, is no
	// probe path.
	reg.Component("kafka")
	reg.Component("store")
	h, err := server.NewServer(server.Deps{
		Orders:         noOrders{},
		List:           noOrders{},
		Stats:          noStats{},
		DLQ:            noDLQ{},
		Health:         reg,
		Ready:          readyComponents,
		Metrics:        instrument.NewMetrics(prometheus.NewRegistry()),
		MetricsHandler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("# no metrics in this test\n") },
		UI:             fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>orderd</title>")}},
		Log:            zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	o.handler = h
	return o
}

// warm reports every component /readyz requires as OK: the warm-up has
// finished and shutdown has not begun.
func (o *orderd) warm() {
	for _, c := range o.ready {
		c.OK()
	}
}

// get answers GET path with orderd's handler and returns the status.
func (o *orderd) get(path string) int {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI(path)
	o.handler(&ctx)
	return ctx.Response.StatusCode()
}

func ok(status int) bool { return status >= 200 && status < 300 }

// checkReadinessPath fails the test unless orderd answers GET path with a
// non-2xx while its cache warms up and a 2xx once it is warm: what a
// readiness or startup probe needs.
func checkReadinessPath(t *testing.T, where, path string) {
	t.Helper()
	o := newOrderd(t)
	if s := o.get(path); ok(s) {
		t.Errorf("%s: orderd answers GET %s with %d while the cache warms up; a readiness probe needs a path that waits for it (/readyz)", where, path, s)
	}
	o.warm()
	if s := o.get(path); !ok(s) {
		t.Errorf("%s: orderd answers GET %s with %d once warm; want 2xx (is it a route of server/routes.go? /readyz)", where, path, s)
	}
}

// checkLivenessPath fails the test unless orderd answers GET path with a 2xx
// while it warms up and after: a liveness probe must never restart orderd
// for warming up (or for Kafka or PostgreSQL being away).
func checkLivenessPath(t *testing.T, where, path string) {
	t.Helper()
	o := newOrderd(t)
	if s := o.get(path); !ok(s) {
		t.Errorf("%s: orderd answers GET %s with %d while the cache warms up; a liveness probe would restart it (use /livez)", where, path, s)
	}
	o.warm()
	if s := o.get(path); !ok(s) {
		t.Errorf("%s: orderd answers GET %s with %d; want 2xx (is it a route of server/routes.go? /livez)", where, path, s)
	}
}

// TestOrderdHandler_TellsProbePathsApart keeps the checks above honest: the
// handler over fakes answers unknown paths 404, /readyz 503 only while
// warming, /health 503 throughout (Kafka and PostgreSQL are away).
func TestOrderdHandler_TellsProbePathsApart(t *testing.T) {
	o := newOrderd(t)
	f := func(path string, want int) {
		t.Helper()
		if got := o.get(path); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
	f("/no-such-route", fasthttp.StatusNotFound)
	f("/healthz", fasthttp.StatusNotFound) // not a route of orderd's
	f("/readyz", fasthttp.StatusServiceUnavailable)
	f("/livez", fasthttp.StatusOK)
	o.warm()
	f("/readyz", fasthttp.StatusOK)
	f("/livez", fasthttp.StatusOK)
	f("/health", fasthttp.StatusServiceUnavailable)
	f("/metrics", fasthttp.StatusOK)
}

// The fakes behind the handler: nothing is stored.
type (
	noOrders struct{}
	noStats  struct{}
	noDLQ    struct{}
)

var errNoStore = errors.New("no store in this test")

func (noOrders) Get(context.Context, string) ([]byte, error) { return nil, storage.ErrNotFound }
func (noOrders) ListOrders(context.Context, int64, int) ([]storage.OrderSummary, error) {
	return nil, nil
}
func (noOrders) SearchOrders(context.Context, storage.OrderFilter, storage.SearchCursor, int) ([]storage.OrderSummary, error) {
	return nil, nil
}
func (noStats) Stats(context.Context) (server.Stats, error) { return server.Stats{}, errNoStore }
func (noDLQ) ListPage(context.Context, browse.Filter) (browse.Page, error) {
	return browse.Page{}, errNoStore
}
func (noDLQ) Get(context.Context, dlq.Ref) (dlq.Record, error) { return dlq.Record{}, errNoStore }
func (noDLQ) Redrive(context.Context, []dlq.Ref, []byte) ([]dlq.Redriven, error) {
	return nil, errNoStore
}
