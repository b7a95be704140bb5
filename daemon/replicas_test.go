package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/internal/testenv"
)

// replicaEnv is two or more replicas' shared settings: one group, one
// database. NEGATIVE_TTL is an hour, so that only a commit announcement can
// end a "not found" within the test.
func replicaEnv(brokers []string, dbURL string) map[string]string {
	return map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL,
		"NEGATIVE_TTL": "1h", "KAFKA_SESSION": "3s", "KAFKA_HEARTBEAT": "300ms",
	}
}

// waitSplit waits until each replica's last claim holds its share of the
// partitions, so that both write.
func waitSplit(t *testing.T, partitions int, replicas ...*daemonRun) {
	t.Helper()
	eventually(t, "the replicas split the partitions", func() bool {
		for _, r := range replicas {
			if claimed(r) != partitions/len(replicas) {
				return false
			}
		}
		return true
	})
}

// claimed returns how many partitions r's last claim holds, from its log.
func claimed(r *daemonRun) int {
	var last struct {
		Claims map[string][]int32 `json:"claims"`
	}
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, `"partitions claimed"`) {
			_ = json.Unmarshal([]byte(line), &last)
		}
	}
	return len(last.Claims["orders"])
}

// waitCacheEntries waits until r's cache holds n orders.
func waitCacheEntries(t *testing.T, r *daemonRun, name string, n int) {
	t.Helper()
	eventually(t, name+" caches every order", func() bool { return r.metrics(t)["orderd_cache_entries"] >= float64(n) })
}

// Two replicas split the partitions. Each serves the other's orders from
// memory, and ids that got a 404 before their orders were produced turn 200
// at their commit, though the negative TTL is an hour.
func TestReplicas_ServeEachOthersOrdersFromMemory(t *testing.T) {
	parallel(t, 2)
	brokers, _ := testenv.KafkaWith(t, kfake.SeedTopics(4, "orders"))
	dbURL := testenv.Postgres(t)
	env := replicaEnv(brokers, dbURL)
	a, b := startDaemon(t, env), startDaemon(t, env)
	a.waitHealthy(t)
	b.waitHealthy(t)
	waitSplit(t, 4, a, b)

	w := newWorkload(seedFor(t), 2_000, 0, 0, 0)
	const early = 20 // asked for before they exist
	var asked []string
	for uid := range w.valid {
		if len(asked) == early {
			break
		}
		asked = append(asked, uid)
		for _, r := range []*daemonRun{a, b} {
			if code, body := r.get(t, "/order/"+uid); code != http.StatusNotFound {
				t.Fatalf("GET /order/%s before it was produced: %d %s", uid, code, body)
			}
		}
	}

	<-w.produceAll(t, brokers, 0)
	waitCacheEntries(t, a, "a", len(w.valid))
	waitCacheEntries(t, b, "b", len(w.valid))
	w.verify(t, dbURL, brokers, a, b) // every order served by both, the early ones included

	for name, r := range map[string]*daemonRun{"a": a, "b": b} {
		m := r.metrics(t)
		inserted, filled := m[`orderd_orders_stored_total{outcome="inserted"}`], m["orderd_fill_orders_total"]
		t.Logf("%s: inserted %v, filled %v from the other's commits, read through %v", name, inserted, filled, m["orderd_readthrough_queries_total"])
		if inserted == 0 || filled == 0 {
			t.Errorf("%s inserted %v and filled %v orders: both replicas should have written some", name, inserted, filled)
		}
		// Each order once: the other replica's batches are read by their
		// transaction, not by the sequence range they share with ours.
		if inserted+filled != float64(len(w.valid)) {
			t.Errorf("%s inserted %v and filled %v; want %d in all", name, inserted, filled, len(w.valid))
		}
		// The only queries are the early ids' first 404s.
		if got := m["orderd_readthrough_queries_total"]; got != early {
			t.Errorf("%s read %v orders through from PostgreSQL; want %d, the first 404 of each early id", name, got, early)
		}
		if m["orderd_fill_lag_seconds_count"] == 0 {
			t.Errorf("%s measured no commit-to-fill lag", name)
		}
	}
}

// One replica reaches PostgreSQL through a proxy, which is cut while the
// other goes on storing and then restored: its listener catches up, and it
// serves every order from memory.
func TestReplicas_ACutListenerCatchesUp(t *testing.T) {
	parallel(t, 2)
	brokers, _ := testenv.KafkaWith(t, kfake.SeedTopics(4, "orders"))
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	a := startDaemon(t, replicaEnv(brokers, dbURL))
	b := startDaemon(t, replicaEnv(brokers, proxiedURL))
	a.waitHealthy(t)
	b.waitHealthy(t)
	waitSplit(t, 4, a, b)

	proxy.Cut()
	eventually(t, "b's listener notices", func() bool { return b.metrics(t)["orderd_fill_listening"] == 0 })
	w := newWorkload(seedFor(t), 3_000, 0, 0, 0)
	produced := w.produceAll(t, brokers, 0)
	// a stores its partitions' share meanwhile; b's wait for PostgreSQL.
	eventually(t, "a stores orders while b is cut off", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 500
	})
	proxy.Restore()
	<-produced

	waitCacheEntries(t, b, "b", len(w.valid))
	w.verify(t, dbURL, brokers, a, b)
	m := b.metrics(t)
	t.Logf("b: %v catch-ups read %v orders; filled %v; read through %v", m["orderd_fill_catchups_total"],
		m["orderd_fill_catchup_orders_total"], m["orderd_fill_orders_total"], m["orderd_readthrough_queries_total"])
	if m["orderd_fill_catchups_total"] < 1 || m["orderd_fill_catchup_orders_total"] < 500 {
		t.Errorf("b caught up %v times, reading %v orders; want at least once, the 500 a stored while b was cut off",
			m["orderd_fill_catchups_total"], m["orderd_fill_catchup_orders_total"])
	}
	if got := m["orderd_readthrough_queries_total"]; got != 0 {
		t.Errorf("b read %v orders through from PostgreSQL; want 0", got)
	}
	if m[`orderd_retries_total{cause="fill"}`] < 1 {
		t.Errorf("no fill retry counted while b's listener was cut off")
	}
}
