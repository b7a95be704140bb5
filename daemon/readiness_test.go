package daemon

import (
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage/follow"
)

// The connection of the listener for other replicas' commits is refused
// from the start (as at max_connections), while the pools' connections go
// through: the warm-up goes on without it and /readyz turns 200, /health
// names the fill component, and reads go through to PostgreSQL. Once the
// listener may connect it catches up by itself and the component heals.
func TestReadiness_DoesNotWaitForTheCommitListener(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	proxy.RefuseFirst([]byte("application_name\x00" + follow.ListenerName))
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": proxiedURL, "RETRY_MAX_BACKOFF": "500ms",
	})
	eventually(t, "/readyz 200 with the listener refused", func() bool {
		resp, err := httpClient.Get(d.base + "/readyz")
		if err != nil {
			return false // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	code, h := d.health(t)
	if code != http.StatusServiceUnavailable || !contains(h.Failing, "fill") || !strings.Contains(h.Components["fill"].Detail, "retrying") {
		t.Fatalf("/health %d, failing %v, fill %q: want 503 naming the listener", code, h.Failing, h.Components["fill"].Detail)
	}
	if m := d.metrics(t); m["orderd_fill_listening"] != 0 {
		t.Fatalf("orderd_fill_listening = %v with its connection refused", m["orderd_fill_listening"])
	}

	gen := orderfake.New(8)
	var recs []*kgo.Record
	for range 50 {
		o := gen.Order()
		recs = append(recs, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers), recs...)
	eventually(t, "50 orders stored and served", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 50
	})
	for _, r := range recs {
		if code, _ := d.get(t, "/order/"+string(r.Key)); code != http.StatusOK {
			t.Fatalf("GET /order/%s: %d", r.Key, code)
		}
	}

	proxy.Restore()
	d.waitHealthy(t)
	if m := d.metrics(t); m["orderd_fill_listening"] != 1 {
		t.Fatalf("orderd_fill_listening = %v once its connection is let through", m["orderd_fill_listening"])
	}
}
