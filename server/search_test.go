package server

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/memory"
)

// Each filter of GET /api/orders, alone and together, and paging a search
// by its cursor.
func TestListOrders_Search(t *testing.T) {
	f := newFixture(t, memory.New()) // holds the canonical order, of 2021-11-26
	gen := orderfake.New(19)
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var recs []storage.Record
	for i := range 30 {
		o := gen.Order()
		o.DateCreated = day.Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
		o.CustomerID = []string{"ann", "ben", "cat"}[i%3]
		o.TrackNumber = "TRK" + string(rune('A'+i%26))
		o.OrderUID = "s" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		recs = append(recs, storage.Record{Order: &o, JSON: order.AppendJSON(nil, &o)})
	}
	if _, err := f.store.SaveOrders(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Orders []struct {
			OrderUID    string    `json:"order_uid"`
			TrackNumber string    `json:"track_number"`
			CustomerID  string    `json:"customer_id"`
			DateCreated time.Time `json:"date_created"`
		} `json:"orders"`
		Next string `json:"next"`
	}
	get := func(query string) page {
		t.Helper()
		ctx := f.do(nil, "GET", "/api/orders?"+query)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("GET /api/orders?%s: %d %s", query, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		var p page
		if err := json.Unmarshal(ctx.Response.Body(), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	uidsOf := func(p page) string {
		var s []string
		for _, o := range p.Orders {
			s = append(s, o.OrderUID)
		}
		return strings.Join(s, " ")
	}
	check := func(query, want string) {
		t.Helper()
		if got := uidsOf(get(query)); got != want {
			t.Errorf("GET /api/orders?%s: %s; want %s", query, got, want)
		}
	}
	check("track_number=TRKC", "sbc sac")                       // exact, newest created first
	check("track_number=WBILMTESTTRACK", "b563feb7b2b84b6test") // the canonical order's
	check("track_number=TRK", "")                               // not a prefix
	check("customer_id=ben&track_number=TRKB", "sab")
	check("customer_id=ben&created_from=2026-05-01T03:00:00Z&created_to=2026-05-01T07:00:00Z", "sae") // ben's hours are 1, 4, 7...: 7 is out
	check("created_from=2026-05-01T03:00:00%2B01:00&created_to=2026-05-01T04:00:00%2B01:00", "sac")   // an offset: 02:00Z to 03:00Z
	check("created_from=2026-05-02T04:00:00Z", "sbd sbc")                                             // from is inclusive

	// Paging a window: each order once, in order.
	var seen []string
	query := "limit=4&created_from=2026-05-01T02:00:00Z&created_to=2026-05-01T20:00:00Z"
	next := ""
	for range 10 {
		q := query
		if next != "" {
			q += "&before=" + url.QueryEscape(next)
		}
		p := get(q)
		for _, o := range p.Orders {
			seen = append(seen, o.OrderUID)
		}
		if next = p.Next; next == "" {
			break
		}
	}
	if got := strings.Join(seen, " "); got != "sat sas sar saq sap sao san sam sal sak saj sai sah sag saf sae sad sac" {
		t.Errorf("paged window: %s", got)
	}
	first := get("limit=2&customer_id=cat")
	if first.Orders[0].CustomerID != "cat" || first.Orders[0].TrackNumber == "" || first.Next == "" {
		t.Errorf("search page %+v: want customer and track number in each summary, and a cursor", first)
	}
}

// An unknown parameter or a malformed value gets a 400 whose error names
// it.
func TestListOrders_RefusesBadQueries(t *testing.T) {
	f := newFixture(t, memory.New())
	check := func(query, names string) {
		t.Helper()
		ctx := f.do(nil, "GET", "/api/orders?"+query)
		if ctx.Response.StatusCode() != 400 {
			t.Fatalf("GET /api/orders?%s: %d %s; want 400", query, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		if msg := jsonError(t, ctx); !strings.Contains(msg, names) {
			t.Errorf("GET /api/orders?%s: error %q does not name %s", query, msg, names)
		}
	}
	check("track=X", `"track"`)                            // unknown: a misspelt filter
	check("track_number=A&track_number=B", "track_number") // twice
	check("track_number=", "track_number")                 // empty
	check("customer_id="+strings.Repeat("x", 300), "customer_id")
	check("created_from=yesterday", "created_from")
	check("created_to=2026-05-01", "created_to") // a date, not a date-time
	check("created_from=2026-05-02T00:00:00Z&created_to=2026-05-01T00:00:00Z", "created_to")
	check("created_from=2026-05-01T00:00:00Z&created_to=2026-05-01T00:00:00Z", "created_to") // an empty window
	check("limit=0", "limit")
	check("limit=101", "limit")
	check("before=x", "before")
	check("before=12_3", "before")               // a search's cursor on a list
	check("customer_id=ann&before=12", "before") // a list's cursor on a search
	check("customer_id=ann&before=12_x", "before")
	check("customer_id=ann&before=12_0", "before")
}
