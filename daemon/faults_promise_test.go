package daemon

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/internal/testenv"
)

// seedFor returns a seed for a randomized test, logged so that a failing
// run can be replayed.
func seedFor(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return seed
}

// SIGKILL at a random point of 50,000 orders, then a restart of the same
// binary: the next process takes over from the last commit, and nothing is
// lost or stored twice.
func TestFault_KillNineMidIngest(t *testing.T) {
	schedule(t, load{instances: 1, heavy: true})
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	env := map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL}
	seed := seedFor(t)
	w := newWorkload(seed, 50_000, 0.02, 0.01, 0.005)

	first := startProcess(t, env)
	first.waitHealthy(t)
	produced := w.produceAll(t, brokers, 0)
	killAt := 5_000 + rand.New(rand.NewPCG(seed, 1)).IntN(35_000)
	eventually(t, "orders stored up to the kill point", func() bool {
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= killAt
	})
	first.kill(t)
	killedAt := queryInt(t, dbURL, "SELECT count(*) FROM orders")
	if killedAt >= len(w.valid) {
		t.Fatalf("SIGKILL came after all %d valid orders were stored (%d stored): nothing was left to take over, so the test proved nothing; the kill point was %d",
			len(w.valid), killedAt, killAt)
	}

	second := startProcess(t, env)
	<-produced
	w.verify(t, dbURL, brokers, second.daemonRun)
	t.Logf("%d valid orders (%d copies), %d condemned; SIGKILL after %d stored", len(w.valid), w.dups, len(w.condemned), killedAt)
}

// The broker stops mid-ingest and comes back on the same port with its
// log: meanwhile /health names kafka and cached reads go on answering;
// afterwards orderd has reconnected by itself and everything arrived.
func TestFault_BrokerRestartMidIngest(t *testing.T) {
	parallel(t, 1)
	broker := testenv.RestartableKafka(t)
	dbURL := testenv.Postgres(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(broker.Addrs(), ","), "DATABASE_URL": dbURL, "RETRY_MAX_BACKOFF": "500ms",
	})
	d.waitHealthy(t)
	w := newWorkload(seedFor(t), 10_000, 0.02, 0.01, 0.005)
	produced := w.produceAll(t, broker.Addrs(), 2_000)
	eventually(t, "2,000 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 2_000 })
	cached := someStored(t, dbURL, 100)

	broker.Stop()
	eventually(t, "/health 503 naming kafka", func() bool {
		code, h := d.health(t)
		return code == http.StatusServiceUnavailable && contains(h.Failing, "kafka")
	})
	for _, uid := range cached {
		if code, _ := d.get(t, "/order/"+uid); code != http.StatusOK {
			t.Fatalf("GET /order/%s with the broker away: %d, want 200 from the cache", uid, code)
		}
	}
	broker.Start()
	<-produced
	w.verify(t, dbURL, broker.Addrs(), d)
}

// someStored returns up to n stored order_uids.
func someStored(t *testing.T, dbURL string, n int) []string {
	t.Helper()
	var out []string
	for uid := range storedDocs(t, dbURL) {
		if out = append(out, uid); len(out) == n {
			break
		}
	}
	return out
}

// The broker refuses JoinGroup, Fetch, OffsetCommit and the dead letters'
// Produce, each for a while: orderd says so on /health, retries, and loses
// nothing.
func TestFault_BrokerMisbehaving(t *testing.T) {
	parallel(t, 1)
	brokers, cluster := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	joins := cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.JoinGroup}, Count: -1})
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL, "RETRY_MAX_BACKOFF": "500ms",
	})
	eventually(t, "/health 503 naming kafka while JoinGroup fails", func() bool {
		code, h := d.health(t)
		return code == http.StatusServiceUnavailable && contains(h.Failing, "kafka") && joins.Hits() > 0
	})
	joins.Remove()
	d.waitHealthy(t)

	seed := seedFor(t)
	w := newWorkload(seed, 8_000, 0.03, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 2_000)
	// What orderd must report of each fault: a /health component whose
	// detail carries the broker's answer, or, for a fault sarama retries
	// by itself within a session (fetches), the consumer's log line.
	for _, f := range []struct {
		what  string
		fault kfake.Fault
		shows string // the /health component that must say so, if any
		says  string // what its detail, or else the log, must say
	}{
		{"fetches fail", kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: "orders", Err: kerr.UnknownServerError, Count: -1},
			"", `"message":"consumer error"`},
		{"offset commits fail", kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.UnknownServerError, Count: -1},
			"commits", "offset commits of group orderd failing"},
		{"dead letters are refused", kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "orders.dlq", Err: kerr.UnknownServerError, Count: -1},
			"dlq", "publishing dead letters to orders.dlq failing"},
	} {
		h := cluster.Fault(f.fault)
		if f.shows == "dlq" { // dead letters to refuse, whatever the workload is at
			w.sendBroken(t, brokers, seed+1, 20)
		}
		if f.shows != "" {
			var detail string
			eventually(t, "/health naming "+f.shows+" while "+f.what, func() bool {
				_, rep := d.health(t)
				detail = rep.Components[f.shows].Detail
				return contains(rep.Failing, f.shows)
			})
			if !strings.Contains(detail, f.says) || !strings.Contains(strings.ToLower(detail), "unknown") {
				t.Errorf("while %s, /health's %s says %q: want %q and the broker's answer", f.what, f.shows, detail, f.says)
			}
		} else {
			eventually(t, "the log saying so while "+f.what, func() bool { return strings.Contains(d.logs.String(), f.says) })
		}
		// The fault stands while the ingest goes on.
		eventually(t, f.what+" a few times", func() bool { return h.Hits() >= 6 })
		h.Remove()
		if f.shows != "" {
			eventually(t, f.shows+" healthy again once "+f.what+" no more", func() bool {
				_, rep := d.health(t)
				return !contains(rep.Failing, f.shows)
			})
		}
	}
	<-produced
	w.verify(t, dbURL, brokers, d)
}

