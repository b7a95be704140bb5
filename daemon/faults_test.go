package daemon

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

func generated(gen *orderfake.Generator, n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		o := gen.Order()
		recs[i] = &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)}
	}
	return recs
}

// While PostgreSQL is down, orders are retried, never dead-lettered, their
// offsets are not committed and /health says what is wrong; once it is back
// everything arrives.
func TestPostgresOutageIsRetriedNotDeadLettered(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS":     strings.Join(brokers, ","),
		"DATABASE_URL":      proxiedURL,
		"RETRY_MAX_BACKOFF": "200ms",
	})
	d.waitHealthy(t)
	gen := orderfake.New(5)
	producer := testenv.KafkaClient(t, brokers)
	testenv.Produce(t, producer, generated(gen, 100)...)
	eventually(t, "100 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 100 })
	waitCommittedToEnd(t, brokers, "orderd", "orders")
	before := testenv.CommittedOffsets(t, brokers, "orderd", "orders")

	proxy.Cut()
	testenv.Produce(t, producer, generated(gen, 200)...)
	eventually(t, "/health 503 naming the writer", func() bool {
		code, h := d.health(t)
		return code == http.StatusServiceUnavailable && contains(h.Failing, "writer") &&
			strings.Contains(h.Components["writer"].Detail, "retrying")
	})
	// Several retries, and with them auto-commit ticks, while down.
	retries := d.metrics(t)[`orderd_retries_total{cause="store"}`]
	eventually(t, "ten more retries of the store", func() bool {
		return d.metrics(t)[`orderd_retries_total{cause="store"}`] >= retries+10
	})
	if got := testenv.CommittedOffsets(t, brokers, "orderd", "orders"); !equalOffsets(got, before) {
		t.Fatalf("offsets committed during the outage: %v, before it %v", got, before)
	}
	if dead := testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")); dead != 0 {
		t.Fatalf("%d orders dead-lettered because PostgreSQL was down", dead)
	}

	proxy.Restore()
	eventually(t, "300 orders stored after the outage", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 300
	})
	d.waitHealthy(t)
	waitCommittedToEnd(t, brokers, "orderd", "orders")
	if dead := testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")); dead != 0 {
		t.Fatalf("%d dead letters after the outage", dead)
	}
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for p, o := range a {
		if b[p] != o {
			return false
		}
	}
	return true
}

// With no broker reachable orderd keeps retrying, says so, and is
// unhealthy; when Kafka appears it starts consuming without a restart.
func TestKafkaUnreachableAtStartIsRetried(t *testing.T) {
	parallel(t, 1)
	dbURL := testenv.Postgres(t)
	addr := freeAddr(t)
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)

	d := startDaemon(t, map[string]string{"KAFKA_BROKERS": addr, "DATABASE_URL": dbURL, "RETRY_MAX_BACKOFF": "200ms"})
	eventually(t, "/health 503 naming kafka", func() bool {
		code, h := d.health(t)
		return code == http.StatusServiceUnavailable && contains(h.Failing, "kafka") &&
			strings.Contains(h.Components["kafka"].Detail, addr)
	})
	if !strings.Contains(d.logs.String(), "kafka unavailable; retrying") {
		t.Fatal("no log line saying Kafka is being retried")
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatalf("start kafka on %s: %v", addr, err)
	}
	t.Cleanup(cluster.Close)
	d.waitHealthy(t)
	testenv.Produce(t, testenv.KafkaClient(t, []string{addr}), &kgo.Record{Topic: "orders", Key: []byte("b563feb7b2b84b6test"), Value: orderfake.ModelJSON})
	eventually(t, "the canonical order served", func() bool {
		code, _ := d.get(t, "/order/b563feb7b2b84b6test")
		return code == http.StatusOK
	})
}

// A message the orders topic accepted goes to the dead-letter topic whole,
// even when it is larger than sarama's default producer limit (1,000,000
// bytes): the DLQ is sized from the orders topic.
func TestOversizedMessageIsDeadLetteredWhole(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS":     strings.Join(brokers, ","),
		"DATABASE_URL":      testenv.Postgres(t),
		"MAX_MESSAGE_BYTES": "65536",
	})
	d.waitHealthy(t)
	big := bytes.Repeat([]byte("x"), 1_040_000) // under the topic's 1,048,588 limit
	testenv.Produce(t, testenv.KafkaClient(t, brokers), &kgo.Record{Topic: "orders", Key: []byte("big"), Value: big})

	var dead []*kgo.Record
	eventually(t, "the oversized message on the DLQ", func() bool {
		if testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 0 {
			return false
		}
		dead = testenv.ReadTopic(t, brokers, "orders.dlq")
		return true
	})
	h := headers(dead[0])
	if !bytes.Equal(dead[0].Value, big) || h[dlq.HeaderReason] != string(dlq.ReasonTooLarge) ||
		!strings.Contains(h[dlq.HeaderError], "MAX_MESSAGE_BYTES") {
		t.Fatalf("dead letter: %d bytes, headers %v", len(dead[0].Value), h)
	}
	waitCommittedToEnd(t, brokers, "orderd", "orders")
}

// -demo runs everything in-process: the canonical order is served from
// memory, with a warning that nothing is kept.
func TestDemoMode(t *testing.T) {
	t.Parallel()
	pprofAddr := freeAddr(t)
	d := startDaemon(t, map[string]string{"DEMO_RATE": "50", "PPROF_ADDR": pprofAddr}, "-demo")
	d.waitHealthy(t)
	eventually(t, "the canonical order served", func() bool {
		code, body := d.get(t, "/order/b563feb7b2b84b6test")
		return code == http.StatusOK && bytes.Contains(body, []byte(`"track_number":"WBILMTESTTRACK"`))
	})
	if !strings.Contains(d.logs.String(), "orders are kept in memory only and are lost when orderd stops") {
		t.Fatal("demo mode did not say that nothing is kept")
	}

	// pprof is on its own address, and only there.
	resp, err := httpClient.Get("http://" + pprofAddr + "/debug/pprof/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof on PPROF_ADDR: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, _ := d.get(t, "/debug/pprof/"); code != http.StatusNotFound {
		t.Fatalf("pprof on the public port: %d, want 404", code)
	}
}
