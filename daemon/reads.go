package daemon

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/orderd/orderd/storage"
)

var errNotReady = errors.New("order store not connected yet")

// lateOrders lets the HTTP server start before the store is connected: until
// then every read fails (503) instead of the server waiting for PostgreSQL.
type lateOrders struct {
	orders atomic.Pointer[storage.Orders]
}

func (l *lateOrders) set(o *storage.Orders) { l.orders.Store(o) }

func (l *lateOrders) Get(ctx context.Context, uid string) ([]byte, error) {
	o := l.orders.Load()
	if o == nil {
		return nil, errNotReady
	}
	return o.Get(ctx, uid)
}
