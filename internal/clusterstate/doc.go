// Package clusterstate keeps the state that the replicas of a scaled-out
// gateway share in PostgreSQL: versioned configuration documents, keyed
// item collections, change notifications, leader election per duty and a
// registry of the running replicas.
//
// # Guarantees
//
// Every write is one transaction. A document Put is atomic with its
// history row and its notification: PostgreSQL delivers a NOTIFY only when
// the transaction that sent it commits, so watchers hear of exactly the
// committed versions, in commit order. Put with a version to compare against
// is a compare-and-set ([ErrConflict] when another replica wrote first); a
// document's versions have no gaps and are never reused.
//
// Notifications are not durable: those sent while a listener is
// disconnected are lost. [Store.Watch] therefore re-reads every document's
// version after each reconnect (and every [Options.PollInterval]) and
// reports what it missed, so a watcher always converges on the current
// versions; intermediate versions written while it was not listening may
// be skipped. Item changes are replayed after a reconnect from their
// updated_at; item deletions made while disconnected are not.
//
// Leadership of a duty is a session-level advisory lock held by a
// dedicated connection; at most one session holds it. A leader learns that
// its connection is gone at its next ping (every second), so after a
// network partition or pg_terminate_backend the old leader's run may
// overlap the new one's by up to about a second; when a leader stops
// cleanly or its process dies there is no overlap. See [Store.Lead].
//
// All timestamps (updated_at, since, started_at, heartbeat_at) come from
// the database clock (now(), the start of the writing transaction), never
// from the replicas' clocks, so replicas with skewed clocks agree on
// staleness.
//
// Bodies are stored as jsonb: they must be valid JSON ([ErrInvalidJSON]),
// and come back as the same JSON value but not the same bytes (whitespace
// and object key order are normalized, duplicate keys keep the last).
// Callers that need byte-exact bodies must not rely on them.
//
// # Schema
//
// The tables live in the connection's search_path (the DSN may set
// search_path to give modelwatch its own schema). Migrations are SQL files
// embedded in the binary (migrations/NNNN_name.sql, versions 1, 2, ...
// without gaps). [Open] applies each missing one in its own transaction
// that first takes pg_advisory_xact_lock on a key derived from the
// namespace, records it in schema_migrations and commits, so replicas
// starting together apply each migration exactly once and the others wait
// for it. A database that records a version newer than the binary knows
// makes Open fail with [ErrSchemaTooNew]: an old binary never runs against
// a schema it does not understand. Migrations must therefore be additive
// enough that the previous release keeps working during a rolling upgrade,
// or be released in two steps.
//
//	schema_migrations(version int PK, name text, applied_at timestamptz)
//	documents(name text PK, version bigint, body jsonb, updated_at timestamptz, updated_by text)
//	document_versions(name, version, body, updated_at, updated_by; PK (name, version))
//	items(collection text, key text, body jsonb, updated_at timestamptz; PK (collection, key))
//	leaders(duty text PK, replica text, since timestamptz)
//	replicas(name text PK, data_dir_id text, host text, started_at timestamptz, heartbeat_at timestamptz)
//
// documents holds the current version of each document, document_versions
// its history (including the current version) until [Store.Prune] trims
// it. leaders records the last replica to take each duty's lock;
// [Store.Leader] reports it only while some session holds the lock.
//
// # Namespaces, channels and lock keys
//
// NOTIFY channels and advisory locks are database-wide, not per schema.
// [Options.Namespace] (default "modelwatch") keeps deployments sharing a
// database apart: changes are notified on the channel "<namespace>_changes"
// with the payload "<document>:<version>" or "item:<collection>:<key>", and
// every advisory-lock key is FNV-1a 64 of "<namespace>\x00<name>", where
// name is a duty, "schema-migrations" or "replica-registry". Use one
// namespace per schema. Document names starting with "item:" are refused.
//
// Dedicated connections carry the application_name
// "modelwatch:<replica>:watch" (the listener) and
// "modelwatch:<replica>:<duty>" (a duty's lock), and pooled ones
// "modelwatch:<replica>", so an operator can find them in
// pg_stat_activity.
package clusterstate
