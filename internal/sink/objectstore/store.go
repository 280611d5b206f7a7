package objectstore

import (
	"context"
	"errors"
	"time"
)

// Store is a bucket/key object store. Implementations are safe for
// concurrent use.
type Store interface {
	// Put writes an object, replacing any object under the same key: the
	// delivery pipeline relies on that to make retries idempotent.
	Put(ctx context.Context, bucket, key string, body []byte, meta Meta) error
	// Get returns an object's bytes (as stored, not decompressed).
	Get(ctx context.Context, bucket, key string) ([]byte, error)
	// List calls fn for every object under prefix whose key sorts after
	// startAfter, in key order, until fn returns an error (which List
	// returns) or the listing ends.
	List(ctx context.Context, bucket, prefix, startAfter string, fn func(Object) error) error
	// Kind is "s3" or "local", for logs and metrics.
	Kind() string
	// Describe says where bucket lives, for messages: "s3://b" or a path.
	Describe(bucket string) string
}

// Meta is what an object is stored with.
type Meta struct {
	ContentType     string
	ContentEncoding string
}

// Object is one listed object.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Errors classified for callers. Implementations wrap them so errors.Is
// works; the wrapped error keeps the store's own message.
var (
	// ErrNoSuchBucket: the bucket does not exist.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("no such key")
	// ErrAccessDenied: the credentials may not do this.
	ErrAccessDenied = errors.New("access denied")
	// ErrInvalidKey: the local store cannot hold this bucket name or key
	// (not a safe path, or an object where a key prefix is needed and vice
	// versa). S3 reports its own cases with error codes (KeyTooLongError,
	// InvalidBucketName, ...).
	ErrInvalidKey = errors.New("invalid key")
)
