package browse

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
)

// A cursor is where a listing continues: for each partition with records
// left to examine, the offset to continue below (everything at or above it
// was listed or did not match), and how many offsets to read at a time
// there, so that a continued listing reads as fast as the page before it.
// A partition a cursor leaves out has nothing left; one added to the topic
// later is not listed by it.
//
// A page that stopped holding a match it could not list yet (an older
// partition's next match was still unknown) says so: the record below the
// offset matches, and none from skip up to it does. The next page reads
// that record alone and goes on below skip, rather than read it all again.
//
// It travels as an opaque string, "1" and the unpadded base64url of
// "PARTITION:OFFSET:CHUNK[:SKIP],...": only letters, digits, '-' and '_',
// safe in a query string as it is. The leading version digit lets the form
// change.
type cursor map[int32]resume

// resume is where one partition's walk continues.
type resume struct {
	below int64 // offsets from below up are done
	chunk int   // offsets to read at a time; 0 to start afresh
	skip  int64 // with below-1 a match, none in [skip, below-1); -1 when unknown
}

const cursorVersion = "1"

func (c cursor) String() string {
	if len(c) == 0 {
		return ""
	}
	ps := make([]int32, 0, len(c))
	for p := range c {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	var b []byte
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, c[p].below, 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c[p].chunk), 10)
		if c[p].skip >= 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, c[p].skip, 10)
		}
	}
	return cursorVersion + base64.RawURLEncoding.EncodeToString(b)
}

// parseCursor reads a cursor written by cursor.String; "" is the start of
// a listing, nil.
func parseCursor(s string) (cursor, error) {
	if s == "" {
		return nil, nil
	}
	body, ok := strings.CutPrefix(s, cursorVersion)
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if !ok || err != nil || len(raw) == 0 {
		return nil, ErrBadCursor
	}
	c := cursor{}
	for entry := range strings.SplitSeq(string(raw), ",") {
		f := strings.Split(entry, ":")
		if len(f) != 3 && len(f) != 4 {
			return nil, ErrBadCursor
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		n, err3 := strconv.ParseInt(f[2], 10, 32)
		skip, err4 := int64(-1), error(nil)
		if len(f) == 4 {
			skip, err4 = strconv.ParseInt(f[3], 10, 64)
		}
		if _, dup := c[int32(p)]; err1 != nil || err2 != nil || err3 != nil || err4 != nil ||
			p < 0 || o < 0 || n < 0 || dup || (len(f) == 4 && (skip < 0 || skip >= o)) {
			return nil, ErrBadCursor
		}
		c[int32(p)] = resume{below: o, chunk: min(int(n), maxChunk), skip: skip}
	}
	return c, nil
}

// ValidCursor reports whether s is "" or a cursor a listing returned, so
// that a caller can refuse a malformed one before reading anything.
func ValidCursor(s string) bool {
	_, err := parseCursor(s)
	return err == nil
}
