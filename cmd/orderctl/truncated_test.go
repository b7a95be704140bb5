package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orderd/orderd/cmd/orderctl/internal/command"
	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/internal/testenv"
)

// bigOrder is a message too large for truncatedFixture's dead-letter topic.
var bigOrder = `{"order_uid":"big","items":[` + strings.Repeat(`{"chrt_id":9934930,"name":"Mascaras"},`, 200) + `{}]}`

// cutLetter is bigOrder's dead letter on partition p as orderd writes it to
// a dead-letter topic that takes only 2 KiB: cut to fit by dlq.Letter.Fit,
// with its trace header kept.
func cutLetter(t *testing.T, p int32, failedAt time.Time) *kgo.Record {
	t.Helper()
	letter := dlq.Letter{
		SourceTopic: "orders", SourcePartition: 1, SourceOffset: 107, Key: []byte("big"), Value: []byte(bigOrder),
		Headers: []sarama.RecordHeader{{Key: []byte("trace"), Value: []byte("t-big")}},
		Reason:  dlq.ReasonTooLarge, Error: "message is larger than MAX_MESSAGE_BYTES", FailedAt: failedAt,
	}
	msg, truncated := letter.Fit("orders.dlq", 2048)
	if !truncated {
		t.Fatal("bigOrder fits whole: make it larger than the limit")
	}
	r := &kgo.Record{Topic: "orders.dlq", Partition: p, Timestamp: failedAt, Key: []byte("big")}
	r.Value, _ = msg.Value.Encode()
	for _, h := range msg.Headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
	}
	return r
}

// truncatedFixture starts Kafka with three too_large dead letters, the
// middle one truncated. Newest first they are 2:0, 1:0 (truncated), 0:0.
func truncatedFixture(t *testing.T) (brokers []string, env map[string]string) {
	t.Helper()
	brokers, _ = testenv.Kafka(t, "orders", "orders.dlq")
	now := time.Now()
	testenv.Produce(t, testenv.KafkaClient(t, brokers, kgo.RecordPartitioner(kgo.ManualPartitioner())),
		deadLetter(0, "w1", `{"order_uid":"w1"}`, dlq.ReasonTooLarge, "larger than MAX_MESSAGE_BYTES", now.Add(-30*time.Minute), 105),
		cutLetter(t, 1, now.Add(-20*time.Minute)),
		deadLetter(2, "w2", `{"order_uid":"w2"}`, dlq.ReasonTooLarge, "larger than MAX_MESSAGE_BYTES", now.Add(-10*time.Minute), 109),
	)
	return brokers, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ",")}
}

// keptBytes is how much of bigOrder the truncated dead letter holds.
func keptBytes(t *testing.T) int {
	t.Helper()
	return len(cutLetter(t, 0, time.Now()).Value)
}

func TestDLQList_MarksTruncated(t *testing.T) {
	_, env := truncatedFixture(t)
	stdout, _, err := orderctl(t, env, "dlq", "ls")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	col := strings.Index(lines[0], "TRUNCATED")
	if col < 0 || len(lines) != 4 {
		t.Fatalf("no TRUNCATED column, or not 3 rows:\n%s", stdout)
	}
	for _, l := range lines[1:] {
		want := "-"
		if strings.HasPrefix(l, "1:0 ") {
			want = "yes"
		}
		if got := strings.Fields(l[col:])[0]; got != want {
			t.Errorf("TRUNCATED %q, want %q in\n%s", got, want, l)
		}
	}

	stdout, _, err = orderctl(t, env, "dlq", "ls", "-json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(bigOrder))
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, l)
		}
		switch m["ref"] {
		case "1:0":
			// Its payload is what was kept (payload_bytes), and of that
			// the listing shows the start (payload_preview).
			if m["truncated"] != true || m["original_bytes"] != float64(len(bigOrder)) || m["original_sha256"] != hex.EncodeToString(sum[:]) ||
				!strings.HasPrefix(bigOrder, m["payload"].(string)) || m["payload_bytes"] != float64(keptBytes(t)) ||
				m["payload_preview"] != true || len(m["payload"].(string)) != browse.PreviewBytes || len(m) != 17 {
				t.Errorf("truncated record as JSON: %v", m)
			}
		default: // a whole one says nothing of truncation
			if len(m) != 13 {
				t.Errorf("whole record as JSON has %d fields, want 13: %s", len(m), l)
			}
		}
	}
}

