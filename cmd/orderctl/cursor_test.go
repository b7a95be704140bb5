package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/internal/testenv"
)

// cursorOf returns the cursor dlq ls printed on stderr, or "" for none.
func cursorOf(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`continue with -cursor (1[A-Za-z0-9_-]+)`).FindStringSubmatch(stderr)
	if m == nil {
		return ""
	}
	return m[1]
}

// Following the cursor dlq ls prints lists every dead letter once, newest
// first, in the table and in -json.
func TestDLQList_CursorContinues(t *testing.T) {
	_, env := fixture(t)
	var refs []string
	args := []string{"dlq", "ls", "-limit", "4"}
	for pages := 1; ; pages++ {
		stdout, stderr, err := orderctl(t, env, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		refs = append(refs, tableRefs(t, stdout)...)
		cur := cursorOf(t, stderr)
		if cur == "" {
			if stderr != "" {
				t.Errorf("last page's stderr %q", stderr)
			}
			break
		}
		if pages == 3 {
			t.Fatalf("no end after %d pages", pages)
		}
		args = []string{"dlq", "ls", "-limit", "4", "-cursor", cur}
	}
	if got := strings.Join(refs, " "); got != "2:1 1:1 0:1 2:0 1:0 0:0" {
		t.Errorf("pages list %s, want each record once, newest first", got)
	}

	// -json: the records, then a line with the cursor and no ref.
	stdout, _, err := orderctl(t, env, "dlq", "ls", "-json", "-limit", "4")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	var last struct {
		Ref     *string `json:"ref"`
		Next    string  `json:"next"`
		Partial bool    `json:"partial"`
	}
	if len(lines) != 5 || json.Unmarshal([]byte(lines[4]), &last) != nil || last.Ref != nil || last.Next == "" || last.Partial {
		t.Fatalf("dlq ls -json -limit 4:\n%s", stdout)
	}
	stdout, _, err = orderctl(t, env, "dlq", "ls", "-json", "-limit", "4", "-cursor", last.Next)
	if err != nil || strings.Count(stdout, "\n") != 2 || strings.Contains(stdout, `"next"`) {
		t.Fatalf("the page after, %v:\n%s", err, stdout)
	}

	// A cursor that is not one is a usage error.
	_, stderr, err := orderctl(t, env, "dlq", "ls", "-cursor", "yesterday")
	var usage *command.UsageError
	if !errors.As(err, &usage) || !strings.Contains(stderr, "-cursor \"yesterday\" is not a cursor dlq ls printed") {
		t.Errorf("a bad -cursor: %v, stderr %q", err, stderr)
	}
}

// hundredThousand starts Kafka with 100,000 dead letters on orders.dlq,
// record i on partition i%3 appended i milliseconds after the first: one in
// 200 invalid_order (500 in all), three conflicts far apart, the others
// invalid_json.
func hundredThousand(t *testing.T) (brokers []string, cluster *kfake.Cluster, env map[string]string, conflicts []string) {
	t.Helper()
	brokers, cluster = testenv.Kafka(t, "orders", "orders.dlq")
	start := time.Now().Add(-time.Hour)
	recs := make([]*kgo.Record, 100_000)
	for i := range recs {
		reason := dlq.ReasonInvalidJSON
		switch {
		case i%200 == 199:
			reason = dlq.ReasonInvalidOrder
		case i == 1_000 || i == 50_000 || i == 98_000:
			reason = dlq.ReasonConflict
		}
		key := "k" + strconv.Itoa(i)
		recs[i] = deadLetter(int32(i%3), key, `{"order_uid":"`+key+`"}`, reason, "e", start.Add(time.Duration(i)*time.Millisecond), i)
	}
	testenv.Produce(t, testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1<<20)), recs...)
	for _, i := range []int{98_000, 50_000, 1_000} {
		conflicts = append(conflicts, fmt.Sprintf("%d:%d", i%3, i/3))
	}
	return brokers, cluster, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ",")}, conflicts
}

// On a long topic, a listing that runs out of time says so with a cursor,
// and the cursors it prints lead to every match; dlq redrive -reason
// pages by itself, and publishes 500 dead letters well within -timeout.
func TestDLQ_AHundredThousand(t *testing.T) {
	testenv.SkipIfShort(t, "a hundred thousand records")
	brokers, cluster, env, conflicts := hundredThousand(t)

	// A slow broker: every fetch waits 100ms, so that reading all 100,000
	// takes seconds however fast the machine. -timeout 2s leaves a listing
	// under two: it stops, partial, with a cursor, and answers in time.
	var slow atomic.Bool
	slow.Store(true)
	cluster.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		if slow.Load() {
			cluster.SleepControl(func() { time.Sleep(100 * time.Millisecond) })
		}
		return nil, nil, false // then served as usual
	})
	var refs []string
	partial := false
	args := []string{"-timeout", "2s", "dlq", "ls", "-reason", "conflict"}
	for pages := 1; ; pages++ {
		stdout, stderr, err := orderctl(t, env, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(stdout, "no dead letters found yet") {
			refs = append(refs, tableRefs(t, stdout)...)
		}
		partial = partial || strings.Contains(stderr, "stopped after reading for ")
		cur := cursorOf(t, stderr)
		if cur == "" {
			break
		}
		if !strings.HasSuffix(stderr, ", with the same -reason and -since\n") {
			t.Errorf("stderr %q does not say to keep the filter", stderr)
		}
		t.Logf("page %d: %d listed, %q", pages, len(refs), stderr)
		if pages == 30 {
			t.Fatalf("no end after %d pages", pages)
		}
		args = []string{"-timeout", "2s", "dlq", "ls", "-reason", "conflict", "-cursor", cur}
	}
	if got, want := strings.Join(refs, " "), strings.Join(conflicts, " "); got != want || !partial {
		t.Errorf("pages list %s, partial %v; want %s, after a partial page", got, partial, want)
	}

	slow.Store(false)
	start := time.Now()
	stdout, _, err := orderctl(t, env, "dlq", "redrive", "-reason", "invalid_order", "-limit", "500")
	took := time.Since(start)
	t.Logf("dlq redrive -reason invalid_order -limit 500: %s", took)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 500 || !redriven.MatchString(lines[0]) || redriven.FindStringSubmatch(lines[0])[1] != "0:33333" {
		t.Fatalf("%d lines, the first %q; want 500, the newest (k99999 at 0:33333) first", len(lines), lines[0])
	}
	if took > 10*time.Second {
		t.Errorf("took %s, want well within the 30s -timeout", took)
	}
	if recs := onOrders(t, brokers); len(recs) != 500 {
		t.Errorf("%d records on orders, want 500", len(recs))
	}
}
