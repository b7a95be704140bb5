package postgres

import (
	"testing"

	"github.com/orderd/orderd/storage/internal/storetest"
)

// openPostgres opens a Store on a fresh database of its own.
func openPostgres(t testing.TB) *Store { return storetest.Open(t, Open) }

// count returns the result of a count(*) query on p's bulk pool.
func count(t testing.TB, p *Store, query string, args ...any) int {
	t.Helper()
	return storetest.Count(t, p.Pool(), query, args...)
}
