package memory

import (
	"bytes"
	"testing"

	"github.com/orderd/orderd/storage"
	"github.com/orderd/orderd/storage/internal/storetest"
)

func TestMemory_KeepsCopies(t *testing.T) {
	m := New()
	r := storetest.Rec(t, storetest.OrderWith(t, "copied", nil))
	want := bytes.Clone(r.JSON)
	// The caller reuses its buffers after SaveOrders, and owns what
	// OrderJSON returns.
	uid := []byte("copied")
	r.Order.OrderUID = string(uid)
	storetest.Save(t, m, r)
	for i := range r.JSON {
		r.JSON[i] = 'x'
	}
	got, err := m.OrderJSON(storetest.Context(t), "copied")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("OrderJSON after the caller reused its buffer = %q, %v; want %q", got, err, want)
	}
	got[0] = 'x'
	if again, _ := m.OrderJSON(storetest.Context(t), "copied"); !bytes.Equal(again, want) {
		t.Errorf("modifying OrderJSON's answer changed the stored order: %q", again)
	}
}

func TestMemory_EachOrderJSONMayWriteBack(t *testing.T) {
	m := New()
	storetest.Save(t, m, storetest.Rec(t, storetest.OrderWith(t, "a", nil)), storetest.Rec(t, storetest.OrderWith(t, "b", nil)))
	// fn runs without the lock held: saving from inside it must not deadlock.
	n := 0
	err := m.EachOrderJSON(storetest.Context(t), 1, func(uid string, _ []byte) error {
		n++
		_, err := m.SaveOrders(storetest.Context(t), []storage.Record{storetest.Rec(t, storetest.OrderWith(t, uid+"-again", nil))})
		return err
	})
	if err != nil || n != 2 {
		t.Errorf("EachOrderJSON saving from fn: %d calls, %v; want 2 calls, nil", n, err)
	}
}
