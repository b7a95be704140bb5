// Package telemetry is orderd's OpenTelemetry tracing: the tracer
// provider and OTLP exporter set up from the standard OTEL_* variables, the
// tracers handed to the stages, the HTTP server and the PostgreSQL pools,
// and the counts of spans exported and dropped. It never imports the
// daemon or the server: they are handed what it makes.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderd/orderd/stages"
)

// settings are the OpenTelemetry variables orderd reads, the
// standard ones of every OpenTelemetry SDK. They are not flags: their names
// and meanings are OpenTelemetry's, shared with the services around orderd.
var settings = []struct{ name, usage string }{
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP collector base URL, e.g. http://jaeger:4318 (grpc: http://jaeger:4317); tracing is on only when this or the next is set"},
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTLP URL for traces only, used as given (http/protobuf: include /v1/traces); wins over the one above"},
	{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf (default), http/json or grpc; OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over it"},
	{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "as OTEL_EXPORTER_OTLP_PROTOCOL, for traces only"},
	{"OTEL_EXPORTER_OTLP_HEADERS", "headers sent to the collector, k=v,k2=v2 (e.g. an API key: keep it in a secret)"},
	{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "as OTEL_EXPORTER_OTLP_HEADERS, for traces only"},
	{"OTEL_EXPORTER_OTLP_TIMEOUT", "milliseconds one export may take (default 10000)"},
	{"OTEL_SERVICE_NAME", "service.name of the spans (default orderd)"},
	{"OTEL_RESOURCE_ATTRIBUTES", "more resource attributes, k=v,k2=v2 (e.g. deployment.environment.name=prod)"},
	{"OTEL_TRACES_SAMPLER", "always_on, always_off, traceidratio, parentbased_always_on (default), parentbased_always_off, parentbased_traceidratio"},
	{"OTEL_TRACES_SAMPLER_ARG", "the ratio of the traceidratio samplers, 0 to 1"},
	{"OTEL_BSP_SCHEDULE_DELAY", "milliseconds between exports of the span queue (default 5000)"},
	{"OTEL_BSP_EXPORT_TIMEOUT", "milliseconds an export of the queue may take (default 30000)"},
	{"OTEL_BSP_MAX_QUEUE_SIZE", "spans held for export (default 2048); beyond it new spans are dropped, never waited for"},
	{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "spans per export (default 512)"},
}

// Settings returns the OpenTelemetry environment variables orderd
// reads, for tools and tests that check a deployment sets only settings
// orderd knows.
func Settings() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.name
	}
	return names
}

// PrintUsage lists the tracing variables in orderd -h.
func PrintUsage(w io.Writer) {
	fmt.Fprintf(w, "\nTracing (OpenTelemetry, off unless an endpoint is set; the standard variables, environment only):\n")
	for _, s := range settings {
		fmt.Fprintf(w, "  %s\n    \t%s\n", s.name, s.usage)
	}
}

// Tracing is orderd's OpenTelemetry tracing: on when an OTLP endpoint is
// set, and then every consumed message, batch write, PostgreSQL call and
// traced HTTP request has a span. Off, there is no provider and no
// exporter: the stages and handlers get nil and test for it.
type Tracing struct {
	// provider is nil when tracing is off.
	provider *sdktrace.TracerProvider
	// owned says orderd built provider, and shuts it down; a provider a
	// test injected is only flushed.
	owned bool
	// endpoint and protocol are where spans go, for the log.
	endpoint, protocol string
	exporter           *countingExporter // nil unless orderd built it
}

// tracerProviderKey carries, in Run's context, a tracer provider that
// replaces the one OTEL_* describes: how tests trace into memory.
type tracerProviderKey struct{}

// WithTracerProvider returns ctx telling Run to trace into tp.
func WithTracerProvider(ctx context.Context, tp *sdktrace.TracerProvider) context.Context {
	return context.WithValue(ctx, tracerProviderKey{}, tp)
}

// New sets tracing up from the OTEL_* variables read through getenv,
// or from the provider ctx carries (WithTracerProvider).
//
// Only where spans go (the endpoint and protocol) decides whether tracing is
// on, so it is read here through getenv. Everything else (sampler, batch
// processor, resource, headers, timeout) the OpenTelemetry SDK and exporter
// read from the process environment themselves, as every OpenTelemetry SDK
// does, so they mean what they mean everywhere.
func New(ctx context.Context, getenv func(string) string, reg prometheus.Registerer, log zerolog.Logger) (*Tracing, error) {
	if tp, ok := ctx.Value(tracerProviderKey{}).(*sdktrace.TracerProvider); ok {
		return &Tracing{provider: tp, endpoint: "(injected)"}, nil
	}
	endpoint, protocol, err := otlpTarget(getenv)
	if err != nil || endpoint == "" {
		return &Tracing{}, err
	}
	var exp sdktrace.SpanExporter
	switch protocol {
	case "grpc":
		// Retries off: a span is not worth holding the queue for. While
		// the collector is down, each export fails at once and its spans
		// are dropped and counted.
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	case "http/protobuf", "http/json":
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(endpoint),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false})}
		if protocol == "http/json" {
			opts = append(opts, otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: create the OTLP exporter for %s: %w", endpoint, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("orderd")),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: after the default, so they win
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("tracing: OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	counting := newCountingExporter(exp, reg, log)
	// The batch processor never blocks a span's end: with its queue full
	// (OTEL_BSP_MAX_QUEUE_SIZE) a span is dropped, so a slow or absent
	// collector costs spans, never ingest.
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(counting.ending(sdktrace.NewBatchSpanProcessor(counting))),
		sdktrace.WithResource(res))
	return &Tracing{provider: tp, owned: true, endpoint: endpoint, protocol: protocol, exporter: counting}, nil
}

// otlpTarget is the OTLP traces endpoint and protocol OTEL_* name, or ""
// when none is set: tracing is off.
func otlpTarget(getenv func(string) string) (endpoint, protocol string, err error) {
	protocol = getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol == "" {
		protocol = "http/protobuf"
	}
	switch protocol {
	case "http/protobuf", "http/json", "grpc":
	default:
		return "", "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: orderd speaks http/protobuf, http/json and grpc", protocol)
	}
	endpoint = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") // used as given
	if endpoint == "" {
		if base := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); base != "" {
			endpoint = base
			if protocol != "grpc" { // the base URL of the signals' paths
				endpoint = strings.TrimSuffix(base, "/") + "/v1/traces"
			}
		}
	}
	if endpoint == "" {
		return "", protocol, nil
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT %q: want an http:// or https:// URL, e.g. http://jaeger:4318", endpoint)
	}
	return endpoint, protocol, nil
}

