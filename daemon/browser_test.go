package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// screenshotDir is where the browser test leaves its screenshots, at the
// repository root and out of git (.gitignore).
const screenshotDir = "../testoutput/screenshots"

// xssName is markup an attacker might send as an order's text.
const xssName = `<img src=x onerror=alert(1)>`

// chromium finds Debian's Chromium (CHROMIUM overrides the path). Outside CI
// a missing browser skips the test; under CI=true it fails it.
func chromium(t *testing.T) string {
	t.Helper()
	testenv.SkipIfShort(t, "Chromium")
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if testenv.InCI() {
			t.Fatalf("browser test: Chromium not found at %s (apt-get install -y chromium, or set CHROMIUM)", path)
		}
		t.Skipf("browser test: Chromium not found at %s (apt-get install -y chromium); CI=true makes this a failure", path)
	}
	return path
}

// sharedBrowser is one headless Chromium for all the browser tests, started
// by the first of them and stopped by TestMain: a start costs a second or
// two of a test's time, and each test still gets a browser context of its
// own (no cookies, storage or cache from another).
var sharedBrowser struct {
	once sync.Once
	ctx  context.Context // the browser's first tab; tests open theirs beside it
	stop func()
	err  error
}

// startBrowser starts Chromium at path with the flags this machine needs
// (no sandbox as root, no background traffic to a closed network).
func startBrowser(path string) (context.Context, func(), error) {
	dir, err := os.MkdirTemp("", "orderd-test-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	stop := func() {
		cancel()
		cancelAlloc()
		os.RemoveAll(dir)
	}
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

// stopBrowser stops the shared Chromium, if a test started it.
func stopBrowser() {
	if sharedBrowser.stop != nil {
		sharedBrowser.stop()
	}
}

// browser opens a tab in a browser context of the test's own, in the shared
// headless Chromium, and returns the tab's context. Every JavaScript dialog
// the page opens is counted and dismissed.
func browser(t *testing.T) (context.Context, *atomic.Int32) {
	t.Helper()
	path := chromium(t)
	b := &sharedBrowser
	b.once.Do(func() { b.ctx, b.stop, b.err = startBrowser(path) })
	if b.err != nil {
		t.Fatalf("start chromium: %v", b.err)
	}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a tab in chromium: %v", err)
	}

	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			t.Logf("the page opened a %s dialog: %q", ev.Type, ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx, &dialogs
}

// step runs actions with a bounded time, failing the test with what was
// being done.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.TextContent(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitText waits until sel's text contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		s, err := chromedp.Run(sctx, chromedp.TextContent(sel, chromedp.AtLeast(0)))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; last: %q (%v)", sel, want, s, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(screenshotDir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// beyondDoublesOrder returns a valid order whose ids and amounts are
// integers beyond 2^53, where a JavaScript double can no longer hold every
// integer. They are chosen so that doubles get both sums wrong: rounded, the
// items' totals do not make the goods total, nor goods + delivery + fee the
// amount, though in int64 (as orderd checks them) both sums are exact.
func beyondDoublesOrder() order.Order {
	o := orderfake.New(23).Order()
	item := o.Items[0]
	item.Sale = 0
	o.Items = []order.Item{item, item}
	o.Items[0].ChrtID, o.Items[0].NmID = 9007199254740993, 9223372036854775807
	o.Items[1].ChrtID, o.Items[1].NmID = 9223372036854775806, 9007199254740995
	o.Items[0].Price, o.Items[0].TotalPrice = 9007199254740993, 9007199254740993
	o.Items[1].Price, o.Items[1].TotalPrice = 9007199254740997, 9007199254740997
	o.SmID = 9007199254740993
	o.Payment.Currency = "USD"
	o.Payment.GoodsTotal = 18014398509481990 // 9007199254740993 + 9007199254740997
	o.Payment.DeliveryCost = 9007199254740993
	o.Payment.CustomFee = 9007199254740995
	o.Payment.Amount = 36028797018963978 // goods + delivery + fee
	return o
}

// digitsOf keeps only the ASCII digits of s: "$360,287,970,189,639.78" has
// the digits of 36028797018963978 minor units in any Latin-digit locale.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// The web UI in a real browser: an order reads like an order, a missing one
// says so, markup in order data stays text, an operator can fix and redrive
// a dead letter from the DLQ tab, and int64 values beyond 2^53 are shown
// exactly, with no false alarm about the payment's sums.
func TestBrowser_UI(t *testing.T) {
	parallel(t, 1)
	ctx, dialogs := browser(t)
	brokers, _ := testenv.Kafka(t)
	d := startDaemon(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","),
		"DATABASE_URL":  testenv.Postgres(t),
		"ADMIN_TOKEN":   testAdminToken,
	})
	d.waitHealthy(t)

	xss := orderfake.New(21).Order()
	xss.Delivery.Name = xssName
	xss.Items[0].Name = xssName
	fixed := orderfake.New(22).Order()
	broken := fixed
	broken.Payment.Amount++ // amount != goods_total + delivery_cost + custom_fee
	big := beyondDoublesOrder()
	if err := order.Validate(&big); err != nil {
		t.Fatalf("the order with big integers is not valid: %v", err)
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers),
		&kgo.Record{Topic: "orders", Key: []byte("b563feb7b2b84b6test"), Value: orderfake.ModelJSON},
		&kgo.Record{Topic: "orders", Key: []byte(xss.OrderUID), Value: order.AppendJSON(nil, &xss)},
		&kgo.Record{Topic: "orders", Key: []byte(broken.OrderUID), Value: order.AppendJSON(nil, &broken)},
		&kgo.Record{Topic: "orders", Key: []byte(big.OrderUID), Value: order.AppendJSON(nil, &big)},
	)
	eventually(t, "three orders stored and one dead letter", func() bool {
		a, _ := d.get(t, "/order/b563feb7b2b84b6test")
		b, _ := d.get(t, "/order/"+xss.OrderUID)
		c, _ := d.get(t, "/order/"+big.OrderUID)
		return a == 200 && b == 200 && c == 200 && testenv.Sum(testenv.EndOffsets(t, brokers, "orders.dlq")) == 1
	})

	// The canonical order, by deep link.
	step(t, ctx, "open the canonical order",
		chromedp.Navigate(d.base+"/?id=b563feb7b2b84b6test"),
		chromedp.WaitVisible("#order"))
	waitText(t, ctx, "#order-uid", "b563feb7b2b84b6test")
	shown := text(t, ctx, "#order")
	for _, want := range []string{"WBILMTESTTRACK", "Test Testov", "Kiryat Mozkin", "test@gmail.com", "Mascaras", "Vivienne Sabo", "wbpay"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the canonical order's page lacks %q", want)
		}
	}
	if arithmetic := text(t, ctx, "#payment-arithmetic"); !strings.Contains(arithmetic, "18.17") {
		t.Errorf("payment arithmetic %q does not end in the amount, $18.17", arithmetic)
	}
	screenshot(t, ctx, "1-canonical-order.png")

	// An id nobody has.
	step(t, ctx, "look up an unknown order",
		chromedp.SetValue("#lookup-id", "no-such-order-42"),
		chromedp.Click("#lookup-submit"))
	waitText(t, ctx, "#lookup-status", "No order has “no-such-order-42” as its order_uid, track number or customer id")
	screenshot(t, ctx, "2-not-found.png")

	// Markup in order data is shown as text and never becomes an element.
	step(t, ctx, "open the order with markup in it",
		chromedp.Navigate(d.base+"/?id="+xss.OrderUID),
		chromedp.WaitVisible("#order"))
	waitText(t, ctx, "#order-uid", xss.OrderUID)
	if got := text(t, ctx, "#order-delivery"); !strings.Contains(got, xssName) {
		t.Errorf("delivery card %q does not show the name as text", got)
	}
	if got := text(t, ctx, "#order-items"); !strings.Contains(got, xssName) {
		t.Errorf("items table %q does not show the item name as text", got)
	}
	if n := evaluate[int](t, ctx, `document.querySelectorAll('img').length`); n != 0 {
		t.Errorf("%d img elements in the page: order text became markup", n)
	}
	time.Sleep(300 * time.Millisecond) // an onerror would have fired by now
	screenshot(t, ctx, "3-markup-as-text.png")

	// The DLQ tab: token, the broken order with its reason, fix, redrive.
	step(t, ctx, "open the DLQ tab and give the token",
		chromedp.Click("#tab-dlq"),
		chromedp.WaitVisible("#dlq-token"),
		chromedp.SendKeys("#dlq-token", testAdminToken),
		chromedp.Click("#dlq-token-submit"),
		chromedp.WaitVisible(".dlq-item"))
	if reason := text(t, ctx, ".dlq-item .dlq-reason"); reason != "invalid_order" {
		t.Fatalf("dead letter shown with reason %q, want invalid_order", reason)
	}
	screenshot(t, ctx, "4-dlq-list.png")
	step(t, ctx, "open the dead letter",
		chromedp.Click(".dlq-item"),
		chromedp.WaitVisible("#dlq-payload"))
	payload := evaluate[string](t, ctx, `document.querySelector('#dlq-payload').value`)
	wrong := fmt.Sprintf(`"amount": %d`, broken.Payment.Amount)
	if !strings.Contains(payload, wrong) {
		t.Fatalf("payload shown does not contain %s:\n%s", wrong, payload)
	}
	// Fix it as an operator would: edit the text, then redrive.
	step(t, ctx, "fix the payload",
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`{
			const t = document.querySelector('#dlq-payload');
			t.value = t.value.replace(%q, %q);
			t.dispatchEvent(new Event('input', {bubbles: true}));
		}`, wrong, fmt.Sprintf(`"amount": %d`, fixed.Payment.Amount))))
	step(t, ctx, "redrive it",
		chromedp.Click("#dlq-redrive"),
		chromedp.WaitVisible("#dlq-redrive-confirm"))
	screenshot(t, ctx, "5-dlq-confirm.png")
	step(t, ctx, "confirm", chromedp.Click("#dlq-redrive-confirm"))
	waitText(t, ctx, "#dlq-status", "Redriven")
	screenshot(t, ctx, "6-dlq-redriven.png")

	// The fixed order arrives and can be found.
	eventually(t, "the fixed order stored", func() bool {
		code, _ := d.get(t, "/order/"+fixed.OrderUID)
		return code == 200
	})
	step(t, ctx, "find the fixed order",
		chromedp.Click("#tab-lookup"),
		chromedp.SetValue("#lookup-id", fixed.OrderUID),
		chromedp.Click("#lookup-submit"))
	waitText(t, ctx, "#order-uid", fixed.OrderUID)
	screenshot(t, ctx, "7-fixed-order.png")

	// Integers beyond 2^53: every digit as stored, and the sums add up.
	step(t, ctx, "open the order with big integers",
		chromedp.SetValue("#lookup-id", big.OrderUID),
		chromedp.Click("#lookup-submit"))
	waitText(t, ctx, "#order-uid", big.OrderUID)
	items := text(t, ctx, "#order-items")
	for _, it := range big.Items {
		for _, want := range []string{fmt.Sprintf("chrt_id %d", it.ChrtID), fmt.Sprintf("nm_id %d", it.NmID)} {
			if !strings.Contains(items, want) {
				t.Errorf("items table lacks %q: %q", want, items)
			}
		}
	}
	totals := evaluate[[]string](t, ctx, `[...document.querySelectorAll('#order-items td.strong')].map((td) => td.textContent)`)
	if len(totals) != len(big.Items) {
		t.Fatalf("items table shows %d totals, want %d: %q", len(totals), len(big.Items), totals)
	}
	for i, it := range big.Items {
		if got, want := digitsOf(totals[i]), fmt.Sprint(it.TotalPrice); got != want {
			t.Errorf("item %d total shown as %q, digits %s, want %s", i, totals[i], got, want)
		}
	}
	if facts := text(t, ctx, "#order-facts"); !strings.Contains(facts, fmt.Sprint(big.SmID)) {
		t.Errorf("order facts %q lack sm_id %d", facts, big.SmID)
	}
	p := big.Payment
	receipt := evaluate[[]string](t, ctx, `[...document.querySelectorAll('#payment-receipt td')].map((td) => td.textContent)`)
	want := []int64{p.GoodsTotal, p.DeliveryCost, p.CustomFee, p.Amount}
	if len(receipt) != len(want) {
		t.Fatalf("receipt shows %q, want %d amounts", receipt, len(want))
	}
	for i, w := range want {
		if digitsOf(receipt[i]) != fmt.Sprint(w) {
			t.Errorf("receipt line %d shows %q, want the digits of %d", i, receipt[i], w)
		}
	}
	// The check shows "goods + delivery + fee = amount" with a tick, or ≠,
	// a cross and a warning.
	arithmetic := text(t, ctx, "#payment-arithmetic")
	if strings.Contains(arithmetic, "≠") || !strings.HasSuffix(digitsOf(arithmetic), fmt.Sprint(p.Amount)) {
		t.Errorf("payment arithmetic %q: want goods + delivery + fee = %d", arithmetic, p.Amount)
	}
	if check := text(t, ctx, "#payment-check"); check != "✓" {
		t.Errorf("payment check shows %q, want ✓", check)
	}
	if evaluate[bool](t, ctx, `!document.querySelector('#payment-warning').hidden`) {
		t.Errorf("false alarm: %q", text(t, ctx, "#payment-warning"))
	}
	screenshot(t, ctx, "8-big-integers.png")

	// "Copy raw JSON" copies the bytes orderd served, digits and all.
	_, served := d.get(t, "/order/"+big.OrderUID)
	step(t, ctx, "copy the raw JSON",
		chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText = (s) => { window.copied = s; return Promise.resolve(); }`),
		chromedp.Click("#copy-json"))
	waitText(t, ctx, "#copy-status", "Copied")
	if copied := evaluate[string](t, ctx, `window.copied`); copied != string(served) {
		t.Errorf("Copy raw JSON copied\n%s\nwant the bytes served\n%s", copied, served)
	}

	// The recent list shows the amount exactly too.
	sel := fmt.Sprintf(`.recent-item[data-uid=%q] .recent-amount`, big.OrderUID)
	step(t, ctx, "list the recent orders",
		chromedp.Click("#tab-recent"),
		chromedp.WaitVisible(sel))
	if got := text(t, ctx, sel); digitsOf(got) != fmt.Sprint(p.Amount) {
		t.Errorf("recent list shows the amount as %q, want the digits of %d", got, p.Amount)
	}
	screenshot(t, ctx, "9-recent-big-amount.png")

	if n := dialogs.Load(); n != 0 {
		t.Fatalf("the page opened %d JavaScript dialogs", n)
	}
}
