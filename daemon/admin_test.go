package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

const testAdminToken = "admin-token-for-tests"

func (r *daemonRun) adminDo(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// An operator finds a broken order on the dead-letter topic through the
// admin API, fixes it and redrives it; the fixed order is stored and served.
func TestAdminRedriveLandsTheFixedOrder(t *testing.T) {
	parallel(t, 1)
	brokers, _ := testenv.Kafka(t)
	dbURL := testenv.Postgres(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","),
		"DATABASE_URL":  dbURL,
		"ADMIN_TOKEN":   testAdminToken,
	})
	d.waitHealthy(t)

	o := orderfake.New(11).Order()
	good := order.AppendJSON(nil, &o)
	o.Payment.Amount++ // the producer's bug: amount != goods + delivery + fee
	broken := order.AppendJSON(nil, &o)
	testenv.Produce(t, testenv.KafkaClient(t, brokers), &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: broken})
	eventually(t, "the broken order dead-lettered", func() bool {
		return testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 1
	})

	if code, body := d.adminDo(t, "GET", "/api/admin/dlq", "", nil); code != http.StatusUnauthorized || bytes.Contains(body, []byte(o.OrderUID)) {
		t.Fatalf("without the token: %d %s", code, body)
	}
	code, body := d.adminDo(t, "GET", "/api/admin/dlq?reason=invalid_order", testAdminToken, nil)
	var list struct {
		Records []struct {
			Ref    string `json:"ref"`
			Reason string `json:"reason"`
			Error  string `json:"error"`
			Key    string `json:"key"`
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list.Records) != 1 {
		t.Fatalf("list: %d %s", code, body)
	}
	rec := list.Records[0]
	if rec.Key != o.OrderUID || !strings.Contains(rec.Error, "payment.amount") {
		t.Fatalf("listed %+v", rec)
	}

	code, body = d.adminDo(t, "POST", "/api/admin/dlq/redrive", testAdminToken,
		map[string]any{"records": []string{rec.Ref}, "payload": string(good)})
	if code != 200 {
		t.Fatalf("redrive: %d %s", code, body)
	}
	eventually(t, "the fixed order served", func() bool {
		code, got := d.get(t, "/order/"+o.OrderUID)
		return code == 200 && bytes.Equal(got, good)
	})

	// Redriving the same record again is harmless: the second copy is a
	// duplicate that changes nothing.
	if code, body := d.adminDo(t, "POST", "/api/admin/dlq/redrive", testAdminToken,
		map[string]any{"records": []string{rec.Ref}, "payload": string(good)}); code != 200 {
		t.Fatalf("second redrive: %d %s", code, body)
	}
	eventually(t, "the second redrive consumed", func() bool {
		got := testenv.CommittedOffsets(t, brokers, "orderd", "orders")
		return testenv.Sum(got) == testenv.Sum(testenv.EndOffsets(t, brokers, "orders"))
	})
	if n := queryInt(t, dbURL, "SELECT count(*) FROM orders"); n != 1 {
		t.Fatalf("%d orders stored, want 1", n)
	}

	// The stats the UI shows count it all.
	code, body = d.get(t, "/api/stats")
	var st struct {
		OrdersStored int64 `json:"orders_stored"`
		DLQ          struct {
			Total    int64            `json:"total"`
			ByReason map[string]int64 `json:"by_reason"`
		} `json:"dlq"`
	}
	if err := json.Unmarshal(body, &st); err != nil || code != 200 || st.OrdersStored != 1 || st.DLQ.Total != 1 ||
		st.DLQ.ByReason["invalid_order"] != 1 {
		t.Fatalf("stats: %d %s", code, body)
	}
	code, body = d.get(t, "/api/orders")
	if code != 200 || !bytes.Contains(body, []byte(o.OrderUID)) {
		t.Fatalf("/api/orders: %d %s", code, body)
	}
}