func TestDLQShow_TruncatedSaysSoBeforeThePayload(t *testing.T) {
	_, env := truncatedFixture(t)
	stdout, _, err := orderctl(t, env, "dlq", "show", "1:0")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(bigOrder))
	kept := keptBytes(t)
	want := fmt.Sprintf("payload:   %d of %d bytes kept (truncated to fit the dead-letter topic), original sha256 %x\n"+
		"           redrive it only with the whole message corrected: dlq redrive -payload-file FILE 1:0\n"+
		"kept:      %d bytes, not JSON, as it is:\n"+
		"%s\n", kept, len(bigOrder), sum, kept, bigOrder[:kept])
	if !strings.HasSuffix(stdout, want) {
		t.Errorf("dlq show 1:0:\n%s\nwant it to end with:\n%s", stdout, want)
	}
	// A whole record says nothing of the kind.
	if stdout, _, err = orderctl(t, env, "dlq", "show", "0:0"); err != nil || strings.Contains(stdout, "truncated") || strings.Contains(stdout, "kept") {
		t.Errorf("dlq show 0:0: %v\n%s", err, stdout)
	}
}

func TestDLQRedrive_RefusesTruncatedWithoutPayloadFile(t *testing.T) {
	brokers, env := truncatedFixture(t)
	f := func(args ...string) {
		t.Helper()
		stdout, _, err := orderctl(t, env, append([]string{"dlq", "redrive"}, args...)...)
		var usage *command.UsageError
		if !errors.Is(err, dlq.ErrTruncated) || errors.As(err, &usage) {
			t.Fatalf("dlq redrive %v: %v, want dlq.ErrTruncated (exit status 1)", args, err)
		}
		for _, w := range []string{"dead letter 1:0 was truncated", fmt.Sprintf("%d of %d bytes kept", keptBytes(t), len(bigOrder)),
			"-payload-file FILE", "nothing was redriven"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("dlq redrive %v: %q lacks %q", args, err, w)
			}
		}
		if stdout != "" {
			t.Errorf("dlq redrive %v printed %q, want nothing", args, stdout)
		}
	}
	f("0:0", "1:0")             // refused before 0:0 is sent
	f("-dry-run", "0:0", "1:0") // a dry run fails as for real
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("%d records on orders after refused redrives", n)
	}

	// The whole message, corrected, goes.
	file := filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(file, []byte(`{"order_uid":"big","items":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := orderctl(t, env, "dlq", "redrive", "-payload-file", file, "1:0")
	if err != nil || !redriven.MatchString(strings.TrimSuffix(stdout, "\n")) {
		t.Fatalf("redrive with -payload-file: %q, %v", stdout, err)
	}
	if r := onOrders(t, brokers)["big"]; r == nil || string(r.Value) != `{"order_uid":"big","items":[]}` {
		t.Fatalf("on orders: %v", r)
	}
}

func TestDLQRedrive_ByReasonSkipsTruncated(t *testing.T) {
	brokers, env := truncatedFixture(t)
	kept := fmt.Sprintf("%d of %d bytes kept", keptBytes(t), len(bigOrder))
	wantErr := "1 of 3 dead letters %s, truncated to fit the dead-letter topic: 1:0; " +
		"redrive it alone with the whole message, corrected, in -payload-file FILE (dlq show 1:0 prints what was kept)"
	check := func(err error, verb string) {
		t.Helper()
		var usage *command.UsageError
		if !errors.Is(err, dlq.ErrTruncated) || errors.As(err, &usage) || err.Error() != fmt.Sprintf(wantErr, verb) {
			t.Errorf("err %v, want dlq.ErrTruncated (exit status 1) saying %q", err, fmt.Sprintf(wantErr, verb))
		}
	}

	// The dry run says which would be skipped, and fails as for real.
	stdout, _, err := orderctl(t, env, "dlq", "redrive", "-dry-run", "-reason", "too_large")
	check(err, "would be skipped")
	if want := "would redrive orders.dlq 2:0 -> orders (too_large, key w2, payload 18 bytes)\n" +
		"would skip orders.dlq 1:0 (too_large, key big, truncated, " + kept + "; redrive it alone with -payload-file)\n" +
		"would redrive orders.dlq 0:0 -> orders (too_large, key w1, payload 18 bytes)\n"; stdout != want {
		t.Errorf("dry run:\n got %q\nwant %q", stdout, want)
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("a dry run published %d records", n)
	}

	// For real: the others are redriven, in order, the truncated one skipped.
	stdout, _, err = orderctl(t, env, "dlq", "redrive", "-reason", "too_large")
	check(err, "skipped")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 || redriven.FindStringSubmatch(lines[0]) == nil || redriven.FindStringSubmatch(lines[0])[1] != "2:0" ||
		lines[1] != "skipped orders.dlq 1:0: truncated, "+kept+"; redrive it alone with -payload-file" ||
		redriven.FindStringSubmatch(lines[2]) == nil || redriven.FindStringSubmatch(lines[2])[1] != "0:0" {
		t.Errorf("redrive -reason too_large printed:\n%s", stdout)
	}
	if recs := onOrders(t, brokers); len(recs) != 2 || recs["w1"] == nil || recs["w2"] == nil {
		t.Errorf("on orders: %v, want w1 and w2 only", recs)
	}
}
