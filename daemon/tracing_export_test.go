package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// Spans reach a real OTLP collector over each protocol orderd speaks, with
// the service name from OTEL_SERVICE_NAME, and those still queued when
// orderd stops are flushed before Run returns: the export interval here is
// ten minutes, so only the flush at shutdown sends anything.
func TestTracing_ExportsOverOTLPAndFlushesAtShutdown(t *testing.T) {
	// Alone in a process: t.Setenv, for the SDK reads OTEL_BSP_* from the
	// process environment.
	if !inOwnProcess(t, 1) {
		return
	}
	f := func(protocol string) {
		t.Helper()
		brokers, _ := testenv.Kafka(t)
		dbURL := testenv.Postgres(t)
		collector := &otlpCollector{}
		endpoint := collector.serve(t, protocol)
		t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
		t.Setenv("OTEL_SERVICE_NAME", "orderd-under-test")
		d := startDaemon(t, map[string]string{
			"KAFKA_BROKERS":               strings.Join(brokers, ","),
			"DATABASE_URL":                dbURL,
			"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
			"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
		})
		d.waitHealthy(t)
		o := orderfake.New(7).Order()
		testenv.Produce(t, testenv.KafkaClient(t, brokers), &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
		waitCommittedToEnd(t, brokers, "orderd", "orders") // its consumer span has ended
		if n := collector.count(); n != 0 {
			t.Fatalf("%s: %d spans exported before shutdown; the test wants them queued", protocol, n)
		}
		if err := d.stop(t); err != nil {
			t.Fatalf("%s: orderd stopped with %v", protocol, err)
		}
		names, services := collector.received()
		if !slices.Contains(names, "process orders") || !slices.Contains(names, "write orders") {
			t.Errorf("%s: the collector received %v; want the message's and the batch's spans, flushed at shutdown", protocol, names)
		}
		if len(services) != 1 || services[0] != "orderd-under-test" {
			t.Errorf("%s: service.name %v, want OTEL_SERVICE_NAME's", protocol, services)
		}
	}
	f("http/protobuf")
	f("grpc")
}

// otlpCollector receives OTLP trace exports, over HTTP or gRPC.
type otlpCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu       sync.Mutex
	names    []string
	services []string
}

// serve starts the collector for protocol and returns its endpoint.
func (c *otlpCollector) serve(t *testing.T, protocol string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if protocol == "grpc" {
		srv := grpc.NewServer()
		collectortrace.RegisterTraceServiceServer(srv, c)
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(srv.Stop)
		return "http://" + ln.Addr().String()
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req collectortrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		c.add(&req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func (c *otlpCollector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.add(req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *otlpCollector) add(req *collectortrace.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" && !slices.Contains(c.services, kv.GetValue().GetStringValue()) {
				c.services = append(c.services, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.names = append(c.names, s.Name)
			}
		}
	}
}

func (c *otlpCollector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.names)
}

func (c *otlpCollector) received() (names, services []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.names), slices.Clone(c.services)
}
