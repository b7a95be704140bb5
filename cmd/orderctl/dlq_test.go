package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/internal/testenv"
)

// deadLetter builds a record on partition p of orders.dlq the way orderd's
// dead-letter stage writes it: the original key, value and headers (here a
// trace header), plus the dlq-* headers, appended when it failed. An empty
// key is no key.
func deadLetter(p int32, key, value string, reason dlq.Reason, errText string, failedAt time.Time, sourceOffset int) *kgo.Record {
	r := &kgo.Record{Topic: "orders.dlq", Partition: p, Timestamp: failedAt, Value: []byte(value), Headers: []kgo.RecordHeader{
		{Key: "trace", Value: []byte("t-" + key)},
		{Key: dlq.HeaderReason, Value: []byte(reason)},
		{Key: dlq.HeaderError, Value: []byte(errText)},
		{Key: dlq.HeaderSourceTopic, Value: []byte("orders")},
		{Key: dlq.HeaderSourcePartition, Value: []byte("1")},
		{Key: dlq.HeaderSourceOffset, Value: []byte(fmt.Sprint(sourceOffset))},
		{Key: dlq.HeaderFailedAt, Value: []byte(failedAt.UTC().Format(time.RFC3339))},
	}}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

const (
	amountError = "payment.amount: must equal goods_total + delivery_cost + custom_fee = 1817, got 1818"
	notJSON     = "not json\x00\xff\nsecond line"
)

var longPayload = `{"order_uid":"k6","items":[` + strings.TrimSuffix(strings.Repeat(`{"chrt_id":9934930},`, 10), ",") + `]}`

// fixture starts Kafka with six dead letters, two on each partition of
// orders.dlq, and returns the environment pointing orderctl at it. Newest
// first they are 2:1, 1:1, 0:1, 2:0, 1:0, 0:0.
func fixture(t *testing.T) (brokers []string, env map[string]string) {
	t.Helper()
	brokers, _ = testenv.Kafka(t, "orders", "orders.dlq")
	now := time.Now()
	ago := func(minutes int) time.Time { return now.Add(-time.Duration(minutes) * time.Minute) }
	client := testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	testenv.Produce(t, client,
		deadLetter(0, "k1", `{"order_uid":"k1","n":1}`, dlq.ReasonInvalidOrder, amountError, ago(50), 101),
		deadLetter(1, "k2", notJSON, dlq.ReasonInvalidJSON, "invalid character 'o' in literal null", ago(40), 102),
		deadLetter(2, "k3", `{"order_uid":"k3"}`, dlq.ReasonConflict, "order_uid k3 is stored with different content", ago(30), 103),
		deadLetter(0, "k4", `{"order_uid":"k4"}`, dlq.ReasonInvalidOrder, "delivery.email: want one @", ago(20), 104),
		deadLetter(1, "k5", `{"order_uid":"k5"}`, dlq.ReasonConflict, "order_uid k5 is stored with different content", ago(10), 105),
		deadLetter(2, "", longPayload, dlq.ReasonTooLarge, strings.Repeat("x", 100), ago(5), 106),
	)
	return brokers, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ",")}
}

// tableRefs returns the RECORD column of a dlq ls table.
func tableRefs(t *testing.T, table string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "RECORD  ") {
		t.Fatalf("no table header:\n%s", table)
	}
	var refs []string
	for _, l := range lines[1:] {
		refs = append(refs, strings.Fields(l)[0])
	}
	return refs
}

func TestDLQList_NewestFirstWithFilters(t *testing.T) {
	_, env := fixture(t)
	f := func(wantRefs string, args ...string) {
		t.Helper()
		stdout, _, err := orderctl(t, env, append([]string{"dlq", "ls"}, args...)...)
		if err != nil {
			t.Fatalf("dlq ls %v: %v", args, err)
		}
		if got := strings.Join(tableRefs(t, stdout), " "); got != wantRefs {
			t.Errorf("dlq ls %v lists %s, want %s", args, got, wantRefs)
		}
	}
	f("2:1 1:1 0:1 2:0 1:0 0:0")                            // all, newest first across partitions
	f("1:1 2:0", "-reason", "conflict")                     // by reason
	f("2:1 1:1", "-limit", "2")                             // the newest two
	f("2:1 1:1 0:1", "-since", "25m")                       // by age
	f("1:1", "-reason", "conflict", "-since", "15m")        // both
	f("0:1 0:0", "-reason", "invalid_order", "-limit", "5") // flags in any order
}

