package postgres

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderd/orderd/internal/testenv"
	"github.com/orderd/orderd/storage/internal/storetest"
	"github.com/orderd/orderd/storage/schema"
)

// schemaVersion returns golang-migrate's record of the schema.
func schemaVersion(t *testing.T, p *Store) (version int64, dirty bool) {
	t.Helper()
	err := p.Pool().QueryRow(storetest.Context(t), "SELECT version, dirty FROM schema_migrations").Scan(&version, &dirty)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return version, dirty
}

func TestOpenPostgres_MigratesOnceAndReopens(t *testing.T) {
	url := testenv.Postgres(t)
	p, err := Open(storetest.Context(t), url)
	if err != nil {
		t.Fatalf("first OpenPostgres: %v", err)
	}
	defer p.Close()
	if v, dirty := schemaVersion(t, p); v != newestMigration(t) || dirty {
		t.Errorf("schema version %d (dirty %v), want %d, clean", v, dirty, newestMigration(t))
	}
	for _, table := range []string{"orders", "deliveries", "payments", "items"} {
		if n := count(t, p, "SELECT count(*) FROM information_schema.tables WHERE table_name = $1", table); n != 1 {
			t.Errorf("table %s: found %d times, want once", table, n)
		}
	}
	storetest.Save(t, p, storetest.Rec(t, storetest.OrderWith(t, "kept", nil)))

	// A second start on the migrated database changes nothing.
	again, err := Open(storetest.Context(t), url)
	if err != nil {
		t.Fatalf("second OpenPostgres: %v", err)
	}
	defer again.Close()
	if v, dirty := schemaVersion(t, again); v != newestMigration(t) || dirty {
		t.Errorf("after reopening: schema version %d (dirty %v), want %d, clean", v, dirty, newestMigration(t))
	}
	if _, err := again.OrderJSON(storetest.Context(t), "kept"); err != nil {
		t.Errorf("order stored before reopening: %v", err)
	}
}

func TestOpenPostgres_ConcurrentStartsOnFreshDatabase(t *testing.T) {
	url := testenv.Postgres(t)
	const replicas = 4
	stores := make([]*Store, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { stores[i], errs[i] = Open(storetest.Context(t), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: OpenPostgres: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	if v, dirty := schemaVersion(t, stores[0]); v != newestMigration(t) || dirty {
		t.Errorf("schema version %d (dirty %v), want %d, clean", v, dirty, newestMigration(t))
	}
}

func TestOpenPostgres_ReleasesMigratorConnection(t *testing.T) {
	p := openPostgres(t)
	// The migrator's session ends with OpenPostgres: only the pool's
	// connections remain, and with them no advisory lock. A backend exits
	// shortly after its client hangs up, so allow it a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conns := count(t, p, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
		locks := count(t, p, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
		pooled := int(p.Pool().Stat().TotalConns())
		if conns == pooled && locks == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the database (pool holds %d), %d advisory locks; want only the pool's, no locks", conns, pooled, locks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenPostgres_UnreachableFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	// Port 1 on loopback: nothing listens, the connection is refused.
	p, err := Open(ctx, "postgres://postgres@127.0.0.1:1/orderd?sslmode=disable")
	if err == nil {
		p.Close()
		t.Fatal("OpenPostgres on a closed port succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("OpenPostgres took %v to fail, want it bounded by the 3s context", took)
	}

	// A server that accepts connections and never answers: only ctx ends
	// the wait.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	p, err = Open(ctx, "postgres://postgres@"+ln.Addr().String()+"/orderd?sslmode=disable")
	if err == nil {
		p.Close()
		t.Fatal("OpenPostgres on a silent server succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("OpenPostgres on a silent server: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("OpenPostgres took %v to fail, want it bounded by the 300ms context", took)
	}
}

func TestOpenPostgres_BadURL(t *testing.T) {
	if _, err := Open(storetest.Context(t), "postgres://%zz"); err == nil {
		t.Error("OpenPostgres with an unparsable URL succeeded")
	}
}

// newestMigration is the version of the last embedded migration.
func newestMigration(t *testing.T) int64 {
	t.Helper()
	entries, err := schema.Migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, e := range entries {
		v, _, _ := strings.Cut(e.Name(), "_")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		newest = max(newest, n)
	}
	return newest
}
