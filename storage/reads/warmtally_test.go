package reads

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/postgres"
)

// takingTurns is a store whose warm-up lets another goroutine take a turn
// after every other order it reads, so that the two interleave for sure.
type takingTurns struct {
	storage.Store
	turn chan<- struct{}
	done <-chan struct{}
}

func (s *takingTurns) EachOrderJSON(ctx context.Context, streams int, fn func(uid string, json []byte) error) error {
	i := 0
	return s.Store.EachOrderJSON(ctx, streams, func(uid string, json []byte) error {
		if err := fn(uid, json); err != nil {
			return err
		}
		if i++; i%2 != 0 {
			return nil
		}
		s.turn <- struct{}{}
		select {
		case <-s.done:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the other goroutine did not take its turn within 10s")
		}
	})
}

// Ingest puts orders in the cache while the warm-up fills it, and they are
// evicted too: the report counts only what the warm-up put and still holds.
func TestOrders_WarmUpReportIsTrueWithIngestRunning(t *testing.T) {
	p := storetest.Open(t, postgres.Open)
	warm := storetest.SaveN(t, p, "warm", 3000, 500) // about 4 MB of JSON for a 1 MiB cache
	docs := make(map[string][]byte, len(warm))
	for _, uid := range warm {
		docs[uid] = storetest.Rec(t, storetest.OrderWith(t, uid, nil)).JSON
	}
	turn, done := make(chan struct{}), make(chan struct{})
	c := newTestCache(t, 1<<20)
	o := NewOrders(&takingTurns{Store: p, turn: turn, done: done}, c, OrdersOptions{})

	// Put before the warm-up began: fresh orders, and some the warm-up
	// reads again at its end (its entries replace those).
	for i := range 50 {
		uid := fmt.Sprintf("early-%d", i)
		o.Put(uid, storetest.Rec(t, storetest.OrderWith(t, uid, nil)).JSON)
		uid = warm[len(warm)-1-i]
		o.Put(uid, docs[uid])
	}
	ingested := make(chan int, 1)
	go func() {
		n := 0
		for range turn {
			uid := fmt.Sprintf("ingest-%d", n)
			o.Put(uid, storetest.Rec(t, storetest.OrderWith(t, uid, nil)).JSON)
			n++
			done <- struct{}{}
		}
		ingested <- n
	}()
	expect, err := p.EstimateOrders(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	evictedBefore := c.Stats().Evictions
	rep, err := o.WarmUp(storetest.Context(t), expect)
	close(turn)
	if err != nil {
		t.Fatal(err)
	}
	n := <-ingested

	cached, cachedBytes := 0, int64(0)
	for _, uid := range warm {
		if _, ok := c.Get(uid); ok {
			cached++
			cachedBytes += int64(len(uid) + len(docs[uid]))
		}
	}
	t.Logf("%d orders ingested during the warm-up; %+v; %d evictions in all", n, rep, c.Stats().Evictions-evictedBefore)
	if rep.Read != len(warm) || rep.Cached != cached || rep.CachedBytes != cachedBytes {
		t.Errorf("the report says %d of %d orders cached (%d bytes); the cache holds %d of them (%d bytes)",
			rep.Cached, rep.Read, rep.CachedBytes, cached, cachedBytes)
	}
	// Meaningful only if both lost entries.
	if rep.OthersEvicted == 0 || cached == len(warm) || cached == 0 {
		t.Errorf("%d of ingest's entries evicted, %d of the warm-up's %d cached: the cache was not too small for both", rep.OthersEvicted, cached, len(warm))
	}
}
