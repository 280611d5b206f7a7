// Package objectstore writes and reads the objects of invocation logging's
// S3 destinations: Amazon S3 or any S3-compatible store (MinIO) through the
// AWS SDK's standard configuration chain, or, when no S3 endpoint and no AWS
// credentials are configured, a local directory that holds exactly the keys
// S3 would hold (<data-dir>/s3/<bucket>/<key>), so the same tools read both.
//
// # Choosing a store
//
// Open takes a Mode. ModeS3 and ModeLocal are explicit. ModeAuto chooses S3
// when any of these environment variables is non-empty:
//
//	AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_PROFILE,
//	AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
//	AWS_CONTAINER_CREDENTIALS_FULL_URI
//
// or when a shared credentials or config file exists (AWS_SHARED_CREDENTIALS_FILE
// and AWS_CONFIG_FILE when set, else ~/.aws/credentials and ~/.aws/config);
// otherwise it chooses the local directory. The rule deliberately ignores
// the EC2 instance metadata service: probing it on a laptop stalls for
// seconds, so on EC2 without any of the above, set the mode to s3
// explicitly.
//
// # S3 and S3-compatible stores
//
// LoadS3 uses config.LoadDefaultConfig, so credentials, region and endpoint
// come from the usual AWS sources. With a custom endpoint (AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL, or endpoint_url in the shared config) requests use
// path-style addressing, so pointing at MinIO needs only, for example:
//
//	AWS_ENDPOINT_URL_S3=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
//
// AWS_S3_USE_PATH_STYLE=true|false overrides the addressing style. The
// SDK's default request checksums (CRC32 on PutObject) are kept: MinIO
// accepts them.
//
// # Local directory
//
// Dir maps bucket b and key k to the file <root>/b/k. Unlike S3, it creates
// a bucket's directory on first Put (the local stand-in needs no setup),
// while Get and List of a missing bucket directory report ErrNoSuchBucket as
// S3 would. Writes are atomic (temporary ".mwtmp-" file, fsync, rename,
// directory fsync), listings are in S3's key order, and keys that could
// escape the bucket directory are rejected.
//
// # User metadata, Head and Delete
//
// Meta.UserMetadata is sent to S3 as x-amz-meta-* headers; Dir keeps it in
// a sidecar file beside the object (<dir>/.mwmeta-<name>, JSON, never
// listed). Both stores implement the optional interfaces Header (Head reads
// the metadata back, keys lower-cased as S3 returns them) and Deleter; the
// package functions Head and Delete call them on any Store and return
// ErrUnsupported for one that lacks them. They are optional so that Store
// implementations elsewhere (test doubles) keep compiling.
//
// # Errors
//
// Both stores wrap ErrNoSuchBucket, ErrNotFound and ErrAccessDenied so that
// errors.Is works while the message stays the store's own; Dir wraps
// ErrInvalidKey for a bucket name or key it cannot hold. Classify tells the
// delivery pipeline whether a failed Put is worth retrying (throttling,
// server faults, transport errors, a full disk) or permanent (KeyTooLongError,
// NoSuchBucket, AccessDenied, InvalidBucketName, InvalidArgument, any other
// client error, and EACCES, EROFS, ENAMETOOLONG or ErrInvalidKey locally).
package objectstore
