package schema

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/storage/internal/storetest"
)

// migrateTo brings the database at url to version, with golang-migrate as
// migrateUp runs it.
func migrateTo(t *testing.T, url string, version uint) {
	t.Helper()
	src, err := iofs.New(Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := migratepgx.WithInstance(stdlib.OpenDB(*cfg), &migratepgx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Migrate(version); err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}

// insertOrderSQL stores a bare order: enough for a lock, not for reading.
const insertOrderSQL = `INSERT INTO orders (order_uid, track_number, entry, locale, internal_signature, customer_id,
	delivery_service, shardkey, sm_id, date_created, oof_shard, doc) VALUES ($1, 't', 'e', 'en', '', 'c', 'd', '1', 1, now(), '1', '{}')`

// TestMigrate_SearchIndexesDoNotBlockIngest adds the search indexes while
// a writer's transaction is open on orders, as the writers' are all the
// time under load. The index build must wait for that transaction (every
// build does), but inserts of other sessions must go on meanwhile: with a
// plain CREATE INDEX, whose SHARE lock queues behind the open transaction,
// each of them would queue behind the build.
func TestMigrate_SearchIndexesDoNotBlockIngest(t *testing.T) {
	url := testenv.Postgres(t)
	ctx := storetest.Context(t)
	migrateTo(t, url, 2)

	open, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close(ctx)
	tx, err := open.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, insertOrderSQL, "in-open-tx"); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- Migrate(ctx, cfg) }()

	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	testenv.Eventually(t, 10*time.Second, "the index build waiting for the open transaction", func() bool {
		var n int
		err := other.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE '%CREATE INDEX%' AND wait_event_type = 'Lock'`).Scan(&n)
		return err == nil && n == 1
	})
	// While it waits, another writer inserts: within 2 seconds, or the
	// build is blocking ingest.
	if _, err := other.Exec(ctx, `SET statement_timeout = '2s'`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, insertOrderSQL, "during-build"); err != nil {
		t.Fatalf("insert while the search indexes are built: %v", err)
	}
	select {
	case err := <-migrated:
		t.Fatalf("migrations ended (%v) while a transaction that predates them is open: the index build did not wait for it", err)
	default:
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-migrated:
		if err != nil {
			t.Fatalf("migrate: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("migrations did not end after the open transaction did")
	}
	var valid int
	err = other.QueryRow(ctx, `SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE c.relname IN ('orders_track_number_idx', 'orders_customer_id_idx', 'orders_date_created_idx') AND x.indisvalid`).Scan(&valid)
	if err != nil || valid != 3 {
		t.Fatalf("%d valid search indexes (%v), want 3", valid, err)
	}
}

// TestMigrations_ConcurrentIndexAlone holds each migration that builds an
// index CONCURRENTLY to one statement: golang-migrate's pgx driver sends a
// file as one query, and PostgreSQL runs several statements of one query
// in one transaction, where CONCURRENTLY fails (SQLSTATE 25001).
func TestMigrations_ConcurrentIndexAlone(t *testing.T) {
	entries, err := Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	comment := regexp.MustCompile(`(?m)--.*$`)
	found := 0
	for _, e := range entries {
		data, err := Migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sql := comment.ReplaceAllString(string(data), "")
		if !strings.Contains(strings.ToUpper(sql), "CONCURRENTLY") {
			continue
		}
		found++
		var stmts int
		for _, s := range strings.Split(sql, ";") {
			if strings.TrimSpace(s) != "" {
				stmts++
			}
		}
		if stmts != 1 {
			t.Errorf("%s: %d statements beside CONCURRENTLY; it must be alone in its file", e.Name(), stmts)
		}
	}
	if found < 6 {
		t.Errorf("%d migrations use CONCURRENTLY, want the 3 search indexes up and down", found)
	}
}
