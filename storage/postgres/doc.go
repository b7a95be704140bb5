// Package postgres is the Store on PostgreSQL: it connects, sizes a
// connection pool for each kind of work (writes, cache misses, lists,
// bulk reads), applies the schema (storage/schema) and answers the Store's
// queries: one order's JSON, every order for the warm-up, the estimate, and
// the list, search and count pages. Saving batches is storage/writes' job,
// on the write pool this package makes for it.
//
// It never imports bigcache, Prometheus or the read path: a cache sits in
// front of a Store (storage/reads), never inside this one.
package postgres
