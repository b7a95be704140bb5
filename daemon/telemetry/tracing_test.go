package telemetry

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// With no endpoint set, tracing is off: no exporter, no provider, and the
// stages and handlers get nil. An endpoint turns it on.
func TestTracing_OffWithoutEndpoint(t *testing.T) {
	f := func(env map[string]string, on bool) {
		t.Helper()
		tr, err := New(context.Background(), func(k string) string { return env[k] }, prometheus.NewRegistry(), zerolog.Nop())
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		if got := tr.exporter != nil; got != on {
			t.Errorf("%v: exporter created %v, want %v", env, got, on)
		}
		if got := tr.Tracer() != nil || tr.Stages("g") != nil || tr.Pgx() != nil; got != on {
			t.Errorf("%v: tracer handed out %v, want %v", env, got, on)
		}
		if tr.provider != nil {
			_ = tr.provider.Shutdown(context.Background())
		}
	}
	f(nil, false)
	f(map[string]string{"OTEL_SERVICE_NAME": "orderd", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false) // no endpoint
	f(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true)
	f(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true)
	f(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true)
}

// Bad tracing settings stop orderd at start, saying which.
func TestTracing_RefusesBadSettings(t *testing.T) {
	f := func(env map[string]string, want string) {
		t.Helper()
		_, err := New(context.Background(), func(k string) string { return env[k] }, prometheus.NewRegistry(), zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one naming %s", env, err, want)
		}
	}
	f(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, "OTEL_EXPORTER_OTLP_PROTOCOL")
	f(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "jaeger:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT")
}
