package dlq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/orderd/orderd/internal/testenv"
)

func letter(value []byte, headers ...sarama.RecordHeader) Letter {
	return Letter{
		SourceTopic: "orders", SourcePartition: 2, SourceOffset: 41,
		Key: []byte("k1"), Value: value, Headers: headers,
		Reason: ReasonTooLarge, Error: "message is too large",
		FailedAt: time.Date(2026, 11, 26, 6, 22, 19, 0, time.UTC),
	}
}

func headerMap(t *testing.T, hs []sarama.RecordHeader) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range hs {
		if _, dup := m[string(h.Key)]; dup {
			t.Fatalf("header %s repeated in %v", h.Key, hs)
		}
		m[string(h.Key)] = string(h.Value)
	}
	return m
}

func value(t *testing.T, msg *sarama.ProducerMessage) []byte {
	t.Helper()
	if msg.Value == nil {
		return nil
	}
	b, err := msg.Value.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLetter_MessageKeepsTheOriginalAndReplacesOwnHeaders(t *testing.T) {
	l := letter([]byte(`{"a":1}`),
		header("trace", "abc"),                       // kept
		header(HeaderReason, "invalid_json"),         // an earlier dead-lettering's: replaced
		header(HeaderRedrivenFrom, "orders.dlq/0/7")) // provenance: kept
	msg := l.Message("orders.dlq")
	h := headerMap(t, msg.Headers)
	want := map[string]string{
		"trace": "abc", HeaderRedrivenFrom: "orders.dlq/0/7",
		HeaderReason: "too_large", HeaderError: "message is too large",
		HeaderSourceTopic: "orders", HeaderSourcePartition: "2", HeaderSourceOffset: "41",
		HeaderFailedAt: "2026-11-26T06:22:19Z",
	}
	if len(h) != len(want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	if got := value(t, msg); string(got) != `{"a":1}` || msg.Topic != "orders.dlq" {
		t.Fatalf("value %q topic %s", got, msg.Topic)
	}
}

func TestLetter_MessageCutsLongErrorsAtACharacter(t *testing.T) {
	l := letter([]byte("{}"))
	l.Error = strings.Repeat("é", MaxErrorBytes) // two bytes each
	e := headerMap(t, l.Message("orders.dlq").Headers)[HeaderError]
	if len(e) > MaxErrorBytes || !strings.HasSuffix(e, "…") || !utf8.ValidString(e) {
		t.Fatalf("dlq-error is %d bytes, valid UTF-8 %v", len(e), utf8.ValidString(e))
	}
}

func TestLetter_FitLeavesWhatFitsAlone(t *testing.T) {
	l := letter(bytes.Repeat([]byte("x"), 1000))
	msg, truncated := l.Fit("orders.dlq", 1<<20)
	if truncated || len(value(t, msg)) != 1000 || headerMap(t, msg.Headers)[HeaderTruncated] != "" {
		t.Fatalf("truncated %v, %d bytes", truncated, len(value(t, msg)))
	}
}

func TestLetter_FitCutsThePayloadAndSaysWhat(t *testing.T) {
	payload := []byte(strings.Repeat(`{"é":"x"}`, 20000)) // 200,000 bytes of text
	l := letter(payload, header("trace", "abc"))
	const limit = 64 << 10
	msg, truncated := l.Fit("orders.dlq", limit)
	if !truncated || msg.ByteSize(2) > limit {
		t.Fatalf("truncated %v, size %d, want at most %d", truncated, msg.ByteSize(2), limit)
	}
	got := value(t, msg)
	if len(got) < limit-2048 || !bytes.HasPrefix(payload, got) || !utf8.Valid(got) {
		t.Fatalf("payload %d bytes, a prefix of the original: %v, valid UTF-8: %v",
			len(got), bytes.HasPrefix(payload, got), utf8.Valid(got))
	}
	sum := sha256.Sum256(payload)
	h := headerMap(t, msg.Headers)
	if h[HeaderTruncated] != "true" || h[HeaderOriginalBytes] != strconv.Itoa(len(payload)) ||
		h[HeaderOriginalSHA256] != hex.EncodeToString(sum[:]) || h["trace"] != "abc" || h[HeaderReason] != "too_large" {
		t.Fatalf("headers %v", h)
	}
	if string(mustEncode(t, msg.Key)) != "k1" {
		t.Fatal("key lost")
	}
}

func TestLetter_FitDropsPayloadThenHeadersThenKey(t *testing.T) {
	bigHeader := header("trace", strings.Repeat("h", 5000))
	l := letter(bytes.Repeat([]byte("x"), 10000), bigHeader)

	// The headers alone exceed 4 KiB: the payload goes, then the
	// message's own headers, and orderd's remain.
	msg, truncated := l.Fit("orders.dlq", 4096)
	h := headerMap(t, msg.Headers)
	if !truncated || msg.ByteSize(2) > 4096 || len(value(t, msg)) != 0 || h["trace"] != "" ||
		h[HeaderReason] != "too_large" || h[HeaderOriginalBytes] != "10000" || msg.Key == nil {
		t.Fatalf("size %d, payload %d bytes, headers %v", msg.ByteSize(2), len(value(t, msg)), h)
	}

	// A huge key and a long error: the key goes too, the error is cut.
	l.Key = bytes.Repeat([]byte("k"), 3000)
	l.Error = strings.Repeat("e", 3000)
	msg, _ = l.Fit("orders.dlq", 1024)
	h = headerMap(t, msg.Headers)
	if msg.ByteSize(2) > 1024 || msg.Key != nil || len(h[HeaderError]) > shortErrorBytes || h[HeaderTruncated] != "true" {
		t.Fatalf("size %d, key %v, dlq-error %d bytes", msg.ByteSize(2), msg.Key != nil, len(h[HeaderError]))
	}
}

func mustEncode(t *testing.T, e sarama.Encoder) []byte {
	t.Helper()
	if e == nil {
		return nil
	}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A record cut to fit a small dead-letter topic is accepted by the broker,
// read back as truncated with its original size and digest, and refused by
// redrive unless a corrected payload is given.
func TestTruncatedRecord_ReadsAsTruncatedAndIsNotRedrivenAsItIs(t *testing.T) {
	const topicLimit = 32 << 10
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders.dlq"),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(topicLimit)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := c.ListenAddrs()
	client := saramaClient(t, brokers)
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	payload := bytes.Repeat([]byte("y"), 100_000)
	// Redriven once before: the next redrive replaces the provenance.
	msg, truncated := letter(payload, header(HeaderRedrivenFrom, "orders.dlq/9/9")).Fit("orders.dlq", topicLimit-BatchOverhead)
	if !truncated {
		t.Fatal("not truncated")
	}
	p, o, err := producer.SendMessage(msg)
	if err != nil {
		t.Fatalf("the broker refused the fitted record: %v", err)
	}

	r := NewReader(client, "orders.dlq")
	rec, err := r.Get(context.Background(), Ref{p, o})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	if !rec.Truncated || rec.OriginalBytes != 100_000 || rec.OriginalSHA256 != hex.EncodeToString(sum[:]) ||
		len(rec.Value) == 0 || len(rec.Value) >= topicLimit {
		t.Fatalf("read back: truncated %v, original %d bytes, sha256 %s, %d bytes kept",
			rec.Truncated, rec.OriginalBytes, rec.OriginalSHA256, len(rec.Value))
	}

	d := NewRedriver(r, producer, "orders")
	if _, err := d.Redrive(context.Background(), []Ref{{p, o}}, nil); !errors.Is(err, ErrTruncated) ||
		!strings.Contains(err.Error(), "100000 bytes") {
		t.Fatalf("Redrive of a truncated record = %v, want ErrTruncated naming the original size", err)
	}
	if n := testenv.Sum(testenv.EndOffsets(t, brokers, "orders")); n != 0 {
		t.Fatalf("%d records on orders after a refused redrive", n)
	}
	done, err := d.Redrive(context.Background(), []Ref{{p, o}}, []byte(`{"fixed":true}`))
	if err != nil || len(done) != 1 {
		t.Fatalf("Redrive with a corrected payload = %v, %v", done, err)
	}
	out := testenv.ReadTopic(t, brokers, "orders")
	var from []string
	for _, h := range out[0].Headers {
		if IsOwnHeader(h.Key) {
			t.Errorf("redriven record keeps %s", h.Key)
		}
		if h.Key == HeaderRedrivenFrom {
			from = append(from, string(h.Value))
		}
	}
	if want := "orders.dlq/" + strconv.Itoa(int(p)) + "/" + strconv.FormatInt(o, 10); len(from) != 1 || from[0] != want {
		t.Fatalf("redriven-from headers %q, want just %q", from, want)
	}
}