func TestDLQList_TableColumns(t *testing.T) {
	_, env := fixture(t)
	stdout, stderr, err := orderctl(t, env, "dlq", "ls")
	if err != nil || stderr != "" {
		t.Fatalf("dlq ls: %v, stderr %q", err, stderr)
	}
	t.Logf("dlq ls:\n%s", stdout)
	rows := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		if ref, _, ok := strings.Cut(l, " "); ok {
			rows[ref] = l
		}
	}
	f := func(ref string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(rows[ref], w) {
				t.Errorf("row %s lacks %q:\n%s", ref, w, rows[ref])
			}
		}
	}
	f("RECORD", "FAILED AT", "REASON", "SOURCE", "KEY", "ERROR", "PAYLOAD")
	f("0:0", "invalid_order", "orders/1/101", " k1 ", amountError[:59]+"…", `{"order_uid":"k1","n":1}`)
	// Not printable: quoted, with the byte that is not UTF-8 replaced by
	// Preview and the line break collapsed.
	f("1:0", "invalid_json", `"not json\x00� second line"`)
	// No key, and the long error and payload cut.
	f("2:1", "too_large", " - ", strings.Repeat("x", 59)+"…", longPayload[:39]+"…")
	if !regexp.MustCompile(`^0:0 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ `).MatchString(rows["0:0"]) {
		t.Errorf("FAILED AT is not RFC 3339 in UTC: %s", rows["0:0"])
	}

	// Reaching -limit says there may be more, with the cursor to go on,
	// on stderr, away from the table.
	_, stderr, err = orderctl(t, env, "dlq", "ls", "-limit", "2")
	if err != nil {
		t.Fatalf("dlq ls -limit 2: %v, stderr %q", err, stderr)
	}
	if !regexp.MustCompile(`^listed the newest 2; there may be more: continue with -cursor 1[A-Za-z0-9_-]+\n$`).MatchString(stderr) {
		t.Errorf("stderr at the limit: %q", stderr)
	}
}

func TestDLQList_JSONLines(t *testing.T) {
	_, env := fixture(t)
	stdout, _, err := orderctl(t, env, "dlq", "ls", "-json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(lines), stdout)
	}
	byRef := map[string]map[string]any{}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, l)
		}
		if len(m) != 13 {
			t.Errorf("line %d has %d fields, want 13: %s", i, len(m), l)
		}
		byRef[m["ref"].(string)] = m
		if i == 0 && m["ref"] != "2:1" {
			t.Errorf("first line is %v, want the newest, 2:1", m["ref"])
		}
	}
	r := byRef["0:0"]
	if r["partition"] != 0.0 || r["offset"] != 0.0 || r["reason"] != "invalid_order" || r["error"] != amountError ||
		r["source_topic"] != "orders" || r["source_partition"] != 1.0 || r["source_offset"] != 101.0 ||
		r["key"] != "k1" || r["payload"] != `{"order_uid":"k1","n":1}` {
		t.Errorf("0:0 as JSON: %v", r)
	}
	if _, err := time.Parse(time.RFC3339, r["failed_at"].(string)); err != nil {
		t.Errorf("failed_at: %v", err)
	}
	if _, err := time.Parse(time.RFC3339, r["appended_at"].(string)); err != nil || r["payload_bytes"] != 24.0 {
		t.Errorf("appended_at %v (%v), payload_bytes %v", r["appended_at"], err, r["payload_bytes"])
	}
	if r := byRef["2:1"]; r["key"] != nil || r["payload"] != longPayload || r["error"] != strings.Repeat("x", 100) {
		t.Errorf("2:1 as JSON is cut or keyed: %v", r)
	}
	if got := byRef["1:0"]["payload"]; got != "not json\x00\uFFFD\nsecond line" {
		t.Errorf("1:0 payload %q", got)
	}
}

func TestDLQList_Empty(t *testing.T) {
	brokers, _ := testenv.Kafka(t, "orders", "orders.dlq")
	env := map[string]string{"KAFKA_BROKERS": brokers[0]}
	if stdout, _, err := orderctl(t, env, "dlq", "ls"); err != nil || stdout != "no dead letters\n" {
		t.Errorf("dlq ls on an empty topic: %q, %v", stdout, err)
	}
	if stdout, _, err := orderctl(t, env, "dlq", "ls", "-json"); err != nil || stdout != "" {
		t.Errorf("dlq ls -json on an empty topic: %q, %v; want no lines", stdout, err)
	}

	_, env = fixture(t)
	if stdout, _, err := orderctl(t, env, "dlq", "ls", "-reason", "conflict", "-since", "1m"); err != nil || stdout != "no dead letters\n" {
		t.Errorf("dlq ls matching nothing: %q, %v", stdout, err)
	}
}

