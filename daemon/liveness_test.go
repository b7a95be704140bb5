package daemon

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// A batch with a few orders PostgreSQL refuses, on a PostgreSQL slow to
// answer: the writer bisects the batch, one slow transaction after
// another, for much longer than LIVENESS_STALL in all. Each attempt ends
// within WRITE_TIMEOUT, so the writer is making progress, and /livez must
// never answer 503: a restart would only meet the same batch again.
func TestLiveness_BisectingAPoisonBatchOnASlowPostgresIsProgress(t *testing.T) {
	parallel(t, 1)
	// Each attempt must end within WRITE_TIMEOUT on a PostgreSQL 50 ms
	// slower per answer. At 2 s, with other tests' daemons on the same
	// cores, the attempts outgrew it and the batch was never saved; 6 s
	// leaves them room, and the bisection as a whole still takes longer
	// than LIVENESS_STALL (checked below).
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, dbURL)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": proxiedURL,
		"WRITE_TIMEOUT": "6s", "LIVENESS_STALL": "8s", "BATCH_SIZE": "400", "BATCH_LINGER": "500ms", "WRITERS": "1",
	})
	d.waitHealthy(t)
	// A value PostgreSQL refuses, in 4 orders of 400: the schema probe's
	// known-good order passes, so the batch is bisected.
	execSQL(t, dbURL, `ALTER TABLE orders ADD CONSTRAINT refuse_marked CHECK (customer_id <> 'refused-by-check')`)
	proxy.Slow(50 * time.Millisecond)

	gen := orderfake.New(31)
	var recs []*kgo.Record
	for i := range 400 {
		o := gen.Order()
		if i%100 == 37 {
			o.CustomerID = "refused-by-check"
		}
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: 0, Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
	}
	producer := testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	began := time.Now()
	testenv.Produce(t, producer, recs...)

	eventually(t, "396 orders stored and 4 dead-lettered, /livez 200 throughout", func() bool {
		code, body := d.get(t, "/livez")
		if code != http.StatusOK {
			t.Fatalf("/livez %d %s while the writer bisects a batch on a slow PostgreSQL: progress is not stuck", code, body)
		}
		return queryInt(t, dbURL, "SELECT count(*) FROM orders") == 396 &&
			testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 4
	})
	took := time.Since(began)
	t.Logf("the batch of 400 with 4 refused orders took %s on a PostgreSQL 50 ms slower per answer (LIVENESS_STALL 8s)", took.Round(100*time.Millisecond))
	if took < 8*time.Second {
		t.Fatalf("the batch took only %s, less than LIVENESS_STALL: the test did not cover a long save", took)
	}
}
