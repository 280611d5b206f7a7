// Package minio runs a real MinIO server on this machine: for the tests of
// code that talks to S3 (through package miniotest, beside them) and for the
// load harness (`modelwatch bench`), which production code may import
// because this package does not import package testing.
//
// Launch finds the minio binary ($MODELWATCH_MINIO_BIN, else minio on PATH,
// else $GOPATH/bin/minio), starts it on free 127.0.0.1 ports with its data
// under a directory of the caller's and random root credentials, and waits
// until it is live (answering signed requests, not only its health check).
// Install MinIO with:
//
//	go install github.com/minio/minio@latest
//
// Server.S3Client gives a path-style S3 client with static credentials;
// Server.Env points the AWS SDK's default configuration chain of a child
// process at the server; Server.Restart stops MinIO and starts it again on
// the same ports with the same data, for outage tests; Server.Stop ends it
// (SIGTERM, then SIGKILL). On Linux the kernel kills MinIO if its parent
// dies without stopping it.
package minio