func TestDLQ_UnknownTopicNamesTheSetting(t *testing.T) {
	_, env := fixture(t)
	f := func(want string, env map[string]string, args ...string) {
		t.Helper()
		_, _, err := orderctl(t, env, args...)
		if err == nil || err.Error() != want {
			t.Errorf("%v: %v, want %q", args, err, want)
		}
	}
	f("topic nope does not exist; check -dlq-topic / KAFKA_DLQ_TOPIC", env, "-dlq-topic", "nope", "dlq", "ls")
	env["KAFKA_DLQ_TOPIC"] = "from-env"
	f("topic from-env does not exist; check -dlq-topic / KAFKA_DLQ_TOPIC", env, "dlq", "show", "0:0")
	f("topic from-flag does not exist; check -dlq-topic / KAFKA_DLQ_TOPIC", env, "-dlq-topic", "from-flag", "dlq", "show", "0:0")
	delete(env, "KAFKA_DLQ_TOPIC")
	f("topic nope does not exist; check -topic / KAFKA_TOPIC", env, "-topic", "nope", "dlq", "redrive", "0:0")
}

func TestDLQShow_HeadersAndPayload(t *testing.T) {
	_, env := fixture(t)
	f := func(ref string, want ...string) {
		t.Helper()
		stdout, _, err := orderctl(t, env, "dlq", "show", ref)
		if err != nil {
			t.Fatalf("dlq show %s: %v", ref, err)
		}
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Errorf("dlq show %s lacks %q:\n%s", ref, w, stdout)
			}
		}
	}
	// Every header, in order, then the JSON payload indented.
	f("0:0", "record:    orders.dlq 0:0\n", "key:       k1\n", "headers:\n  trace: t-k1\n  dlq-reason: invalid_order\n  dlq-error: "+amountError+
		"\n  dlq-source-topic: orders\n  dlq-source-partition: 1\n  dlq-source-offset: 101\n  dlq-failed-at: ",
		"payload:   24 bytes, JSON, indented:\n{\n  \"order_uid\": \"k1\",\n  \"n\": 1\n}\n")
	// Not JSON: as it is, the line that is not printable quoted.
	f("1:0", fmt.Sprintf("payload:   %d bytes, not JSON, as it is:\n\"not json\\x00\\xff\"\nsecond line\n", len(notJSON)))
	f("2:1", "key:       (none)\n", "trace: t-\n")
}

func TestDLQShow_UnknownRecord(t *testing.T) {
	_, env := fixture(t)
	f := func(ref, want string) {
		t.Helper()
		_, _, err := orderctl(t, env, "dlq", "show", ref)
		var usage *command.UsageError
		if !errors.Is(err, browse.ErrNotFound) || errors.As(err, &usage) || !strings.Contains(err.Error(), want) {
			t.Errorf("dlq show %s: %v, want ErrNotFound saying %q", ref, err, want)
		}
	}
	f("0:9", "partition 0 holds offsets 0 to 1")
	f("7:0", "no partition 7")
}

// redriven is the line dlq redrive prints for a record redriven.
var redriven = regexp.MustCompile(`^redriven orders\.dlq (\d+:\d+) -> orders (\d+):(\d+)$`)

// onOrders returns the records on the orders topic by key, checking that
// each was redriven as promised: the original headers kept, the dlq-* ones
// dropped, and a redriven-from header added.
func onOrders(t *testing.T, brokers []string) map[string]*kgo.Record {
	t.Helper()
	byKey := map[string]*kgo.Record{}
	for _, r := range testenv.ReadTopic(t, brokers, "orders") {
		h := map[string]string{}
		for _, kv := range r.Headers {
			if strings.HasPrefix(kv.Key, "dlq-") {
				t.Errorf("redriven %s keeps header %s", r.Key, kv.Key)
			}
			h[kv.Key] = string(kv.Value)
		}
		if h["trace"] != "t-"+string(r.Key) || !strings.HasPrefix(h[dlq.HeaderRedrivenFrom], "orders.dlq/") || len(h) != 2 {
			t.Errorf("redriven %s has headers %v", r.Key, h)
		}
		byKey[string(r.Key)] = r
	}
	return byKey
}

func TestDLQRedrive_ByReference(t *testing.T) {
	brokers, env := fixture(t)
	stdout, _, err := orderctl(t, env, "dlq", "redrive", "0:0", "2:0")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q, want a line per record", stdout)
	}
	recs := onOrders(t, brokers)
	for i, want := range []struct{ ref, key, from, value string }{
		{"0:0", "k1", "orders.dlq/0/0", `{"order_uid":"k1","n":1}`},
		{"2:0", "k3", "orders.dlq/2/0", `{"order_uid":"k3"}`},
	} {
		m := redriven.FindStringSubmatch(lines[i])
		r := recs[want.key]
		if m == nil || m[1] != want.ref || r == nil {
			t.Fatalf("line %q, record %v; want %s redriven", lines[i], r, want.ref)
		}
		// The line names where the copy landed.
		if m[2] != fmt.Sprint(r.Partition) || m[3] != fmt.Sprint(r.Offset) {
			t.Errorf("line %q, but %s is at orders %d:%d", lines[i], want.key, r.Partition, r.Offset)
		}
		if string(r.Value) != want.value || string(r.Headers[len(r.Headers)-1].Value) != want.from {
			t.Errorf("%s on orders: value %s, headers %v", want.key, r.Value, r.Headers)
		}
	}
	if len(recs) != 2 {
		t.Errorf("%d records on orders, want 2", len(recs))
	}
}

