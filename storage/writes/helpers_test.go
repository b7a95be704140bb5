package writes_test

import (
	"testing"

	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/postgres"
)

// openPostgres opens a store on a fresh database of its own: the write
// path is tested as the daemon runs it, on the store's write pool.
func openPostgres(t testing.TB) *postgres.Store { return storetest.Open(t, postgres.Open) }

// count returns the result of a count(*) query on p's bulk pool.
func count(t testing.TB, p *postgres.Store, query string, args ...any) int {
	t.Helper()
	return storetest.Count(t, p.Pool(), query, args...)
}