// PostgreSQL's connections are cut while a batch's transaction is open,
// five times over: each cut batch is rolled back and saved again, once.
func TestFault_PostgresCutMidTransaction(t *testing.T) {
	schedule(t, load{instances: 1, heavy: true})
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": proxiedURL,
		"RETRY_MAX_BACKOFF": "200ms", "BATCH_SIZE": "500",
	})
	d.waitHealthy(t)
	w := newWorkload(seedFor(t), 20_000, 0.01, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 0)
	for range 5 {
		waitForOpenWrite(t, dbURL)
		proxy.Cut()
		time.Sleep(300 * time.Millisecond)
		proxy.Restore()
	}
	<-produced
	w.verify(t, dbURL, brokers, d)
	// The cuts must have failed writes, or the test proved nothing.
	if n := d.metrics(t)[`orderd_retries_total{cause="store"}`]; n < 1 {
		t.Fatalf(`orderd_retries_total{cause="store"} = %v after 5 cuts mid-transaction, want at least 1: no write failed`, n)
	} else {
		t.Logf("%v store retries after 5 cuts mid-transaction", n)
	}
}

// PostgreSQL vanishes mid-transaction without closing anything, twice:
// the connections stay open and silent, and not even a close gets through.
// Each transaction is abandoned after WRITE_TIMEOUT and retried on a new
// connection, and PostgreSQL ends the one left open
// (idle_in_transaction_session_timeout), releasing the row locks the retry
// waits for. Without the timeout the writers would wait for TCP to give up,
// a quarter of an hour later; without the session timeout the retries would
// wait for the abandoned transactions' locks as long.
func TestFault_PostgresVanishesMidTransaction(t *testing.T) {
	parallel(t, 1)
	// A write times out after 2 s and /livez must not call the writer
	// stuck, which it does after 6 s without progress: a write that hung
	// instead would be called stuck. With only a second between the two,
	// other tests' daemons on the same cores sometimes took it.
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": proxiedURL,
		"RETRY_MAX_BACKOFF": "200ms", "BATCH_SIZE": "500", "WRITE_TIMEOUT": "2s", "LIVENESS_STALL": "6s",
	})
	d.waitHealthy(t)
	w := newWorkload(seedFor(t), 10_000, 0.01, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 250) // 40 s of orders: writes to catch in each round
	for round := range 2 {
		waitForOpenWrite(t, dbURL)
		before := queryInt(t, dbURL, "SELECT count(*) FROM orders")
		proxy.Blackhole()
		vanished := time.Now()
		eventually(t, "/health: a write timed out", func() bool {
			_, h := d.health(t)
			for _, c := range h.Components {
				if strings.Contains(c.Detail, "saving orders") && strings.Contains(c.Detail, "timeout") {
					return true
				}
			}
			return false
		})
		eventually(t, "orders stored again", func() bool {
			if code, body := d.get(t, "/livez"); code != http.StatusOK {
				t.Fatalf("/livez %d %s while writes time out: a timed-out write is not a stuck loop", code, body)
			}
			return queryInt(t, dbURL, "SELECT count(*) FROM orders") > before+500
		})
		t.Logf("round %d: storing again %s after PostgreSQL vanished", round+1, time.Since(vanished).Round(100*time.Millisecond))
		// Healthy again before the next round, so that its timed-out
		// write on /health is its own, not this round's.
		d.waitHealthy(t)
	}
	<-produced
	w.verify(t, dbURL, brokers, d)
}

