// Package writes saves batches of orders to PostgreSQL, on the write pool
// storage/postgres gives it: set-based statements, one transaction per
// wave of distinct order_uids, each bounded by WRITE_TIMEOUT; bisection
// around the orders PostgreSQL refuses, after a probe that tells a refusing
// schema from a refused order; the termination of sessions a timeout
// abandoned; and the announcement of each committed batch for the
// followers (storage.CommitsChannel).
//
// It never opens a pool, never reads for the API and never imports
// bigcache, Prometheus or the read path.
package writes
