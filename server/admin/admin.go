// Package admin is the operator's API over the dead-letter topic, behind
// the admin token: GET /api/admin/dlq lists dead letters page by page, GET
// /api/admin/dlq/{partition}/{offset} shows one, POST
// /api/admin/dlq/redrive publishes them to the orders topic again. It
// reads and redrives through DeadLetters (dlq and dlq/browse speak to
// Kafka), and never imports the stores, the stages or the daemon.
package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/orderd/orderd/dlq"
	"github.com/orderd/orderd/dlq/browse"
	"github.com/orderd/orderd/server/reply"
)

// DeadLetters is the dead-letter topic as the admin API sees it.
type DeadLetters interface {
	// ListPage lists one page and says how the listing continues.
	ListPage(ctx context.Context, f browse.Filter) (browse.Page, error)
	Get(ctx context.Context, ref dlq.Ref) (dlq.Record, error)
	Redrive(ctx context.Context, refs []dlq.Ref, payload []byte) ([]dlq.Redriven, error)
}

// Limits of the admin API.
const (
	defaultDLQLimit = 50
	maxDLQLimit     = 500
	// MaxRedrive is the most records one redrive request names: they are
	// read in one pass per partition and sent together, well within
	// the API timeout (TestAdmin_Redrives500OfAHundredThousandInTime logs
	// what 500 take: 216 ms here).
	MaxRedrive   = 500
	maxAdminBody = 4 << 20 // a redrive request body
	previewBytes = 120     // payload shown in a listing
)

