package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Replica is a row of the replica registry.
type Replica struct {
	Name        string
	DataDirID   string
	Host        string
	StartedAt   time.Time // database clock at Register
	HeartbeatAt time.Time // database clock at the last Register or Heartbeat
}

// DirInUseError is returned by [Store.Register] when another live replica
// uses the same data directory.
type DirInUseError struct {
	DataDirID   string
	Replica     string // the replica holding the directory
	Host        string
	HeartbeatAt time.Time
}

func (e *DirInUseError) Error() string {
	return fmt.Sprintf("clusterstate: data directory %s is in use by replica %q on host %q (heartbeat at %s); give each replica its own directory",
		e.DataDirID, e.Replica, e.Host, e.HeartbeatAt.UTC().Format(time.RFC3339))
}

// ReplicaNameInUseError is returned by [Store.Register] when a live replica
// of the same name is registered with another data directory: two
// processes were given one replica name.
type ReplicaNameInUseError struct {
	Replica     string
	DataDirID   string // the directory the live one uses
	Host        string
	HeartbeatAt time.Time
}

func (e *ReplicaNameInUseError) Error() string {
	return fmt.Sprintf("clusterstate: replica name %q is in use on host %q with data directory %s (heartbeat at %s); give each replica its own name",
		e.Replica, e.Host, e.DataDirID, e.HeartbeatAt.UTC().Format(time.RFC3339))
}

// Register records that replica name, on host, is starting with the data
// directory identified by dataDirID. It refuses, with a [*DirInUseError],
// when another replica whose heartbeat is newer than staleAfter (on the
// database clock) has the same dataDirID, and with a
// [*ReplicaNameInUseError] when a replica of the same name with a fresh
// heartbeat has another dataDirID. Otherwise it creates or replaces the
// row (StartedAt and HeartbeatAt now) and deletes the rows of stale
// replicas that had the same directory. Registrations are serialized by an
// advisory lock, so two replicas starting at once cannot both get one
// directory. The same name with the same directory is accepted (a restart).
func (s *Store) Register(ctx context.Context, name, dataDirID, host string, staleAfter time.Duration) error {
	if name == "" || dataDirID == "" {
		return fmt.Errorf("clusterstate: register: empty replica name or data directory ID")
	}
	stale := staleAfter.Seconds()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(s.opts.Namespace, "replica-registry")); err != nil {
			return err
		}
		var other DirInUseError
		err := tx.QueryRow(ctx, `
			SELECT name, host, heartbeat_at FROM replicas
			WHERE data_dir_id = $1 AND name <> $2 AND heartbeat_at > now() - $3 * interval '1 second'
			ORDER BY heartbeat_at DESC LIMIT 1`, dataDirID, name, stale).
			Scan(&other.Replica, &other.Host, &other.HeartbeatAt)
		if err == nil {
			other.DataDirID = dataDirID
			return &other
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var same ReplicaNameInUseError
		err = tx.QueryRow(ctx, `
			SELECT data_dir_id, host, heartbeat_at FROM replicas
			WHERE name = $1 AND data_dir_id <> $2 AND heartbeat_at > now() - $3 * interval '1 second'`,
			name, dataDirID, stale).Scan(&same.DataDirID, &same.Host, &same.HeartbeatAt)
		if err == nil {
			same.Replica = name
			return &same
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM replicas WHERE data_dir_id = $1 AND name <> $2", dataDirID, name); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO replicas (name, data_dir_id, host, started_at, heartbeat_at)
			VALUES ($1, $2, $3, now(), now())
			ON CONFLICT (name) DO UPDATE SET data_dir_id = excluded.data_dir_id, host = excluded.host,
			    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
			name, dataDirID, host)
		return err
	})
	var dirErr *DirInUseError
	var nameErr *ReplicaNameInUseError
	switch {
	case err == nil:
		return s.note(nil)
	case errors.As(err, &dirErr), errors.As(err, &nameErr):
		s.note(nil)
		return err
	default:
		return s.note(fmt.Errorf("clusterstate: register replica %q: %w", name, err))
	}
}

// Heartbeat sets the replica's heartbeat to the database clock's now. It
// returns [ErrNotFound] when the replica is not registered (for example
// because another replica took its stale directory over).
func (s *Store) Heartbeat(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "UPDATE replicas SET heartbeat_at = now() WHERE name = $1", name)
	if err != nil {
		return s.note(fmt.Errorf("clusterstate: heartbeat of %q: %w", name, err))
	}
	if tag.RowsAffected() == 0 {
		return s.note(fmt.Errorf("replica %q: %w", name, ErrNotFound))
	}
	return s.note(nil)
}

// Replicas lists the registered replicas by name, stale ones included
// (compare HeartbeatAt with the database clock, or the time of the call).
func (s *Store) Replicas(ctx context.Context) ([]Replica, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT name, data_dir_id, host, started_at, heartbeat_at FROM replicas ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: list replicas: %w", err))
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Replica, error) {
		var rp Replica
		err := r.Scan(&rp.Name, &rp.DataDirID, &rp.Host, &rp.StartedAt, &rp.HeartbeatAt)
		return rp, err
	})
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: list replicas: %w", err))
	}
	return rs, s.note(nil)
}
