// Package dlq is the format of orderd's dead-letter topic: the reason codes
// and dlq-* headers the pipeline writes (Letter), how a record reads back
// (Record, Ref), which of a batch's records Kafka refused and why
// (RecordErrors), and redriving chosen records to the orders topic. Reading
// the topic, page by page, is package browse's.
//
// The topic is the source of truth: nothing about dead letters is kept
// anywhere else. It never imports orderd's pipeline, stages, storage or
// server: they import it.
package dlq

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
)

// Reason is the stable code a dead-lettered message carries in its
// dlq-reason header. Tools filter on it, so the codes never change.
type Reason string

// The reasons a message is dead-lettered.
const (
	ReasonInvalidJSON  Reason = "invalid_json"  // not JSON, or JSON followed by garbage
	ReasonInvalidOrder Reason = "invalid_order" // JSON, but not a valid order (shape or rule), or a value PostgreSQL refused
	ReasonTooLarge     Reason = "too_large"     // bigger than the configured limit; not parsed
	ReasonConflict     Reason = "conflict"      // its order_uid is stored with different content
	// ReasonInternalError: processing the message made orderd panic. The
	// bug is orderd's, but the message is what triggers it, so it leaves
	// the pipeline rather than crash every replica that takes it.
	ReasonInternalError Reason = "internal_error"
)

// Reasons lists every reason, in a stable order.
var Reasons = []Reason{ReasonInvalidJSON, ReasonInvalidOrder, ReasonTooLarge, ReasonConflict, ReasonInternalError}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, known := range Reasons {
		if r == known {
			return true
		}
	}
	return false
}

// Headers of a dead-letter record. The original key, value and headers are
// kept unchanged; these are added.
const (
	HeaderReason          = "dlq-reason"           // one Reason code
	HeaderError           = "dlq-error"            // human text naming the field and the rule
	HeaderSourceTopic     = "dlq-source-topic"     // where the message was consumed from
	HeaderSourcePartition = "dlq-source-partition" // decimal
	HeaderSourceOffset    = "dlq-source-offset"    // decimal
	HeaderFailedAt        = "dlq-failed-at"        // RFC 3339, UTC

	// Only on a record cut to fit the dead-letter topic (see Letter.Fit).
	HeaderTruncated      = "dlq-truncated"       // "true"
	HeaderOriginalBytes  = "dlq-original-bytes"  // decimal: the original payload's length
	HeaderOriginalSHA256 = "dlq-original-sha256" // hex: the original payload's SHA-256

	// HeaderRedrivenFrom names the dead-letter record a redriven message
	// came from, as topic/partition/offset. A redrive replaces it; a
	// dead-lettering keeps it, so a redriven message that fails again
	// says where it was redriven from.
	HeaderRedrivenFrom = "redriven-from"
)

// IsOwnHeader reports whether a header is one the dead-lettering adds. It is
// the one rule for both directions: a message dead-lettered again gets fresh
// dlq-* headers instead of a second copy, and a redriven message leaves them
// all behind.
func IsOwnHeader(key string) bool {
	return strings.HasPrefix(key, "dlq-")
}

// Header is one record header.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Record is one dead-letter record as read back from the topic.
type Record struct {
	Partition int32
	Offset    int64
	Timestamp time.Time // when Kafka appended it
	Key       []byte
	// Value is the payload: whole from Get, only its first PreviewBytes
	// in a listing (ValueBytes says how long it is).
	Value []byte
	// ValueBytes is the payload's length on the topic; more than
	// len(Value) when Value is only the start of it.
	ValueBytes int
	Headers    []Header

	// From the dlq-* headers; zero when a header is missing or malformed.
	Reason          Reason
	Error           string
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	FailedAt        time.Time

	// Truncated says the payload was cut to fit the dead-letter topic;
	// OriginalBytes and OriginalSHA256 then describe the message as it
	// arrived. Value holds only what fitted, so it is never redriven as it
	// is (ErrTruncated).
	Truncated      bool
	OriginalBytes  int64
	OriginalSHA256 string
}

