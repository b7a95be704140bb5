package storage

import (
	"bytes"
	"testing"
)

func TestMemory_KeepsCopies(t *testing.T) {
	m := NewMemory()
	r := rec(t, orderWith(t, "copied", nil))
	want := bytes.Clone(r.JSON)
	// The caller reuses its buffers after SaveOrders, and owns what
	// OrderJSON returns.
	uid := []byte("copied")
	r.Order.OrderUID = string(uid)
	save(t, m, r)
	for i := range r.JSON {
		r.JSON[i] = 'x'
	}
	got, err := m.OrderJSON(testContext(t), "copied")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("OrderJSON after the caller reused its buffer = %q, %v; want %q", got, err, want)
	}
	got[0] = 'x'
	if again, _ := m.OrderJSON(testContext(t), "copied"); !bytes.Equal(again, want) {
		t.Errorf("modifying OrderJSON's answer changed the stored order: %q", again)
	}
}

func TestMemory_EachOrderJSONMayWriteBack(t *testing.T) {
	m := NewMemory()
	save(t, m, rec(t, orderWith(t, "a", nil)), rec(t, orderWith(t, "b", nil)))
	// fn runs without the lock held: saving from inside it must not deadlock.
	n := 0
	err := m.EachOrderJSON(testContext(t), 1, func(uid string, _ []byte) error {
		n++
		_, err := m.SaveOrders(testContext(t), []Record{rec(t, orderWith(t, uid+"-again", nil))})
		return err
	})
	if err != nil || n != 2 {
		t.Errorf("EachOrderJSON saving from fn: %d calls, %v; want 2 calls, nil", n, err)
	}
}
