package clusterstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Item is one record of a keyed collection.
type Item struct {
	// Key identifies the item in its collection.
	Key string
	// Body is the item's JSON, normalized by jsonb (see [Document.Body]).
	Body []byte
	// UpdatedAt is the database clock when the item was last written.
	UpdatedAt time.Time
}

// itemName is the name Watch reports for an item change.
func itemName(coll, key string) string { return "item:" + coll + ":" + key }

// PutItem creates or replaces the item key of collection coll, and
// notifies watchers ("item:<coll>:<key>") in the same transaction. body
// must be valid JSON ([ErrInvalidJSON]).
func (s *Store) PutItem(ctx context.Context, coll, key string, body []byte) error {
	if !json.Valid(body) {
		return fmt.Errorf("item %s/%s: %w", coll, key, ErrInvalidJSON)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO items (collection, key, body, updated_at) VALUES ($1, $2, $3, now())
			ON CONFLICT (collection, key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
			coll, key, body); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel, itemName(coll, key))
		return err
	})
	if err != nil {
		return s.note(fmt.Errorf("clusterstate: put item %s/%s: %w", coll, key, err))
	}
	return s.note(nil)
}

// GetItem returns the body of an item, or [ErrNotFound].
func (s *Store) GetItem(ctx context.Context, coll, key string) ([]byte, error) {
	var body []byte
	err := s.pool.QueryRow(ctx, "SELECT body FROM items WHERE collection = $1 AND key = $2", coll, key).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.note(fmt.Errorf("item %s/%s: %w", coll, key, ErrNotFound))
	}
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: get item %s/%s: %w", coll, key, err))
	}
	return body, s.note(nil)
}

// ListItems returns every item of a collection, ordered by key (byte
// order, COLLATE "C").
func (s *Store) ListItems(ctx context.Context, coll string) ([]Item, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT key, body, updated_at FROM items WHERE collection = $1 ORDER BY key COLLATE "C"`, coll)
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: list items %s: %w", coll, err))
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		err := r.Scan(&it.Key, &it.Body, &it.UpdatedAt)
		return it, err
	})
	if err != nil {
		return nil, s.note(fmt.Errorf("clusterstate: list items %s: %w", coll, err))
	}
	return items, s.note(nil)
}

// DeleteItem deletes an item and notifies watchers ("item:<coll>:<key>")
// in the same transaction. Deleting a missing item returns [ErrNotFound].
func (s *Store) DeleteItem(ctx context.Context, coll, key string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM items WHERE collection = $1 AND key = $2", coll, key)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("item %s/%s: %w", coll, key, ErrNotFound)
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel, itemName(coll, key))
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("clusterstate: delete item %s/%s: %w", coll, key, err)
	}
	return s.note(err)
}
