package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrations is the schema, versioned NNNNNN_name.up.sql as golang-migrate
// expects. Embedded so the binary is the whole deployment.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Migrate brings the database schema to the newest embedded version.
//
// golang-migrate rather than a hand-written runner: it serializes replicas
// that start together on a PostgreSQL advisory lock (held on its own session
// around both the version-table creation and the migrations), records the
// version with a dirty flag so a half-applied migration stops every replica
// instead of being run twice, and its CLI lets an operator inspect and fix
// that state with the same files.
//
// The migrator gets its own connection (database/sql over the pool's
// connection settings), not one borrowed from the pool: the advisory lock is
// session-scoped, and closing that session is what guarantees the lock is
// released even if unlocking failed.
func Migrate(ctx context.Context, connCfg *pgx.ConnConfig) (err error) {
	src, err := iofs.New(Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: read embedded migrations: %w", err)
	}

	cfg := connCfg.Copy()
	// golang-migrate's driver runs without a context; bound at least its
	// connection attempts by ours.
	if deadline, ok := ctx.Deadline(); ok {
		cfg.ConnectTimeout = max(time.Until(deadline), time.Millisecond)
	}
	db := stdlib.OpenDB(*cfg)
	// Before golang-migrate's own lock, which WithInstance already takes
	// (see lockMigrations).
	unlock, err := lockMigrations(ctx, db)
	if err != nil {
		return errors.Join(err, db.Close(), src.Close())
	}
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		// WithInstance failed, so nobody else will close db.
		return errors.Join(fmt.Errorf("migrate: connect: %w", err), unlock(), db.Close(), src.Close())
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return errors.Join(fmt.Errorf("migrate: %w", err), unlock(), drv.Close(), src.Close())
	}
	defer func() {
		// Closes the driver's connection and its *sql.DB: nothing of the
		// migrator outlives the store's Open.
		unlockErr := unlock()
		srcErr, dbErr := m.Close()
		srcErr = errors.Join(srcErr, unlockErr)
		if srcErr != nil || dbErr != nil {
			err = errors.Join(err, fmt.Errorf("migrate: close: %w", errors.Join(srcErr, dbErr)))
		}
	}()

	// Up waits for the advisory lock at most LockTimeout; never longer than
	// our caller is willing to wait.
	if deadline, ok := ctx.Deadline(); ok {
		m.LockTimeout = min(m.LockTimeout, max(time.Until(deadline), time.Millisecond))
	}
	// A cancelled ctx stops Up between two migrations (one migration always
	// runs to its end: it is one implicit transaction, or one CREATE INDEX
	// CONCURRENTLY).
	stop := context.AfterFunc(ctx, func() { m.GracefulStop <- true })
	defer stop()

	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate: apply: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