// waitForOpenWrite waits until one of orderd's transactions is inserting
// orders, seen from a connection of the test's own.
func waitForOpenWrite(t *testing.T, dbURL string) {
	t.Helper()
	ctx, conn, done := testConn(t, dbURL, waitFor)
	defer done()
	db := conn.Config().Database
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND query ILIKE '%INSERT INTO%'`, db).Scan(&n)
		if err != nil {
			t.Fatalf("watch for a write: %v", err)
		}
		if n > 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("no write in progress to cut")
		}
		time.Sleep(time.Millisecond)
	}
}

// PostgreSQL refuses every connection for 20 s mid-ingest: /health says
// so, cached reads go on, nothing is dead-lettered or committed past what
// is stored, and the backlog arrives afterwards.
func TestFault_PostgresRefusesConnectionsFor20s(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": proxiedURL,
		"RETRY_MAX_BACKOFF": "1s",
	})
	d.waitHealthy(t)
	w := newWorkload(seedFor(t), 10_000, 0.01, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 1_000)
	eventually(t, "2,000 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 2_000 })
	cached := someStored(t, dbURL, 100)

	proxy.Cut()
	down := time.Now()
	eventually(t, "/health 503 naming the store", func() bool {
		code, h := d.health(t)
		return code == http.StatusServiceUnavailable && contains(h.Failing, "store")
	})
	stored := queryInt(t, dbURL, "SELECT count(*) FROM orders")
	for time.Since(down) < 20*time.Second {
		for _, uid := range cached[:10] {
			if code, _ := d.get(t, "/order/"+uid); code != http.StatusOK {
				t.Fatalf("GET /order/%s with PostgreSQL refusing connections: %d, want 200 from the cache", uid, code)
			}
		}
		time.Sleep(time.Second) // the outage's length is what this test is about
	}
	if now := queryInt(t, dbURL, "SELECT count(*) FROM orders"); now != stored {
		t.Fatalf("%d orders stored while PostgreSQL refused orderd's connections", now-stored)
	}
	// Nothing is committed past what is stored: every valid order below
	// the group's committed offsets is in PostgreSQL, and most of the
	// workload is not committed yet.
	<-produced
	committed := testenv.CommittedOffsets(t, brokers, "orderd", "orders")
	have := storedDocs(t, dbURL)
	covered := 0
	for _, r := range w.recs {
		if r.Offset >= committed[r.Partition] {
			continue
		}
		covered++
		if doc, ok := w.valid[string(r.Key)]; ok && bytes.Equal(doc, r.Value) && have[string(r.Key)] == nil {
			t.Fatalf("order %s (partition %d, offset %d) is below the committed offset %d but not stored",
				r.Key, r.Partition, r.Offset, committed[r.Partition])
		}
	}
	if covered >= len(w.recs) {
		t.Fatalf("all %d messages committed after the outage began: the test did not cover it", covered)
	}
	t.Logf("after 20 s of refused connections: %d of %d messages committed, %d orders stored", covered, len(w.recs), stored)
	if dead := testenv.ReadTopic(t, brokers, "orders.dlq"); len(dead) > 0 {
		for _, r := range dead {
			if !w.condemned[string(r.Value)] {
				t.Fatalf("a valid order dead-lettered during the outage: %v", headers(r))
			}
		}
	}
	proxy.Restore()
	<-produced
	w.verify(t, dbURL, brokers, d)
}

// Three replicas in one group over six partitions share one database. One
// is SIGKILLed and one SIGTERMed mid-ingest, and both are started again:
// every order is stored once, and every replica serves every order.
func TestFault_ThreeReplicas(t *testing.T) {
	schedule(t, load{instances: 3, heavy: true})
	brokers, _ := testenv.KafkaWith(t, kfake.SeedTopics(6, "orders"))
	dbURL := testenv.Postgres(t)
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dbURL,
		// A killed member's partitions wait for its session to expire.
		"KAFKA_HEARTBEAT": "500ms", "KAFKA_SESSION": "3s",
	}
	var replicas []*process
	for range 3 {
		replicas = append(replicas, startProcess(t, env))
	}
	for _, r := range replicas {
		r.waitHealthy(t)
	}
	w := newWorkload(seedFor(t), 12_000, 0.01, 0.01, 0.005)
	produced := w.produceAll(t, brokers, 3_000)

	eventually(t, "3,000 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 3_000 })
	replicas[0].kill(t)
	eventually(t, "6,000 orders stored", func() bool { return queryInt(t, dbURL, "SELECT count(*) FROM orders") >= 6_000 })
	if err := replicas[1].stop(t); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	replicas[0], replicas[1] = startProcess(t, env), startProcess(t, env)
	<-produced
	w.verify(t, dbURL, brokers, replicas[0].daemonRun, replicas[1].daemonRun, replicas[2].daemonRun)
	for i, r := range replicas {
		m := r.metrics(t)
		t.Logf("replica %d: %v orders inserted, %v read through", i,
			m[`orderd_orders_stored_total{outcome="inserted"}`], m["orderd_readthrough_queries_total"])
	}
}
