package clusterstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testDSN() string {
	if dsn := os.Getenv("MODELWATCH_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return defaultTestDSN
}

// testDB is one test's isolated schema: a DSN whose search_path is a fresh
// schema, and a namespace (the schema's name) for channels and lock keys.
type testDB struct {
	dsn       string
	namespace string
	admin     *pgx.Conn
}

// newTestDB creates a fresh schema, dropped when the test ends. It skips
// the test when PostgreSQL cannot be reached, unless CI is set.
func newTestDB(t *testing.T) *testDB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	base := testDSN()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s is unreachable (CI is set, so this fails): %v", base, err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (set MODELWATCH_TEST_POSTGRES): %v", base, err)
	}
	var b [5]byte
	rand.Read(b[:])
	schema := "mw_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close(ctx)
	})
	return &testDB{dsn: withSearchPath(t, base, schema), namespace: schema, admin: admin}
}

func withSearchPath(t *testing.T, dsn, schema string) string {
	t.Helper()
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// open opens a Store on the test's schema, closed when the test ends.
func (db *testDB) open(t *testing.T, replica string, modify ...func(*Options)) *Store {
	t.Helper()
	s, err := db.tryOpen(replica, modify...)
	if err != nil {
		t.Fatalf("Open(%s): %v", replica, err)
	}
	t.Cleanup(s.Close)
	return s
}

func (db *testDB) tryOpen(replica string, modify ...func(*Options)) (*Store, error) {
	opts := Options{Namespace: db.namespace, Replica: replica}
	for _, m := range modify {
		m(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Open(ctx, db.dsn, opts)
}

// terminate ends the backends whose application_name is app, and returns
// how many it ended.
func (db *testDB) terminate(t *testing.T, app string) int {
	t.Helper()
	var n int
	err := db.admin.QueryRow(context.Background(), `
		SELECT count(*) FROM (
			SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()) t`, app).Scan(&n)
	if err != nil {
		t.Fatalf("terminate %s: %v", app, err)
	}
	return n
}

// eventually polls cond every 10ms until it is true or d has passed.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
