package objectstore

import (
	"context"
	"errors"
	"strings"
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
	// UserMetadata is the object's user-defined metadata: S3's
	// x-amz-meta-<key> headers. Keys are stored lower-case (S3 lower-cases
	// them too); the local store keeps them in a sidecar file (see Dir).
	UserMetadata map[string]string
}

// Header is a Store that can read an object's metadata back. Both stores of
// this package implement it; use the package function Head to call it on
// any Store.
type Header interface {
	// Head returns the metadata an object was stored with. Only
	// UserMetadata is guaranteed: the local store does not keep
	// ContentType or ContentEncoding. A missing object is ErrNotFound, a
	// missing bucket ErrNoSuchBucket.
	Head(ctx context.Context, bucket, key string) (Meta, error)
}

// Deleter is a Store that can delete objects (both stores of this package).
type Deleter interface {
	// Delete removes an object; deleting a missing object is not an error
	// (as in S3).
	Delete(ctx context.Context, bucket, key string) error
}

// ErrUnsupported is returned by Head and Delete for a Store that does not
// implement Header or Deleter.
var ErrUnsupported = errors.New("objectstore: operation not supported by this store")

// Head returns the metadata of bucket/key when st implements Header, else
// ErrUnsupported.
func Head(ctx context.Context, st Store, bucket, key string) (Meta, error) {
	h, ok := st.(Header)
	if !ok {
		return Meta{}, ErrUnsupported
	}
	return h.Head(ctx, bucket, key)
}

// Delete removes bucket/key when st implements Deleter, else returns
// ErrUnsupported.
func Delete(ctx context.Context, st Store, bucket, key string) error {
	d, ok := st.(Deleter)
	if !ok {
		return ErrUnsupported
	}
	return d.Delete(ctx, bucket, key)
}

// normalizeUserMetadata lower-cases the keys of m; nil for an empty map.
func normalizeUserMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
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
