package dlq

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
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
