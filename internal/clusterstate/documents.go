package clusterstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Document is one version of a shared, versioned JSON document.
type Document struct {
	// Name identifies the document, e.g. "invocation-logging".
	Name string
	// Version starts at 1 and grows by one with every Put.
	Version int64
	// Body is the document's JSON as PostgreSQL's jsonb returns it: the
	// same value as was Put, with whitespace and object key order
	// normalized and duplicate keys removed (the last one wins).
	Body []byte
	// UpdatedAt is the database clock when this version was written.
	UpdatedAt time.Time
	// UpdatedBy is the [Options.Replica] of the Store that wrote it.
	UpdatedBy string
}

// Get returns the current version of the named document, or [ErrNotFound].
func (s *Store) Get(ctx context.Context, name string) (Document, error) {
	d := Document{Name: name}
	err := s.pool.QueryRow(ctx,
		"SELECT version, body, updated_at, updated_by FROM documents WHERE name = $1", name).
		Scan(&d.Version, &d.Body, &d.UpdatedAt, &d.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return Document{}, s.note(fmt.Errorf("document %q: %w", name, ErrNotFound))
	}
	if err != nil {
		return Document{}, s.note(fmt.Errorf("clusterstate: get document %q: %w", name, err))
	}
	return d, s.note(nil)
}

// Put writes a new version of the named document and returns it.
//
// With ifVersion < 0 the write is unconditional. With ifVersion >= 0 it is
// a compare-and-set: it succeeds only if the current version is ifVersion
// (0: the document must not exist yet) and fails with [ErrConflict]
// otherwise. The new version is the old one plus one (1 for a new
// document). The history row and the notification (payload
// "<name>:<version>" on the namespace's channel) are written in the same
// transaction, so watchers are told exactly about committed versions.
//
// body must be valid JSON ([ErrInvalidJSON]). name must not be empty and
// must not start with "item:", which is reserved for item notifications.
func (s *Store) Put(ctx context.Context, name string, body []byte, ifVersion int64) (Document, error) {
	if name == "" || strings.HasPrefix(name, "item:") {
		return Document{}, fmt.Errorf("clusterstate: invalid document name %q", name)
	}
	if !json.Valid(body) {
		return Document{}, fmt.Errorf("document %q: %w", name, ErrInvalidJSON)
	}
	d := Document{Name: name}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var row pgx.Row
		switch {
		case ifVersion < 0:
			row = tx.QueryRow(ctx, `
				INSERT INTO documents (name, version, body, updated_at, updated_by)
				VALUES ($1, 1, $2, now(), $3)
				ON CONFLICT (name) DO UPDATE
				SET version = documents.version + 1, body = excluded.body,
				    updated_at = excluded.updated_at, updated_by = excluded.updated_by
				RETURNING version, body, updated_at, updated_by`, name, body, s.opts.Replica)
		case ifVersion == 0:
			row = tx.QueryRow(ctx, `
				INSERT INTO documents (name, version, body, updated_at, updated_by)
				VALUES ($1, 1, $2, now(), $3)
				ON CONFLICT (name) DO NOTHING
				RETURNING version, body, updated_at, updated_by`, name, body, s.opts.Replica)
		default:
			row = tx.QueryRow(ctx, `
				UPDATE documents
				SET version = version + 1, body = $2, updated_at = now(), updated_by = $3
				WHERE name = $1 AND version = $4
				RETURNING version, body, updated_at, updated_by`, name, body, s.opts.Replica, ifVersion)
		}
		err := row.Scan(&d.Version, &d.Body, &d.UpdatedAt, &d.UpdatedBy)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("document %q is not at version %d: %w", name, ifVersion, ErrConflict)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO document_versions (name, version, body, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5)`, name, d.Version, d.Body, d.UpdatedAt, d.UpdatedBy); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel, name+":"+strconv.FormatInt(d.Version, 10))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return Document{}, s.note(err)
		}
		return Document{}, s.note(fmt.Errorf("clusterstate: put document %q: %w", name, err))
	}
	return d, s.note(nil)
}

// Versions returns up to limit versions of the named document from its
// history, newest first (limit <= 0: all that are kept). A document
// without history gives an empty slice, not an error.
func (s *Store) Versions(ctx context.Context, name string, limit int) ([]Document, error) {
	q := `SELECT version, body, updated_at, updated_by FROM document_versions
	      WHERE name = $1 ORDER BY version DESC`
	args := []any{name}
	if limit > 0 {
		q += " LIMIT $2"
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: versions of %q: %w", name, err))
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) {
		d := Document{Name: name}
		err := r.Scan(&d.Version, &d.Body, &d.UpdatedAt, &d.UpdatedBy)
		return d, err
	})
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: versions of %q: %w", name, err))
	}
	return ds, s.note(nil)
}

// Prune deletes the history of the named document except its newest keep
// versions. The current version (in Get) is never affected; keep = 0
// deletes the whole history.
func (s *Store) Prune(ctx context.Context, name string, keep int) error {
	if keep < 0 {
		return fmt.Errorf("clusterstate: prune %q: negative keep %d", name, keep)
	}
	_, err := s.pool.Exec(ctx, `
		DELETE FROM document_versions
		WHERE name = $1 AND version NOT IN (
			SELECT version FROM document_versions WHERE name = $1
			ORDER BY version DESC LIMIT $2)`, name, keep)
	if err != nil {
		return s.note(fmt.Errorf("clusterstate: prune %q: %w", name, err))
	}
	return s.note(nil)
}
