package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the server the tests use unless TEST_DATABASE_URL
// names another. Its database is only used to create and drop test databases.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Postgres creates a fresh, empty database for the test and returns its URL.
// The database is dropped when the test ends. Under -short it skips the
// test, in CI too (see SkipIfShort).
func Postgres(t testing.TB) string {
	t.Helper()
	SkipIfShort(t, "PostgreSQL")
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(t, "testenv: PostgreSQL at %s is unreachable: %v; start it or set TEST_DATABASE_URL", redact(base), err)
		return ""
	}
	defer admin.Close(context.Background())

	name := "orderd_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, base, name) })

	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("testenv: TEST_DATABASE_URL must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func dropDatabase(t testing.TB, base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Errorf("testenv: drop database %s: %v", name, err)
		return
	}
	defer admin.Close(context.Background())
	// FORCE ends connections a test left open (a pool closed late, a
	// daemon still shutting down) instead of failing the drop.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("testenv: drop database %s: %v", name, err)
	}
}

func randomSuffix() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func redact(url string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "(unparseable URL)"
	}
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

// ViaAddr returns dbURL with its host and port replaced by addr, e.g. to reach
// the database through a Proxy.
func ViaAddr(t testing.TB, dbURL, addr string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("testenv: parse database URL: %v", err)
	}
	u.Host = addr
	return u.String()
}

// BehindProxy starts a Proxy to dbURL's server and returns dbURL as reached
// through it, for a fault of the test's: the Proxy's Cut, Blackhole and
// Restore act on every connection made with the URL. It stops when the test
// ends.
func BehindProxy(t testing.TB, dbURL string) (string, *Proxy) {
	t.Helper()
	p := StartProxy(t, HostPort(t, dbURL))
	return ViaAddr(t, dbURL, p.Addr()), p
}

// HostPort returns the host:port of dbURL.
func HostPort(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("testenv: parse database URL: %v", err)
	}
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}
