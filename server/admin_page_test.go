package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/server/admin"
	"github.com/orderd/orderd/storage/memory"
)

// dlqPage is GET /api/admin/dlq's answer.
type dlqPage struct {
	Records []admin.Record   `json:"records"`
	Next    string           `json:"next"`
	Partial bool             `json:"partial"`
	Trimmed []browse.Trimmed `json:"trimmed"`
}

func (f *fixture) listDLQ(t *testing.T, query string) (dlqPage, *fasthttp.RequestCtx) {
	t.Helper()
	ctx := f.admin("GET", "/api/admin/dlq?"+query, "Bearer "+adminToken, "")
	var page dlqPage
	if err := json.Unmarshal(ctx.Response.Body(), &page); err != nil || ctx.Response.StatusCode() != 200 {
		t.Fatalf("GET /api/admin/dlq?%s: %d %s", query, ctx.Response.StatusCode(), ctx.Response.Body())
	}
	return page, ctx
}

// letter is a dead letter on partition p appended at ts.
func letter(p int32, i int, reason dlq.Reason, ts time.Time) *kgo.Record {
	return &kgo.Record{
		Topic: "orders.dlq", Partition: p, Timestamp: ts, Key: []byte("k" + strconv.Itoa(i)),
		Value: []byte(`{"order_uid":"k` + strconv.Itoa(i) + `"}`),
		Headers: []kgo.RecordHeader{
			{Key: "trace", Value: []byte("t" + strconv.Itoa(i))},
			{Key: dlq.HeaderReason, Value: []byte(reason)},
			{Key: dlq.HeaderError, Value: []byte("payment.amount: must equal goods_total + delivery_cost + custom_fee")},
			{Key: dlq.HeaderSourceTopic, Value: []byte("orders")},
			{Key: dlq.HeaderSourcePartition, Value: []byte("0")},
			{Key: dlq.HeaderSourceOffset, Value: []byte(strconv.Itoa(i))},
			{Key: dlq.HeaderFailedAt, Value: []byte(ts.UTC().Format(time.RFC3339))},
		},
	}
}

// Following "next" lists every record once, newest first, and the last
// page has no "next".
func TestAdmin_ListFollowsNext(t *testing.T) {
	now := time.Now()
	var recs []*kgo.Record
	for i := range 7 {
		recs = append(recs, letter(int32(i%3), i, dlq.ReasonInvalidOrder, now.Add(time.Duration(i-7)*time.Minute)))
	}
	f, _ := adminFixtureWith(t, recs...)
	var got []string
	query := "limit=3"
	for pages := 1; ; pages++ {
		page, _ := f.listDLQ(t, query)
		for _, r := range page.Records {
			got = append(got, r.Key)
		}
		if page.Partial || page.Trimmed != nil {
			t.Errorf("page %d: partial %v, trimmed %v", pages, page.Partial, page.Trimmed)
		}
		if page.Next == "" {
			break
		}
		if pages == 5 {
			t.Fatalf("no end after %d pages", pages)
		}
		query = "limit=3&cursor=" + url.QueryEscape(page.Next)
		if url.QueryEscape(page.Next) != page.Next {
			t.Errorf("cursor %q needs escaping in a query string", page.Next)
		}
	}
	if fmt.Sprint(got) != "[k6 k5 k4 k3 k2 k1 k0]" {
		t.Fatalf("listed %v, want k6 to k0 once each", got)
	}

	// A listing says when each record was appended and how long its
	// payload is.
	page, ctx := f.listDLQ(t, "limit=1")
	r := page.Records[0]
	if r.AppendedAt == nil || r.AppendedAt.Sub(now.Add(-time.Minute)).Abs() > time.Millisecond || r.PayloadBytes != len(`{"order_uid":"k6"}`) {
		t.Errorf("listed %s", ctx.Response.Body())
	}
}

// pagedDLQ is a DeadLetters whose listing stopped at its time budget.
type pagedDLQ struct {
	noDLQ
	got browse.Filter
}

func (p *pagedDLQ) ListPage(_ context.Context, f browse.Filter) (browse.Page, error) {
	p.got = f
	return browse.Page{
		Records: []dlq.Record{{Partition: 1, Offset: 7, Reason: dlq.ReasonConflict, Value: []byte("{}"), ValueBytes: 2}},
		Next:    "1CURSOR", Partial: true, Trimmed: []browse.Trimmed{{Partition: 2, Oldest: 40}},
	}, nil
}

