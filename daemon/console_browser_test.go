package daemon

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// waitJS waits until the JavaScript expression js is true in the page.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	eventually(t, what, func() bool {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](js))
		return err == nil && ok
	})
}

// The operator's console in a real browser: find an order by its track
// number or its customer, see the flow as charts once orders trickle in,
// and narrow the dead letters to one reason, each by a URL that can be
// shared.
func TestBrowser_Console(t *testing.T) {
	parallel(t, 1)
	ctx, dialogs := browser(t)
	brokers, _ := testenv.Kafka(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","),
		"DATABASE_URL":  testenv.Postgres(t),
		"ADMIN_TOKEN":   testAdminToken,
	})
	d.waitHealthy(t)
	client := testenv.KafkaClient(t, brokers)

	// Two orders of one customer, one of them with a track number of its
	// own; a broken order and text that is not JSON, for two reasons of
	// dead letters.
	gen := orderfake.New(1919)
	target := gen.Order()
	target.TrackNumber = "TRKCONSOLE19"
	for i := range target.Items {
		target.Items[i].TrackNumber = target.TrackNumber // validation holds them equal
	}
	target.CustomerID = "operator-test"
	sibling := gen.Order()
	sibling.CustomerID = "operator-test"
	broken := gen.Order()
	broken.Payment.Amount++
	testenv.Produce(t, client,
		&kgo.Record{Topic: "orders", Key: []byte(target.OrderUID), Value: order.AppendJSON(nil, &target)},
		&kgo.Record{Topic: "orders", Key: []byte(sibling.OrderUID), Value: order.AppendJSON(nil, &sibling)},
		&kgo.Record{Topic: "orders", Key: []byte(broken.OrderUID), Value: order.AppendJSON(nil, &broken)},
		&kgo.Record{Topic: "orders", Key: []byte("not-json"), Value: []byte("{this is not json")},
	)
	eventually(t, "two orders stored and two dead letters", func() bool {
		a, _ := d.get(t, "/order/"+target.OrderUID)
		b, _ := d.get(t, "/order/"+sibling.OrderUID)
		return a == 200 && b == 200 && testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 2
	})

	// Search by track number: the one order it names opens.
	step(t, ctx, "search by track number",
		chromedp.Navigate(d.base+"/"),
		chromedp.WaitVisible("#lookup-id"),
		chromedp.SetValue("#lookup-id", target.TrackNumber),
		chromedp.Click("#lookup-submit"))
	waitText(t, ctx, "#order-uid", target.OrderUID)
	waitText(t, ctx, "#lookup-status", "“TRKCONSOLE19” matched a track number (1 order)")
	// The tab bar scrolls sideways on a narrow screen, and has nothing to
	// scroll up and down: Chromium shows a vertical scrollbar (▲●▼) for a
	// single pixel of overflow. (Headless Chromium hides scrollbars, so
	// the overflow is what can be checked.)
	if h := evaluate[[]int](t, ctx, `(() => { const b = document.querySelector('.tabs'); const s = getComputedStyle(b);
		return [b.scrollHeight, b.clientHeight, s.overflowY === 'hidden' ? 1 : 0]; })()`); h[0] > h[1] && h[2] == 0 {
		t.Errorf("the tab bar's content is %dpx high in a %dpx box that scrolls: a vertical scrollbar shows", h[0], h[1])
	}
	if url := evaluate[string](t, ctx, `location.search`); url != "?q="+target.TrackNumber {
		t.Errorf("the search's URL is %q, want ?q=%s: it cannot be shared", url, target.TrackNumber)
	}
	screenshot(t, ctx, "10-search-track-number.png")

	// By customer: a list of two, each opening its card, from a shared URL.
	step(t, ctx, "search by customer from a shared URL",
		chromedp.Navigate(d.base+"/?q=operator-test"),
		chromedp.WaitVisible(`#search-groups [data-kind="customer_id"] .recent-item`))
	waitText(t, ctx, "#lookup-status", "matched a customer id (2 orders)")
	if n := evaluate[int](t, ctx, `document.querySelectorAll('#search-groups .recent-item').length`); n != 2 {
		t.Fatalf("%d orders listed for the customer, want 2", n)
	}
	step(t, ctx, "open the sibling from the list",
		chromedp.Click(fmt.Sprintf(`.recent-item[data-uid=%q]`, sibling.OrderUID)))
	waitText(t, ctx, "#order-uid", sibling.OrderUID)
	screenshot(t, ctx, "11-search-customer.png")

	// A trickle of orders and reads for a few of the history's samples:
	// the charts then have lines, and the current values are labelled.
	step(t, ctx, "open the charts", chromedp.Navigate(d.base+"/?view=flow"), chromedp.WaitVisible("#chart-stored"))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < 20; i++ {
		o := gen.Order()
		testenv.Produce(t, client, &kgo.Record{Topic: "orders", Key: []byte(o.OrderUID), Value: order.AppendJSON(nil, &o)})
		d.get(t, "/order/"+target.OrderUID)
		d.get(t, "/order/no-such-order")
		<-tick.C
	}
	waitJS(t, ctx, "the orders-stored chart draws a line above 0",
		`(() => { const p = document.querySelector('#chart-stored path.line'); const now = document.querySelector('#chart-stored .chart-now').textContent;
		  return p && /L/.test(p.getAttribute('d')) && /^now [1-9]/.test(now); })()`)
	waitJS(t, ctx, "the hit-ratio and latency charts have values",
		`['#chart-hits', '#chart-p99'].every((id) => /^now /.test(document.querySelector(id + ' .chart-now').textContent))`)
	for _, id := range []string{"stored", "lag", "dead", "hits", "p99"} {
		ticks := evaluate[[]string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('#chart-%s text.tick')].map((t) => t.textContent)`, id))
		if len(ticks) < 3 {
			t.Errorf("chart %s has axis labels %q; want values with units and times", id, ticks)
		}
	}
	if got := evaluate[string](t, ctx, `document.querySelector('#chart-hits text.tick').textContent`); got != "0%" {
		t.Errorf("the hit ratio's axis starts at %q, want 0%%", got)
	}
	screenshot(t, ctx, "12-flow-charts.png")

	// Dead letters: both reasons listed; the filter narrows to one, and
	// says so in the URL.
	step(t, ctx, "open the dead letters with the token",
		chromedp.Navigate(d.base+"/?view=dlq"),
		chromedp.WaitVisible("#dlq-token"),
		chromedp.SendKeys("#dlq-token", testAdminToken),
		chromedp.Click("#dlq-token-submit"),
		chromedp.WaitVisible(".dlq-item"))
	waitJS(t, ctx, "both dead letters listed", `document.querySelectorAll('.dlq-item').length === 2`)
	step(t, ctx, "filter by reason",
		chromedp.Evaluate[chromedp.Void](`{ const s = document.querySelector('#dlq-reason'); s.value = 'invalid_json'; s.dispatchEvent(new Event('change', { bubbles: true })); }`))
	waitJS(t, ctx, "only the invalid_json dead letter listed",
		`(() => { const r = [...document.querySelectorAll('.dlq-item .dlq-reason')].map((b) => b.textContent); return r.length === 1 && r[0] === 'invalid_json'; })()`)
	if url := evaluate[string](t, ctx, `location.search`); url != "?view=dlq&reason=invalid_json" {
		t.Errorf("the filter's URL is %q, want ?view=dlq&reason=invalid_json", url)
	}
	if src := text(t, ctx, ".dlq-item .dlq-source"); !strings.Contains(src, "from orders partition") || !strings.Contains(src, "offset") {
		t.Errorf("a dead letter's original place reads %q", src)
	}
	step(t, ctx, "open the record that is not JSON", chromedp.Click(".dlq-item"), chromedp.WaitVisible("#dlq-payload"))
	waitText(t, ctx, "#dlq-tree", "No tree: not JSON")
	if raw := evaluate[string](t, ctx, `document.querySelector('#dlq-payload').value`); raw != "{this is not json" {
		t.Errorf("raw payload %q", raw)
	}
	screenshot(t, ctx, "13-dlq-filtered.png")

	// The other reason by its URL: its payload as a tree.
	step(t, ctx, "open the invalid_order dead letters by URL",
		chromedp.Navigate(d.base+"/?view=dlq&reason=invalid_order"),
		chromedp.WaitVisible(".dlq-item"))
	waitJS(t, ctx, "only the invalid_order dead letter listed",
		`(() => { const r = [...document.querySelectorAll('.dlq-item .dlq-reason')].map((b) => b.textContent); return r.length === 1 && r[0] === 'invalid_order'; })()`)
	step(t, ctx, "open it", chromedp.Click(".dlq-item"), chromedp.WaitVisible("#dlq-tree .tree-branch"))
	tree := text(t, ctx, "#dlq-tree")
	for _, want := range []string{"order_uid: \"" + broken.OrderUID + "\"", fmt.Sprintf("amount: %d", broken.Payment.Amount), fmt.Sprintf("items: [%d items]", len(broken.Items))} {
		if !strings.Contains(tree, want) {
			t.Errorf("the payload's tree lacks %q: %q", want, tree)
		}
	}
	screenshot(t, ctx, "14-dlq-tree.png")

	// Redrive every record listed: the confirmation says what and how
	// many, and the broken order, sent as it was, comes back dead again.
	step(t, ctx, "ask to redrive all listed", chromedp.Click("#dlq-bulk"), chromedp.WaitVisible("#dlq-bulk-go"))
	waitText(t, ctx, "#dlq-bulk-text", "Publish the 1 record listed (reason invalid_order) to the orders topic again, each with its original payload?")
	waitText(t, ctx, "#dlq-bulk-text", "unchanged, it comes back to the dead-letter topic")
	screenshot(t, ctx, "15-dlq-bulk-confirm.png")
	step(t, ctx, "confirm", chromedp.Click("#dlq-bulk-go"))
	waitText(t, ctx, "#dlq-status", "Redriven")
	eventually(t, "the redriven order dead-lettered again", func() bool {
		return testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 3
	})

	if n := dialogs.Load(); n != 0 {
		t.Fatalf("the page opened %d JavaScript dialogs", n)
	}
}