// Tracer is the tracer of orderd's own spans, nil when tracing is off.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.provider == nil {
		return nil
	}
	return t.provider.Tracer("github.com/orderd/orderd")
}

// Stages is the pipeline's tracing, nil when off.
func (t *Tracing) Stages(group string) *stages.Tracing {
	if tr := t.Tracer(); tr != nil {
		return &stages.Tracing{Tracer: tr, Group: group}
	}
	return nil
}

// Pgx traces the PostgreSQL pools' calls: otelpgx, with db.system.name
// postgresql and the statement, never the query's arguments (they are
// customers' data; otelpgx leaves them out unless WithIncludeQueryParameters).
// A call becomes a span only under a recording span: a batch write's, or a
// traced request's read-through. nil when tracing is off.
func (t *Tracing) Pgx() pgx.QueryTracer {
	if t == nil || t.provider == nil {
		return nil
	}
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(t.provider),
		otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()), // orderd's metrics are Prometheus'
		otelpgx.WithDisableConnectionDetailsInAttributes())
}

// Start says in log whether tracing is on and, when orderd exports the
// spans itself, silences the SDK's own printing of failed exports, which
// the exporter counts and logs once.
func (t *Tracing) Start(log zerolog.Logger) {
	if t == nil || t.provider == nil {
		log.Info().Msg("tracing off: set OTEL_EXPORTER_OTLP_ENDPOINT to export spans")
		return
	}
	if t.exporter != nil {
		// The SDK would print each failed export with the standard
		// logger; countingExporter counts them and logs the first.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	}
	log.Info().Str("endpoint", t.endpoint).Str("protocol", t.protocol).Msg("tracing on")
}

// Stop exports the spans still queued, within ctx, and shuts the provider
// down if orderd built it.
func (t *Tracing) Stop(ctx context.Context) error {
	if t == nil || t.provider == nil {
		return nil
	}
	var err error
	if t.owned {
		err = t.provider.Shutdown(ctx)
	} else {
		err = t.provider.ForceFlush(ctx)
	}
	if err != nil {
		return fmt.Errorf("flush spans within SHUTDOWN_TIMEOUT: %w", err)
	}
	return nil
}

// countingExporter counts the spans ended, those exported and those
// dropped because their export failed, and logs when exporting starts and
// stops failing. The batch processor drops spans on a full queue without
// telling: ended - exported - dropped is those in the queue or dropped so.
type countingExporter struct {
	sdktrace.SpanExporter
	log      zerolog.Logger
	ended    prometheus.Counter
	exported prometheus.Counter
	dropped  prometheus.Counter
	failing  atomic.Bool
}

// endingCounter counts the sampled spans that end, before its processor
// queues them for export.
type endingCounter struct {
	sdktrace.SpanProcessor
	ended prometheus.Counter
}

func (e *countingExporter) ending(p sdktrace.SpanProcessor) sdktrace.SpanProcessor {
	return &endingCounter{SpanProcessor: p, ended: e.ended}
}

func (p *endingCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		p.ended.Inc()
	}
	p.SpanProcessor.OnEnd(s)
}

func newCountingExporter(exp sdktrace.SpanExporter, reg prometheus.Registerer, log zerolog.Logger) *countingExporter {
	e := &countingExporter{SpanExporter: exp, log: log}
	e.ended = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_trace_spans_ended_total",
		Help: "Sampled spans ended and handed to the export queue (OTEL_BSP_MAX_QUEUE_SIZE; a full queue drops them).",
	})
	e.exported = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_trace_spans_exported_total",
		Help: "Spans the OTLP collector accepted.",
	})
	e.dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderd_trace_spans_dropped_total",
		Help: "Spans dropped because their export failed (collector down or slow); they are not retried.",
	})
	reg.MustRegister(e.ended, e.exported, e.dropped)
	return e
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.dropped.Add(float64(len(spans)))
		if !e.failing.Swap(true) {
			e.log.Warn().Err(err).Int("spans", len(spans)).
				Msg("exporting spans failed; spans are dropped until the collector answers (check OTEL_EXPORTER_OTLP_ENDPOINT)")
		}
		return err
	}
	e.exported.Add(float64(len(spans)))
	if e.failing.Swap(false) {
		e.log.Info().Msg("exporting spans again")
	}
	return nil
}
