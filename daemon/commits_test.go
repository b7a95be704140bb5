package daemon

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/internal/testenv"
)

// The broker refuses every offset commit for a while, as one missing the
// group ACL would: /health turns 503 naming the commits, the broker's error
// and the ACL to grant, while /livez and /readyz stay 200 (reads are fine)
// and nothing is committed. Once commits are allowed again the component
// heals by itself, the group's offsets reach the end of the topic, and
// every order is stored once.
func TestFault_CommitsRefusedThenAllowed(t *testing.T) {
	parallel(t, 1)
	brokers, cluster := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "RETRY_MAX_BACKOFF": "500ms",
	})
	d.waitHealthy(t)
	w := newWorkload(seedFor(t), 6_000, 0.02, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 300) // 20 s of orders: ingest goes on through the fault
	eventually(t, "1,000 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 1_000 })

	refused := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.GroupAuthorizationFailed, Count: -1})
	since := time.Now()
	before := testenv.CommittedOffsets(t, brokers, "orderd", "orders")
	var detail string
	eventually(t, "/health 503 naming the failing commits", func() bool {
		code, h := d.health(t)
		detail = h.Components["commits"].Detail
		return code == http.StatusServiceUnavailable && contains(h.Failing, "commits")
	})
	t.Logf("/health named the commits %s after the broker began refusing them: %s", time.Since(since).Round(100*time.Millisecond), detail)
	for _, want := range []string{"group orderd", "not authorized to access this group", "READ on the group"} {
		if !strings.Contains(detail, want) {
			t.Errorf("commits detail %q does not say %q", detail, want)
		}
	}
	for _, probe := range []string{"/livez", "/readyz"} {
		if code, body := d.get(t, probe); code != http.StatusOK {
			t.Errorf("GET %s while commits fail: %d %s, want 200", probe, code, body)
		}
	}
	stored := queryInt(t, dbURL, "SELECT count(*) FROM orders")
	eventually(t, "ingest going on while commits fail", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") > stored+500
	})
	if after := testenv.CommittedOffsets(t, brokers, "orderd", "orders"); testenv.Sum(after) != testenv.Sum(before) {
		t.Fatalf("committed offsets moved from %v to %v while the broker refused every commit", before, after)
	}

	refused.Remove()
	eventually(t, "the commits component heals", func() bool {
		_, h := d.health(t)
		return h.Components["commits"].Status == "ok"
	})
	<-produced
	w.verify(t, dbURL, brokers, d)
	if n := d.metrics(t)["orderd_kafka_commit_failures_total"]; n < 1 {
		t.Errorf("orderd_kafka_commit_failures_total = %v after commits were refused", n)
	}
}
