// Package schema is orderd's PostgreSQL schema: the migrations, embedded so
// the binary is the whole deployment, and Migrate, which applies them under
// a lock so that replicas starting together take turns.
//
// It never imports anything of orderd's: the store calls it, never the
// other way round.
package schema