// Ref names a record: "partition:offset", as the tools print it.
func (r Record) Ref() string { return Ref{r.Partition, r.Offset}.String() }

// Previewed reports whether Value is only the start of the payload, as in
// a listing: such a record is never redriven as it is.
func (r Record) Previewed() bool { return r.ValueBytes > len(r.Value) }

// PayloadBytes is the length of r's payload on the topic, of which a listed
// record holds only the start.
func (r Record) PayloadBytes() int { return max(r.ValueBytes, len(r.Value)) }

// Preview is the first n bytes of the payload as text, for listings.
func (r Record) Preview(n int) string {
	b := r.Value
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) { // do not cut a character in half
			b = b[:len(b)-1]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// parseHeaders fills the fields derived from the dlq-* headers.
func (r *Record) parseHeaders() {
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderReason:
			r.Reason = Reason(h.Value)
		case HeaderError:
			r.Error = h.Value
		case HeaderSourceTopic:
			r.SourceTopic = h.Value
		case HeaderSourcePartition:
			if p, err := strconv.ParseInt(h.Value, 10, 32); err == nil {
				r.SourcePartition = int32(p)
			}
		case HeaderSourceOffset:
			if o, err := strconv.ParseInt(h.Value, 10, 64); err == nil {
				r.SourceOffset = o
			}
		case HeaderFailedAt:
			if t, err := time.Parse(time.RFC3339, h.Value); err == nil {
				r.FailedAt = t
			}
		case HeaderTruncated:
			r.Truncated = h.Value == "true"
		case HeaderOriginalBytes:
			if n, err := strconv.ParseInt(h.Value, 10, 64); err == nil {
				r.OriginalBytes = n
			}
		case HeaderOriginalSHA256:
			r.OriginalSHA256 = h.Value
		}
	}
}

// Ref is the position of a record on the dead-letter topic.
type Ref struct {
	Partition int32
	Offset    int64
}

func (r Ref) String() string {
	return strconv.FormatInt(int64(r.Partition), 10) + ":" + strconv.FormatInt(r.Offset, 10)
}

// ParseRef parses "partition:offset".
func ParseRef(s string) (Ref, error) {
	p, o, ok := strings.Cut(s, ":")
	part, err1 := strconv.ParseInt(p, 10, 32)
	off, err2 := strconv.ParseInt(o, 10, 64)
	if !ok || err1 != nil || err2 != nil || part < 0 || off < 0 {
		return Ref{}, &RefError{Input: s}
	}
	return Ref{Partition: int32(part), Offset: off}, nil
}

// RefError is a record reference that is not "partition:offset".
type RefError struct{ Input string }

func (e *RefError) Error() string {
	return "invalid record reference " + strconv.Quote(e.Input) + ": want PARTITION:OFFSET, e.g. 0:42"
}

// RecordOf copies msg into a Record. With preview > 0 it keeps only the
// first preview bytes of the value (cut at a character boundary when the
// value is text) for a listing; with 0 the whole value.
func RecordOf(msg *sarama.ConsumerMessage, preview int) Record {
	value := msg.Value
	if preview > 0 {
		value = cutUTF8(value, preview)
	}
	rec := Record{
		Partition:  msg.Partition,
		Offset:     msg.Offset,
		Timestamp:  msg.Timestamp,
		Key:        bytes.Clone(msg.Key),
		Value:      bytes.Clone(value),
		ValueBytes: len(msg.Value),
		Headers:    make([]Header, 0, len(msg.Headers)),
	}
	for _, h := range msg.Headers {
		if h != nil {
			// string() copies: nothing of sarama's buffer is kept.
			rec.Headers = append(rec.Headers, Header{Key: string(h.Key), Value: string(h.Value)})
		}
	}
	rec.parseHeaders()
	return rec
}
