package main

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
)

// orderctl runs the command line args with env as the environment, and
// returns what it printed and its error.
func orderctl(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut strings.Builder
	err = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// closedPort returns a 127.0.0.1 address nothing listens on: connecting is
// refused at once.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRun_HelpForEveryCommand(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		stdout, stderr, err := orderctl(t, nil, args...)
		if err != nil || stderr != "" {
			t.Fatalf("%v: err %v, stderr %q; want help on stdout only", args, err, stderr)
		}
		if !strings.Contains(stdout, "Usage:\n  orderctl [global flags] "+want) {
			t.Errorf("%v: help without the usage %q:\n%s", args, want, stdout)
		}
	}
	f("COMMAND", "-h")
	f("COMMAND", "-help")
	f("dlq ls", "dlq", "-h")
	f("dlq ls", "dlq", "ls", "-h")
	f("dlq show", "dlq", "show", "-h")
	f("dlq redrive", "dlq", "redrive", "-h")
	f("order get", "order", "-h")
	f("order get", "order", "get", "-h")
	f("dlq ls", "-brokers", closedPort(t), "dlq", "ls", "-reason", "conflict", "-h") // help, without touching Kafka

	// ls says how to page, and what the last -json line is.
	stdout, _, _ := orderctl(t, nil, "dlq", "ls", "-h")
	for _, want := range []string{"[-cursor CURSOR]", "-cursor CURSOR", "continue with -cursor", "the same -reason and -since",
		`{"next":"CURSOR"}`, `"partial":true`, "payload_bytes", "payload_preview", "appended_at", "Kafka timestamp", "trimmed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dlq ls -h lacks %q", want)
		}
	}

	// Leaves show their flags and examples; redrive says why repeating is safe.
	stdout, _, _ = orderctl(t, nil, "dlq", "redrive", "-h")
	for _, want := range []string{"-payload-file FILE", "-dry-run", "(default 100)", "Examples:\n",
		"Redriving the same record twice does no harm", "dead-lettered again, as conflict",
		"truncated to fit", "skipped orders.dlq", "exit status 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dlq redrive -h lacks %q", want)
		}
	}
}

// A usage error has already been reported with the usage when run returns
// it; main exits with status 2 for it.
func TestRun_UsageErrorsAreReportedAndExitTwo(t *testing.T) {
	f := func(wantStderr string, args ...string) {
		t.Helper()
		stdout, stderr, err := orderctl(t, nil, args...)
		var usage *command.UsageError
		if !errors.As(err, &usage) {
			t.Fatalf("%v: err %v (%T), want a usage error", args, err, err)
		}
		if stdout != "" || !strings.Contains(stderr, wantStderr) || !strings.Contains(stderr, "Usage:") {
			t.Errorf("%v: stdout %q, stderr %q; want %q and the usage on stderr", args, stdout, stderr, wantStderr)
		}
	}
	f("Commands:")                                       // no command: the overview
	f(`orderctl: unknown command "frob"`, "frob")        // unknown command
	f("flag provided but not defined: -bogus", "-bogus") // unknown global flag
	f("dlq show PARTITION:OFFSET", "dlq")                // no dlq command: the dlq overview
	f(`orderctl dlq: unknown command "rm"`, "dlq", "rm")
	f("flag provided but not defined: -x", "dlq", "ls", "-x")
	f(`unexpected argument "0:1"`, "dlq", "ls", "0:1")
	f("-limit must be at least 1", "dlq", "ls", "-limit", "0")
	f("-since must not be negative", "dlq", "ls", "-since", "-1h")
	f(`unknown reason "bogus"; want one of invalid_json, invalid_order, too_large, conflict, internal_error`, "dlq", "ls", "-reason", "bogus")
	f("want one PARTITION:OFFSET, got 0", "dlq", "show")
	f("want one PARTITION:OFFSET, got 2", "dlq", "show", "0:1", "0:2")
	f(`invalid record reference "1-5": want PARTITION:OFFSET, e.g. 0:42`, "dlq", "show", "1-5")
	f("say which dead letters", "dlq", "redrive")
	f("not both", "dlq", "redrive", "-reason", "conflict", "1:5")
	f("-limit applies to -reason only", "dlq", "redrive", "-limit", "5", "1:5")
	f("-payload-file replaces the payload of exactly one dead letter", "dlq", "redrive", "-payload-file", "x.json", "1:5", "2:6")
	f("-payload-file replaces the payload of exactly one dead letter", "dlq", "redrive", "-payload-file", "x.json", "-reason", "conflict")
	f(`invalid record reference "-1:5"`, "dlq", "redrive", "--", "-1:5")
	f(`unknown command "put"`, "order", "put", "x")
	f("want one ORDER_UID, got 0", "order", "get")
	f("-timeout / ORDERCTL_TIMEOUT must be positive", "-timeout", "0s", "dlq", "ls")
	f("-brokers / KAFKA_BROKERS names no broker", "-brokers", " , ", "dlq", "ls")

	// The reference error stays inspectable through the usage error.
	var refErr *dlq.RefError
	if _, _, err := orderctl(t, nil, "dlq", "show", "x"); !errors.As(err, &refErr) || refErr.Input != "x" {
		t.Errorf("dlq show x: %v, want a *dlq.RefError", err)
	}
}

