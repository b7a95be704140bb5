// Package memory is the Store kept in a map, for demo mode (no database
// configured) and for tests: the same contract as storage/postgres, saving,
// reading, listing and searching, in memory.
//
// It never imports pgx, bigcache or any other storage sub-package.
package memory
