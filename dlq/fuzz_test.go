package dlq

import (
	"testing"
)

// FuzzRecordHeaders: whatever headers a record on the dead-letter topic
// carries (anyone may produce to it), reading them never panics, and what
// is read of a well-formed set is what was written. Seeds in
// testdata/fuzz/FuzzRecordHeaders.
func FuzzRecordHeaders(f *testing.F) {
	f.Add(HeaderReason, "invalid_json", HeaderSourcePartition, "2", HeaderOriginalBytes, "100000")
	f.Add(HeaderSourceOffset, "-1", HeaderFailedAt, "not a time", HeaderTruncated, "yes")
	f.Add(HeaderSourcePartition, "99999999999999999999", HeaderOriginalSHA256, "\x00\xff", HeaderRedrivenFrom, "orders.dlq/0/1")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		r := Record{Headers: []Header{{k1, v1}, {k2, v2}, {k3, v3}}}
		r.parseHeaders()
		_ = r.Preview(1 << 10) // a listing's preview (browse.PreviewBytes)
		if k1 == HeaderReason && k2 != HeaderReason && k3 != HeaderReason && r.Reason != Reason(v1) {
			t.Fatalf("dlq-reason %q read as %q", v1, r.Reason)
		}
	})
}

// FuzzParseRef: any text is a PARTITION:OFFSET or a *RefError, and a ref
// prints back as it parsed.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"0:42", "12:0", "0-42", ":42", "1:-3", "a:b", "2147483648:1", "1:9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseRef(s)
		if err != nil {
			return
		}
		if again, err := ParseRef(ref.String()); err != nil || again != ref {
			t.Fatalf("%q parsed as %v, which parses back as %v, %v", s, ref, again, err)
		}
	})
}
