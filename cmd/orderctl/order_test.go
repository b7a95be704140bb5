package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/order"
)

// fakeOrderd stands in for orderd's GET /order/{order_uid} with orderd's
// answers, byte for byte: the stored order's JSON, a 400 for an id that
// cannot be an order_uid, a 404 for one it does not have, and a 503 for
// "down". (orderd's own server is tested in package server.)
type fakeOrderd struct {
	*httptest.Server
	model []byte // the canonical order, compact as orderd stores it

	mu      sync.Mutex
	lastRaw string // the escaped path of the last request
}

func newFakeOrderd(t *testing.T) *fakeOrderd {
	t.Helper()
	raw, err := os.ReadFile("../../order/orderfake/model.json")
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	f := &fakeOrderd{model: compact.Bytes()}
	answer := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /order/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.lastRaw = r.URL.EscapedPath()
		f.mu.Unlock()
		switch id := r.PathValue("id"); {
		case id == "down":
			w.Header().Set("Retry-After", "1")
			answer(w, http.StatusServiceUnavailable, `{"error":"order store unavailable; retry later"}`)
		case id == "proxied":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		case !order.ValidUID(id):
			answer(w, http.StatusBadRequest, `{"error":"invalid order id: an order_uid is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"}`)
		case id == "b563feb7b2b84b6test":
			answer(w, http.StatusOK, string(f.model))
		default:
			answer(w, http.StatusNotFound, `{"error":"order not found"}`)
		}
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func TestOrderGet_PrintsTheOrderIndented(t *testing.T) {
	srv := newFakeOrderd(t)
	var want bytes.Buffer
	if err := json.Indent(&want, srv.model, "", "  "); err != nil {
		t.Fatal(err)
	}
	want.WriteString("\n")
	f := func(env map[string]string, args ...string) {
		t.Helper()
		stdout, _, err := orderctl(t, env, args...)
		if err != nil || stdout != want.String() {
			t.Errorf("%v: %v\n%s", args, err, stdout)
		}
	}
	f(nil, "-url", srv.URL, "order", "get", "b563feb7b2b84b6test")
	f(map[string]string{"ORDERD_URL": srv.URL + "/"}, "order", "get", "b563feb7b2b84b6test") // a trailing slash is fine
}

func TestOrderGet_Errors(t *testing.T) {
	srv := newFakeOrderd(t)
	f := func(id string, want ...string) {
		t.Helper()
		stdout, _, err := orderctl(t, map[string]string{"ORDERD_URL": srv.URL}, "order", "get", "--", id)
		var usage *command.UsageError
		if err == nil || errors.As(err, &usage) || stdout != "" {
			t.Fatalf("order get %q: %v, stdout %q; want an error", id, err, stdout)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("order get %q: %q lacks %q", id, err, w)
			}
		}
	}
	f("no-such-order", `order "no-such-order": orderd answered 404 Not Found: order not found`)
	f("down", "503 Service Unavailable: order store unavailable; retry later")
	f("proxied", "502 Bad Gateway", "is -url / ORDERD_URL orderd?", "<html>")
	// Escaped: one path segment, answered as the invalid id it is.
	f("a/b c?d", "400 Bad Request: invalid order id")
	srv.mu.Lock()
	if srv.lastRaw != "/order/a%2Fb%20c%3Fd" {
		t.Errorf("requested %s, want the id escaped", srv.lastRaw)
	}
	srv.mu.Unlock()
	f("-starts-with-a-dash", "404 Not Found: order not found") // after --, an argument
}

func TestOrderGet_UnreachableOrderdNamesTheSetting(t *testing.T) {
	addr := closedPort(t)
	f := func(env map[string]string, args ...string) {
		t.Helper()
		_, _, err := orderctl(t, env, append(args, "order", "get", "b563feb7b2b84b6test")...)
		if err == nil || !strings.Contains(err.Error(), "cannot reach orderd at http://"+addr) ||
			!strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "check -url / ORDERD_URL") {
			t.Errorf("orderd down: %v", err)
		}
	}
	f(map[string]string{"ORDERD_URL": "http://" + addr})
	f(nil, "-url", "http://"+addr)

	_, _, err := orderctl(t, nil, "-url", "localhost:8081", "order", "get", "x")
	if err == nil || !strings.Contains(err.Error(), `-url / ORDERD_URL "localhost:8081" is not an HTTP address`) {
		t.Errorf("-url without a scheme: %v", err)
	}
}
