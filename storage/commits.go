package storage

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CommitsChannel is the PostgreSQL channel each committed batch of SaveOrders
// is announced on (when postgres.Pools.Origin is set), and that every follower
// LISTENs on. Notifications stay within one database, so orderd deployments
// on different databases of one server do not hear each other.
const CommitsChannel = "orderd_commits"

// Commit is one announced batch: transaction Xact of SaveOrders, by the
// orderd named Origin, inserted orders with ingest sequence numbers
// (orders.id) from From to To. Other transactions' orders may lie in
// between, since writers take sequence numbers concurrently: the rows whose
// xmin is Xact are the batch's. At is PostgreSQL's clock when the batch was
// announced, just before it committed.
//
// On the wire it is five fields, "origin xact from to at": a few dozen
// bytes however large the batch, far below PostgreSQL's 8,000-byte limit.
type Commit struct {
	Origin   string
	Xact     uint32
	From, To int64
	At       time.Time
}

// ParseCommit reads a notification's payload.
func ParseCommit(payload string) (Commit, error) {
	f := strings.Fields(payload)
	if len(f) != 5 {
		return Commit{}, fmt.Errorf("commit notification %q: want 5 fields, not %d", payload, len(f))
	}
	xact, err0 := strconv.ParseUint(f[1], 10, 32)
	from, err1 := strconv.ParseInt(f[2], 10, 64)
	to, err2 := strconv.ParseInt(f[3], 10, 64)
	at, err3 := strconv.ParseInt(f[4], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil || err3 != nil || from > to {
		return Commit{}, fmt.Errorf("commit notification %q: want \"origin xact from to microseconds\"", payload)
	}
	return Commit{Origin: f[0], Xact: uint32(xact), From: from, To: to, At: time.UnixMicro(at)}, nil
}
