// Package reads is the read path: a bigcache Cache of pre-encoded JSON in
// front of any storage.Store (Orders), read-through on a miss with
// singleflight, a negative cache and a bounded number of queries; the
// warm-up that fills the cache from the store, with its true report
// (warmtally.go); and the Prometheus collector of its counters.
//
// It never imports pgx or a storage sub-package: it reads through the
// storage.Store interface only, so it works the same over PostgreSQL and
// over memory.
package reads
