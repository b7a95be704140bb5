package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migrateLockID is orderd's own advisory lock around migrating, taken
// before golang-migrate's (a different id, so neither waits for the other
// in one process).
const migrateLockID int64 = 0x6f72646572640001 // "orderd" 0001

// migrateLockPoll is how often a replica that found the lock taken tries
// again.
const migrateLockPoll = 50 * time.Millisecond

// lockMigrations takes orderd's migration lock on a connection of db of its
// own, trying without blocking until ctx ends, and returns what releases it.
//
// golang-migrate's lock is a blocking pg_advisory_lock: a replica waiting in
// it sits inside a statement, with a snapshot, and CREATE INDEX
// CONCURRENTLY on the replica that holds the lock waits for every older
// snapshot to go: each waits for the other, and PostgreSQL kills one as a
// deadlock. Polling pg_try_advisory_lock holds no snapshot between tries,
// so the replicas that start together queue here, and golang-migrate's own
// lock is never contended.
func lockMigrations(ctx context.Context, db *sql.DB) (release func() error, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	t := time.NewTicker(migrateLockPoll)
	defer t.Stop()
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, migrateLockID).Scan(&ok); err != nil {
			return nil, errors.Join(fmt.Errorf("migrate: lock: %w", err), conn.Close())
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("migrate: wait for another replica's migration: %w", ctx.Err()), conn.Close())
		case <-t.C:
		}
	}
	return func() error {
		// Unlocked explicitly: closing conn only returns it to db's pool,
		// and the lock lives as long as the session.
		_, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrateLockID)
		return errors.Join(err, conn.Close())
	}, nil
}
