package clusterstate

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestOpenAppliesEachMigrationOnceWhenReplicasStartTogether(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	const replicas = 5
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			s, err := db.tryOpen("r" + string(rune('0'+i)))
			errs[i] = err
			if err == nil {
				s.Close()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
		}
	}
	rows, err := db.admin.Query(testCtx(t),
		"SELECT version, count(*) FROM "+db.namespace+".schema_migrations GROUP BY version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := 1
	for rows.Next() {
		var v, n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		if v != want || n != 1 {
			t.Errorf("schema_migrations: version %d recorded %d times; want version %d once", v, n, want)
		}
		want++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := want - 1; got != SchemaVersion() {
		t.Errorf("applied %d migrations, want %d", got, SchemaVersion())
	}
	// The migrated tables work.
	s := db.open(t, "after")
	if _, err := s.Put(testCtx(t), "probe", []byte(`{}`), -1); err != nil {
		t.Errorf("Put after concurrent migrations: %v", err)
	}
}

func TestOpenRefusesADatabaseMigratedByANewerBinary(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	db.open(t, "old").Close()
	if _, err := db.admin.Exec(testCtx(t),
		"INSERT INTO "+db.namespace+".schema_migrations (version, name, applied_at) VALUES ($1, 'from_the_future', now())",
		SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s, err := db.tryOpen("old")
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a schema newer than the binary")
	}
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "from_the_future") {
		t.Errorf("Open: %v; want ErrSchemaTooNew naming the newer migration", err)
	}
	t.Logf("error: %v", err)
}

func TestMigrationsAreNumberedWithoutGaps(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, m := range ms {
		if m.version != i+1 || m.name == "" || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
}

func TestOpenRejectsAnInvalidNamespace(t *testing.T) {
	for _, ns := range []string{"Bad", "1abc", "with-dash", strings.Repeat("a", 49)} {
		if _, err := Open(t.Context(), defaultTestDSN, Options{Namespace: ns}); err == nil {
			t.Errorf("Open with namespace %q succeeded", ns)
		}
	}
}