// A listing stopped by its budget says so, with the cursor to go on; the
// budget is well within the request's timeout.
func TestAdmin_ListSaysPartialAndTrimmed(t *testing.T) {
	f := newFixture(t, memory.New())
	d := &pagedDLQ{}
	f.deps.DLQ, f.deps.AdminToken = d, adminToken
	f.rebuild(t)
	cursor := "1" + base64.RawURLEncoding.EncodeToString([]byte("0:5:16")) // as dlq writes them
	page, ctx := f.listDLQ(t, "reason=conflict&cursor="+cursor)
	if !page.Partial || page.Next != "1CURSOR" || len(page.Records) != 1 || fmt.Sprint(page.Trimmed) != "[{2 40}]" {
		t.Errorf("answer %s", ctx.Response.Body())
	}
	if d.got.Cursor != cursor || d.got.Reason != dlq.ReasonConflict || d.got.Budget <= 0 || d.got.Budget > apiTimeout*3/4 {
		t.Errorf("listed with %+v", d.got)
	}
}

// Redriving 500 dead letters of a topic of 100,000 through the admin API
// ends well within the request's timeout: one pass per partition, one send.
func TestAdmin_Redrives500OfAHundredThousandInTime(t *testing.T) {
	testenv.SkipIfShort(t, "a hundred thousand records")
	const total, every = 100_000, 200 // one in 200 is invalid_order: 500
	now := time.Now().Add(-time.Hour)
	recs := make([]*kgo.Record, total)
	for i := range recs {
		reason := dlq.ReasonInvalidJSON
		if i%every == every-1 {
			reason = dlq.ReasonInvalidOrder
		}
		recs[i] = letter(int32(i%3), i, reason, now.Add(time.Duration(i)*time.Millisecond))
	}
	f, brokers := adminFixtureWith(t, recs...)

	start := time.Now()
	var refs []string
	query := "reason=invalid_order&limit=500"
	for range 20 {
		page, _ := f.listDLQ(t, query)
		for _, r := range page.Records {
			refs = append(refs, r.Ref)
		}
		if page.Next == "" || len(refs) == 500 {
			break
		}
		query = "reason=invalid_order&limit=" + strconv.Itoa(500-len(refs)) + "&cursor=" + page.Next
	}
	t.Logf("listed %d of reason invalid_order in %s", len(refs), time.Since(start))
	if len(refs) != 500 {
		t.Fatalf("listed %d records of reason invalid_order, want 500", len(refs))
	}

	start = time.Now()
	body, _ := json.Marshal(map[string]any{"records": refs})
	ctx := f.admin("POST", "/api/admin/dlq/redrive", "Bearer "+adminToken, string(body))
	took := time.Since(start)
	t.Logf("redrove 500 in %s", took)
	var out struct {
		Redriven []admin.Redriven `json:"redriven"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil || ctx.Response.StatusCode() != 200 || len(out.Redriven) != 500 {
		t.Fatalf("redrive: %d %.300s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if took > apiTimeout/2 {
		t.Errorf("redriving 500 took %s, want well within the %s timeout", took, apiTimeout)
	}
	for i, r := range out.Redriven {
		if r.From != refs[i] || r.Topic != "orders" {
			t.Fatalf("redriven[%d] = %+v, want from %s in the order named", i, r, refs[i])
		}
	}
	onOrders := testenv.ReadTopic(t, brokers, "orders")
	seen := map[string]bool{}
	for _, rec := range onOrders {
		h := map[string]string{}
		for _, kv := range rec.Headers {
			h[kv.Key] = string(kv.Value)
		}
		if h[dlq.HeaderReason] != "" || h[dlq.HeaderRedrivenFrom] == "" || h["trace"] != "t"+strings.TrimPrefix(string(rec.Key), "k") {
			t.Fatalf("redriven %s with headers %v", rec.Key, h)
		}
		seen[h[dlq.HeaderRedrivenFrom]] = true
	}
	if len(onOrders) != 500 || len(seen) != 500 {
		t.Fatalf("%d records on orders from %d dead letters, want 500 from 500", len(onOrders), len(seen))
	}
}
