package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// Each kind of work has its own connections: with every list connection
// and every bulk connection taken (a list flood, a warm-up), writes and
// cache-miss reads still get theirs at once, and a list query gives up
// after ListWait with ErrListBusy instead of queueing without end.
func TestPostgres_ListsAndWarmUpCannotTakeTheWritersConnections(t *testing.T) {
	url := testenv.Postgres(t)
	p, err := OpenWith(storetest.Context(t), url, Pools{Writers: 1, Reads: 1, Lists: 1, ListWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	storetest.Save(t, p, storetest.Rec(t, storetest.OrderWith(t, "first", nil)))

	// The flood: every list and bulk connection busy.
	ctx := storetest.Context(t)
	listConn, err := p.list.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listConn.Release()
	for range bulkConns {
		c, err := p.bulk.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}

	start := time.Now()
	if _, err := p.ListOrders(ctx, 0, 10); !errors.Is(err, storage.ErrListBusy) || !strings.Contains(err.Error(), "LIST_CONCURRENCY") {
		t.Fatalf("ListOrders with the list pool taken = %v, want ErrListBusy naming LIST_CONCURRENCY", err)
	}
	if _, err := p.CountOrders(ctx); !errors.Is(err, storage.ErrListBusy) {
		t.Fatalf("CountOrders with the list pool taken = %v, want ErrListBusy", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("two busy list queries took %v: they must give up after ListWait", waited)
	}
	writeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if res, err := p.SaveOrders(writeCtx, []storage.Record{storetest.Rec(t, storetest.OrderWith(t, "second", nil))}); err != nil || res[0].Outcome != storage.Inserted {
		t.Fatalf("SaveOrders while lists and bulk are busy = %v, %v", res, err)
	}
	if _, err := p.OrderJSON(writeCtx, "second"); err != nil {
		t.Fatalf("OrderJSON while lists and bulk are busy = %v", err)
	}

	listConn.Release()
	if got, err := p.ListOrders(ctx, 0, 10); err != nil || len(got) != 2 || got[0].Items != 1 {
		t.Fatalf("ListOrders once the list pool is free = %+v, %v", got, err)
	}
}

func TestOpenPostgres_RefusesPoolMaxConns(t *testing.T) {
	_, err := Open(storetest.Context(t), testenv.Postgres(t)+"&pool_max_conns=3")
	if err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("OpenPostgres with pool_max_conns = %v, want a refusal saying what to do", err)
	}
}

// Only the writers' sessions get WRITE_TIMEOUT as their
// idle_in_transaction_session_timeout, and a URL's own setting wins.
func TestPostgres_OnlyTheWritersSessionsEndIdleTransactions(t *testing.T) {
	url := testenv.Postgres(t)
	show := func(t *testing.T, p *Store) (write, bulk string) {
		t.Helper()
		ctx := storetest.Context(t)
		if err := p.write.QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&write); err != nil {
			t.Fatal(err)
		}
		if err := p.bulk.QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&bulk); err != nil {
			t.Fatal(err)
		}
		return write, bulk
	}
	p, err := OpenWith(storetest.Context(t), url, Pools{Writers: 1, Reads: 1, Lists: 1, WriteTimeout: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if write, bulk := show(t, p); write != "7s" || bulk != "0" {
		t.Errorf("idle_in_transaction_session_timeout: writers %q, bulk %q; want 7s and 0", write, bulk)
	}

	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	own, err := OpenWith(storetest.Context(t), url+sep+"idle_in_transaction_session_timeout=9000", Pools{Writers: 1, Reads: 1, Lists: 1, WriteTimeout: 7 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if write, _ := show(t, own); write != "9s" {
		t.Errorf("with the URL's own setting, writers have %q; want 9s", write)
	}
}

// LIST_QUEUE_TIMEOUT bounds the wait behind other list queries, not the
// dialling of a connection: with no other list query running, one whose
// connection takes longer than ListWait to open (a slow network, a loaded
// server) waits for it instead of failing as busy.
func TestPostgres_ADialSlowerThanListWaitIsNotBusy(t *testing.T) {
	url := testenv.Postgres(t)
	proxiedURL, proxy := testenv.BehindProxy(t, url)
	p, err := OpenWith(storetest.Context(t), proxiedURL, Pools{Writers: 1, Reads: 1, Lists: 1, ListWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := storetest.Context(t)
	p.list.Reset() // no idle list connection: the query dials one
	proxy.Slow(100 * time.Millisecond)
	if _, err := p.ListOrders(ctx, 0, 10); err != nil {
		t.Fatalf("ListOrders with no other list query, over a slow dial = %v, want its answer", err)
	}
}
