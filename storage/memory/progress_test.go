package memory

import (
	"testing"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

func TestMemory_SaveOrdersReportsProgressOnce(t *testing.T) {
	recs := []storage.Record{storetest.Rec(t, storetest.OrderWith(t, "a", nil)), storetest.Rec(t, storetest.OrderWith(t, "b", nil))}
	if _, calls := storetest.SaveCounting(t, New(), recs...); calls != 1 {
		t.Errorf("%d calls; want 1", calls)
	}
}