func TestDLQRedrive_ByReasonNewestFirst(t *testing.T) {
	brokers, env := fixture(t)
	stdout, _, err := orderctl(t, env, "dlq", "redrive", "-reason", "conflict")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if m := redriven.FindStringSubmatch(l); m != nil {
			from = append(from, m[1])
		} else {
			t.Errorf("unexpected line %q", l)
		}
	}
	if fmt.Sprint(from) != "[1:1 2:0]" {
		t.Errorf("redrove %v, want the conflicts newest first: [1:1 2:0]", from)
	}
	if recs := onOrders(t, brokers); len(recs) != 2 || recs["k5"] == nil || recs["k3"] == nil {
		t.Errorf("on orders: %v", recs)
	}

	// -limit takes the newest; nothing matching is no error.
	if stdout, _, err = orderctl(t, env, "dlq", "redrive", "-reason", "invalid_order", "-limit", "1"); err != nil ||
		!strings.HasPrefix(stdout, "redriven orders.dlq 0:1 -> orders ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("-limit 1: %q, %v", stdout, err)
	}
	if stdout, _, err = orderctl(t, env, "-dlq-topic", "orders", "dlq", "redrive", "-reason", "conflict"); err != nil ||
		stdout != "no dead letters with reason conflict\n" {
		t.Errorf("nothing of that reason: %q, %v", stdout, err)
	}
}

func TestDLQRedrive_PayloadFileReplacesThePayload(t *testing.T) {
	brokers, env := fixture(t)
	file := filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(file, []byte(`{"order_uid":"k2","fixed":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Two records for one payload is refused before anything is sent.
	if _, _, err := orderctl(t, env, "dlq", "redrive", "-payload-file", file, "1:0", "1:1"); err == nil {
		t.Fatal("-payload-file with two records accepted")
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("%d records on orders after a refused redrive", n)
	}

	stdout, _, err := orderctl(t, env, "dlq", "redrive", "1:0", "-payload-file", file)
	if err != nil || !redriven.MatchString(strings.TrimSuffix(stdout, "\n")) {
		t.Fatalf("redrive with -payload-file: %q, %v", stdout, err)
	}
	if r := onOrders(t, brokers)["k2"]; r == nil || string(r.Value) != `{"order_uid":"k2","fixed":true}` {
		t.Fatalf("on orders: %v", r)
	}

	if _, _, err := orderctl(t, env, "dlq", "redrive", "-payload-file", "no/such/file", "1:0"); err == nil ||
		!strings.Contains(err.Error(), "read -payload-file") {
		t.Errorf("missing payload file: %v", err)
	}
}

func TestDLQRedrive_DryRunPublishesNothing(t *testing.T) {
	brokers, env := fixture(t)
	f := func(want string, args ...string) {
		t.Helper()
		stdout, _, err := orderctl(t, env, append([]string{"dlq", "redrive"}, args...)...)
		if err != nil || stdout != want {
			t.Errorf("dlq redrive %v: %v\n got %q\nwant %q", args, err, stdout, want)
		}
	}
	f("would redrive orders.dlq 1:1 -> orders (conflict, key k5, payload 18 bytes)\n"+
		"would redrive orders.dlq 2:0 -> orders (conflict, key k3, payload 18 bytes)\n",
		"-dry-run", "-reason", "conflict")
	f("would redrive orders.dlq 0:0 -> orders (invalid_order, key k1, payload 24 bytes)\n"+
		fmt.Sprintf("would redrive orders.dlq 2:1 -> orders (too_large, key -, payload %d bytes)\n", len(longPayload)),
		"0:0", "2:1", "-dry-run") // a flag after the references is still a flag
	file := filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(file, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f(fmt.Sprintf("would redrive orders.dlq 0:0 -> orders (invalid_order, key k1, payload 2 bytes from %s)\n", file),
		"-dry-run", "-payload-file", file, "0:0")

	// A reference to nothing fails as it would for real.
	if _, _, err := orderctl(t, env, "dlq", "redrive", "-dry-run", "0:0", "0:7"); !errors.Is(err, browse.ErrNotFound) {
		t.Errorf("dry run of a missing record: %v", err)
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("a dry run published %d records", n)
	}
}
