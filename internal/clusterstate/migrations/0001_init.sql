-- 0001_init: the tables of the first cluster-state schema.
-- schema_migrations itself is created by the migrator (it must exist before
-- any migration can be recorded).

CREATE TABLE documents (
    name       text        PRIMARY KEY,
    version    bigint      NOT NULL CHECK (version > 0),
    body       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL DEFAULT ''
);

CREATE TABLE document_versions (
    name       text        NOT NULL,
    version    bigint      NOT NULL CHECK (version > 0),
    body       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text        NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE items (
    collection text        NOT NULL,
    key        text        NOT NULL,
    body       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection, key)
);

CREATE TABLE leaders (
    duty    text        PRIMARY KEY,
    replica text        NOT NULL,
    since   timestamptz NOT NULL
);

CREATE TABLE replicas (
    name         text        PRIMARY KEY,
    data_dir_id  text        NOT NULL,
    host         text        NOT NULL,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);

CREATE INDEX replicas_data_dir_id ON replicas (data_dir_id);
