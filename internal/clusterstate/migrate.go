package clusterstate

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded migrations/NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. Versions
// start at 1 and have no gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("clusterstate: migration file %q is not NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("clusterstate: migration versions must be 1..n without gaps; found %d at position %d", m.version, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the newest migration version this binary knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies the missing migrations, each in its own transaction
// holding the namespace's migration advisory lock, so that replicas
// starting together apply each one exactly once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	key := lockKey(s.opts.Namespace, "schema-migrations")
	for _, m := range ms {
		applied, err := s.applyMigration(ctx, key, known, m)
		if err != nil {
			return err
		}
		if applied {
			s.log.Info("applied schema migration", "version", m.version, "name", m.name)
		}
	}
	if len(ms) == 0 { // still refuse a newer schema
		_, err := s.applyMigration(ctx, key, known, migration{})
		return err
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, key int64, known int, m migration) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", key); err != nil {
			return fmt.Errorf("clusterstate: take migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    int         PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("clusterstate: create schema_migrations: %w", err)
		}
		var newest int
		var newestName string
		err := tx.QueryRow(ctx, "SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1").Scan(&newest, &newestName)
		if err != nil && err != pgx.ErrNoRows {
			return fmt.Errorf("clusterstate: read schema_migrations: %w", err)
		}
		if newest > known {
			return fmt.Errorf("%w: database has migration %d (%s), this binary knows up to %d; upgrade this replica",
				ErrSchemaTooNew, newest, newestName, known)
		}
		if m.version == 0 {
			return nil
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.version).Scan(&exists); err != nil {
			return fmt.Errorf("clusterstate: read schema_migrations: %w", err)
		}
		if exists {
			return nil
		}
		// No arguments: pgx sends it with the simple protocol, which
		// allows several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("clusterstate: migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())", m.version, m.name); err != nil {
			return fmt.Errorf("clusterstate: record migration %d: %w", m.version, err)
		}
		applied = true
		return nil
	})
	return applied, err
}