// RequireToken lets a request through only with "Authorization: Bearer
// <token>". Both sides are hashed before the constant-time comparison, so
// neither the token's bytes nor its length leak through timing. A refusal
// carries no payload bytes.
func RequireToken(token string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	want := sha256.Sum256([]byte(token))
	return func(ctx *fasthttp.RequestCtx) {
		presented, ok := bytes.CutPrefix(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization), []byte("Bearer "))
		got := sha256.Sum256(presented)
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="orderd admin"`)
			reply.Error(ctx, fasthttp.StatusUnauthorized, "missing or invalid admin token: send Authorization: Bearer <ADMIN_TOKEN>")
			return
		}
		h(ctx)
	}
}

// Disabled answers every admin route when ADMIN_TOKEN is not set.
func Disabled() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		reply.Error(ctx, fasthttp.StatusNotFound, "the admin API is disabled: start orderd with ADMIN_TOKEN set")
	}
}

// Record is one dead letter as the admin API answers it.
type Record struct {
	Ref             string     `json:"ref"`
	Partition       int32      `json:"partition"`
	Offset          int64      `json:"offset"`
	FailedAt        *time.Time `json:"failed_at,omitempty"`
	Reason          dlq.Reason `json:"reason"`
	Error           string     `json:"error"`
	SourceTopic     string     `json:"source_topic"`
	SourcePartition int32      `json:"source_partition"`
	SourceOffset    int64      `json:"source_offset"`
	// AppendedAt is when Kafka appended it: what a listing is ordered and
	// "since" filters by.
	AppendedAt   *time.Time `json:"appended_at,omitempty"`
	Key          string     `json:"key"`
	PayloadBytes int        `json:"payload_bytes"` // the payload's length on the topic
	Preview      string     `json:"preview,omitempty"`

	// Only for a record cut to fit the dead-letter topic: its payload is
	// then the start of the message, and these describe the whole.
	Truncated      bool   `json:"truncated,omitempty"`
	OriginalBytes  int64  `json:"original_bytes,omitempty"`
	OriginalSHA256 string `json:"original_sha256,omitempty"`

	// Only when one record is shown.
	Headers       []dlq.Header `json:"headers,omitempty"`
	Payload       *string      `json:"payload,omitempty"`
	PayloadBase64 string       `json:"payload_base64,omitempty"`
	PayloadIsJSON bool         `json:"payload_is_json,omitempty"`
}

func dlqRecord(r dlq.Record) Record {
	out := Record{
		Ref: r.Ref(), Partition: r.Partition, Offset: r.Offset, Reason: r.Reason, Error: r.Error,
		SourceTopic: r.SourceTopic, SourcePartition: r.SourcePartition, SourceOffset: r.SourceOffset,
		Key: strings.ToValidUTF8(string(r.Key), "\uFFFD"),
	}
	if !r.FailedAt.IsZero() {
		out.FailedAt = &r.FailedAt
	}
	if !r.Timestamp.IsZero() {
		out.AppendedAt = &r.Timestamp
	}
	out.PayloadBytes = r.PayloadBytes()
	if r.Truncated {
		out.Truncated, out.OriginalBytes, out.OriginalSHA256 = true, r.OriginalBytes, r.OriginalSHA256
	}
	return out
}

// List serves GET
// /api/admin/dlq?reason=CODE&limit=N&since=DURATION&cursor=CURSOR.
//
// It answers {"records": [...]} newest first (by when Kafka appended
// them), with "next": a cursor for the query's next page (the same reason
// and since, cursor=NEXT) when it stopped early; "partial": true when it
// stopped at its time budget (half of timeout, so that a filter matching
// little of a long topic still answers) rather than at limit; and
// "trimmed": [{"partition", "oldest"}] for partitions retention trimmed
// while they were being listed.
func List(d DeadLetters, timeout time.Duration) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		args := ctx.QueryArgs()
		limit, ok := intArg(ctx, args.Peek("limit"), defaultDLQLimit, 1, maxDLQLimit, "limit")
		if !ok {
			return
		}
		f := browse.Filter{Limit: limit, Reason: dlq.Reason(args.Peek("reason")), Cursor: string(args.Peek("cursor")), Budget: timeout / 2}
		if f.Reason != "" && !f.Reason.Valid() {
			reply.Error(ctx, fasthttp.StatusBadRequest, "invalid reason: want one of "+reasonList())
			return
		}
		if s := args.Peek("since"); len(s) > 0 {
			since, err := time.ParseDuration(string(s))
			if err != nil || since <= 0 {
				reply.Error(ctx, fasthttp.StatusBadRequest, "invalid since: want a duration such as 90m or 24h")
				return
			}
			f.Since = since
		}
		if !browse.ValidCursor(f.Cursor) {
			reply.Error(ctx, fasthttp.StatusBadRequest, `invalid cursor: pass the "next" of an earlier answer unchanged, with the same reason and since`)
			return
		}
		reqCtx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		page, err := d.ListPage(reqCtx, f)
		if err != nil {
			writeDLQError(ctx, err)
			return
		}
		out := struct {
			Records []Record         `json:"records"`
			Next    string           `json:"next,omitempty"`
			Partial bool             `json:"partial,omitempty"`
			Trimmed []browse.Trimmed `json:"trimmed,omitempty"`
		}{Records: make([]Record, len(page.Records)), Next: page.Next, Partial: page.Partial, Trimmed: page.Trimmed}
		for i, r := range page.Records {
			out.Records[i] = dlqRecord(r)
			out.Records[i].Preview = r.Preview(previewBytes)
		}
		reply.JSON(ctx, fasthttp.StatusOK, out)
	}
}

// Show serves GET /api/admin/dlq/{partition}/{offset}.
func Show(d DeadLetters, timeout time.Duration) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		p, _ := ctx.UserValue("partition").(string)
		o, _ := ctx.UserValue("offset").(string)
		ref, err := dlq.ParseRef(p + ":" + o)
		if err != nil {
			reply.Error(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		reqCtx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		rec, err := d.Get(reqCtx, ref)
		if err != nil {
			writeDLQError(ctx, err)
			return
		}
		out := dlqRecord(rec)
		out.Headers = rec.Headers
		payload := strings.ToValidUTF8(string(rec.Value), "\uFFFD")
		out.Payload = &payload
		out.PayloadBase64 = base64.StdEncoding.EncodeToString(rec.Value)
		out.PayloadIsJSON = utf8.Valid(rec.Value) && json.Valid(rec.Value)
		reply.JSON(ctx, fasthttp.StatusOK, out)
	}
}

type redriveRequest struct {
	Records []string `json:"records"`
	Payload *string  `json:"payload"`
}

// Redriven is one record a redrive published: from where, to where.
type Redriven struct {
	From      string `json:"from"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Redrive serves POST /api/admin/dlq/redrive.
func Redrive(d DeadLetters, timeout time.Duration) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		body := ctx.PostBody()
		if len(body) > maxAdminBody {
			reply.Error(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		var req redriveRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			reply.Error(ctx, fasthttp.StatusBadRequest, `invalid request body: want {"records":["PARTITION:OFFSET",...],"payload":"optional"}: `+err.Error())
			return
		}
		switch {
		case len(req.Records) == 0:
			reply.Error(ctx, fasthttp.StatusBadRequest, "records: name 1 to "+strconv.Itoa(MaxRedrive)+" records as PARTITION:OFFSET")
			return
		case len(req.Records) > MaxRedrive:
			reply.Error(ctx, fasthttp.StatusBadRequest, "records: a redrive takes at most "+strconv.Itoa(MaxRedrive)+
				" records, got "+strconv.Itoa(len(req.Records))+": send them in requests of "+strconv.Itoa(MaxRedrive)+" or fewer")
			return
		}
		refs := make([]dlq.Ref, len(req.Records))
		for i, s := range req.Records {
			ref, err := dlq.ParseRef(s)
			if err != nil {
				reply.Error(ctx, fasthttp.StatusBadRequest, err.Error())
				return
			}
			refs[i] = ref
		}
		var payload []byte
		if req.Payload != nil {
			payload = []byte(*req.Payload)
		}
		reqCtx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		done, err := d.Redrive(reqCtx, refs, payload)
		out := struct {
			Redriven []Redriven `json:"redriven"`
			Error    string     `json:"error,omitempty"`
		}{Redriven: make([]Redriven, len(done))}
		for i, r := range done {
			out.Redriven[i] = Redriven{From: r.From.String(), Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
		}
		if err != nil {
			// Say what was redriven before the failure, so a retry can
			// leave those out (redriving them again would be harmless).
			out.Error = err.Error()
			if errors.Is(err, dlq.ErrTruncated) {
				out.Error += ` (the whole corrected message as "payload", with this record alone in "records")`
			}
			reply.JSON(ctx, dlqErrorStatus(err), out)
			return
		}
		reply.JSON(ctx, fasthttp.StatusOK, out)
	}
}

func writeDLQError(ctx *fasthttp.RequestCtx, err error) {
	reply.Error(ctx, dlqErrorStatus(err), err.Error())
}

func dlqErrorStatus(err error) int {
	switch {
	case errors.Is(err, browse.ErrNotFound):
		return fasthttp.StatusNotFound
	case errors.Is(err, dlq.ErrPayloadNeedsOneRecord), errors.Is(err, browse.ErrBadCursor), errors.Is(err, dlq.ErrRedriveTooLarge):
		return fasthttp.StatusBadRequest
	case errors.Is(err, dlq.ErrTruncated): // well formed, but the record's state allows it only with a payload
		return fasthttp.StatusConflict
	default: // Kafka unreachable, topic missing, timeout
		return fasthttp.StatusServiceUnavailable
	}
}

func reasonList() string {
	s := make([]string, len(dlq.Reasons))
	for i, r := range dlq.Reasons {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// intArg parses an optional integer query argument within [lo, hi]; on a bad
// value it answers 400 naming the argument and returns false.
func intArg(ctx *fasthttp.RequestCtx, raw []byte, def, lo, hi int, name string) (int, bool) {
	if len(raw) == 0 {
		return def, true
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < lo || n > hi {
		reply.Error(ctx, fasthttp.StatusBadRequest, "invalid "+name+": want an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
		return 0, false
	}
	return n, true
}
