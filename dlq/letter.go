package dlq

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
)

// MaxErrorBytes bounds dlq-error: a message breaking many rules must not
// make its dead-letter record much bigger than the message itself.
const MaxErrorBytes = 4096

// HeaderRoom is what a dead-letter record may need beyond the message it
// carries: the dlq-* headers (dlq-error at most MaxErrorBytes) and
// sarama's per-header size estimate. A dead-letter topic whose
// max.message.bytes exceeds the orders topic's by this much takes every
// message the orders topic accepted, whole.
const HeaderRoom = 16 << 10

// BatchOverhead is the part of a Kafka record batch that is not its
// records: the broker compares max.message.bytes with the whole batch, while
// sarama's Producer.MaxMessageBytes counts only records. A producer limit
// this much below the topic's never builds a batch the broker refuses.
const BatchOverhead = 61

// Letter is a message condemned to the dead-letter topic: the message as it
// was consumed and why it can never be processed.
type Letter struct {
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	Key             []byte // nil when the message had none
	Value           []byte
	Headers         []sarama.RecordHeader // the message's own headers
	Reason          Reason
	Error           string // human text naming the field and the rule
	FailedAt        time.Time
}

// Message is the dead-letter record of l on topic: the original key, value
// and headers, unchanged, plus the dlq-* headers. Headers of an earlier
// dead-lettering (a redriven message that failed again) are replaced, not
// repeated.
func (l Letter) Message(topic string) *sarama.ProducerMessage {
	msg := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(l.Value)}
	if l.Key != nil {
		msg.Key = sarama.ByteEncoder(l.Key)
	}
	msg.Headers = append(foreignHeaders(l.Headers), l.ownHeaders(MaxErrorBytes)...)
	return msg
}

// Fit returns l's dead-letter record on topic if it is at most limit bytes as
// the producer counts them (sarama's ByteSize), or else a copy that fits:
//
//  1. the payload cut to the room that is left, with dlq-truncated: true,
//     dlq-original-bytes and dlq-original-sha256 naming what was cut;
//  2. if the headers leave no room, an empty payload and none of the
//     message's own headers;
//  3. then without the key, and dlq-error cut short.
//
// A message too large for the dead-letter topic is its own fault, never an
// outage: retrying it as it is would stall its partition for good. Fit's
// last step is a few hundred bytes, so only a limit smaller than that fails
// to fit; truncated says whether anything was cut.
func (l Letter) Fit(topic string, limit int) (msg *sarama.ProducerMessage, truncated bool) {
	if msg = l.Message(topic); size(msg) <= limit {
		return msg, false
	}
	sum := sha256.Sum256(l.Value)
	cut := []sarama.RecordHeader{
		header(HeaderTruncated, "true"),
		header(HeaderOriginalBytes, strconv.Itoa(len(l.Value))),
		header(HeaderOriginalSHA256, hex.EncodeToString(sum[:])),
	}

	// 1. As much of the payload as fits beside every header.
	msg.Headers = append(msg.Headers, cut...)
	msg.Value = sarama.ByteEncoder(nil)
	if room := limit - size(msg); room > 0 {
		msg.Value = sarama.ByteEncoder(cutUTF8(l.Value, room))
		return msg, true
	}
	// 2. No payload, and only orderd's own headers.
	msg.Headers = append(l.ownHeaders(MaxErrorBytes), cut...)
	if size(msg) <= limit {
		return msg, true
	}
	// 3. No key either, and a short reason.
	msg.Key = nil
	msg.Headers = append(l.ownHeaders(shortErrorBytes), cut...)
	return msg, true
}

// shortErrorBytes is dlq-error's length when even the headers must shrink.
const shortErrorBytes = 256

func size(msg *sarama.ProducerMessage) int { return msg.ByteSize(2) }

func (l Letter) ownHeaders(maxError int) []sarama.RecordHeader {
	return []sarama.RecordHeader{
		header(HeaderReason, string(l.Reason)),
		header(HeaderError, truncateUTF8(l.Error, maxError)),
		header(HeaderSourceTopic, l.SourceTopic),
		header(HeaderSourcePartition, strconv.FormatInt(int64(l.SourcePartition), 10)),
		header(HeaderSourceOffset, strconv.FormatInt(l.SourceOffset, 10)),
		header(HeaderFailedAt, l.FailedAt.UTC().Format(time.RFC3339)),
	}
}

// foreignHeaders is hs without the headers orderd itself writes.
func foreignHeaders(hs []sarama.RecordHeader) []sarama.RecordHeader {
	out := make([]sarama.RecordHeader, 0, len(hs)+8)
	for _, h := range hs {
		if !IsOwnHeader(string(h.Key)) {
			out = append(out, h)
		}
	}
	return out
}

func header(k, v string) sarama.RecordHeader {
	return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
}

// truncateUTF8 cuts s to at most n bytes at a character boundary, marking
// the cut with an ellipsis.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	end := n - len("…")
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "…"
}

// cutUTF8 is the first n bytes of b, backed off to a character boundary when
// b is text, so that a cut JSON payload still reads as text.
func cutUTF8(b []byte, n int) []byte {
	if n >= len(b) {
		return b
	}
	end := n
	for back := 0; back < utf8.UTFMax && end > 0 && !utf8.RuneStart(b[end]); back++ {
		end--
	}
	if !utf8.RuneStart(b[end]) {
		end = n // not text: cut where the room ends
	}
	return b[:end]
}