func TestRun_EnvironmentFillsWhatFlagsLeaveOut(t *testing.T) {
	// A bad environment value names the variable; it is no usage error.
	_, _, err := orderctl(t, map[string]string{"ORDERCTL_TIMEOUT": "soon"}, "dlq", "ls")
	var usage *command.UsageError
	if err == nil || errors.As(err, &usage) || !strings.Contains(err.Error(), `ORDERCTL_TIMEOUT="soon"`) {
		t.Fatalf("bad ORDERCTL_TIMEOUT: %v", err)
	}
	// A flag on the command line wins: the bad variable is never parsed.
	if _, _, err := orderctl(t, map[string]string{"ORDERCTL_TIMEOUT": "soon"}, "-timeout", "1s", "dlq", "-h"); err != nil {
		t.Fatalf("-timeout over a bad ORDERCTL_TIMEOUT: %v", err)
	}
}

func TestRun_UnreachableKafkaFailsFastNamingTheSetting(t *testing.T) {
	addr := closedPort(t)
	f := func(env map[string]string, args ...string) {
		t.Helper()
		start := time.Now()
		_, _, err := orderctl(t, env, args...)
		took := time.Since(start)
		if !errors.Is(err, sarama.ErrOutOfBrokers) {
			t.Fatalf("%v: %v, want ErrOutOfBrokers", args, err)
		}
		for _, want := range []string{"cannot reach Kafka at " + addr + ": ", "connection refused", "check -brokers / KAFKA_BROKERS"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error %q lacks %q", args, err, want)
			}
		}
		// Refused connections, one metadata retry 250ms later: about a
		// quarter of a second, with room for a loaded machine.
		if took > 3*time.Second {
			t.Errorf("%v: took %s to report an unreachable broker", args, took)
		}
		t.Logf("%v: failed in %s", args, took.Round(time.Millisecond))
	}
	f(nil, "-brokers", addr, "dlq", "ls")
	f(map[string]string{"KAFKA_BROKERS": addr}, "dlq", "show", "0:1")
	f(map[string]string{"KAFKA_BROKERS": addr}, "dlq", "redrive", "0:1")
}

// silentBroker returns the address of a listener that accepts connections
// and never answers: a broker that hangs, or a firewall that drops.
func silentBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	})
	return ln.Addr().String()
}

func TestRun_TimeoutBoundsTheWholeCommand(t *testing.T) {
	// Each request may take a third of -timeout. At 1 s that was 333 ms, and
	// under -race, beside the daemon's tests on both cores, a ListOffsets
	// once outlasted it and closed the broker under the other requests
	// ("broker not connected") before the fetch this test stalls was sent.
	const timeout = 3 * time.Second
	f := func(env map[string]string, want string, args ...string) {
		t.Helper()
		start := time.Now()
		_, _, err := orderctl(t, env, append([]string{"-timeout", timeout.String()}, args...)...)
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want %q", args, err, want)
		}
		if took > 3*timeout {
			t.Errorf("%v: took %s with -timeout %s", args, took, timeout)
		}
		t.Logf("%v: failed in %s: %v", args, took.Round(time.Millisecond), err)
	}
	// A broker that never answers: each request gives up at -timeout.
	f(map[string]string{"KAFKA_BROKERS": silentBroker(t)}, "cannot reach Kafka at ", "dlq", "ls")

	// Kafka answers everything but fetches: the fetch's own error (its
	// read timeout, a third of -timeout) is reported, within -timeout.
	brokers, cluster := testenv.Kafka(t, "orders", "orders.dlq")
	testenv.Produce(t, testenv.KafkaClient(t, brokers), &kgo.Record{Topic: "orders.dlq", Value: []byte("x")})
	cluster.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		return nil, nil, true // handled, and never answered
	})
	f(map[string]string{"KAFKA_BROKERS": brokers[0]}, "error while consuming orders.dlq/", "dlq", "ls")
}
