// Package miniotest runs a real MinIO server for tests of code that talks to
// S3.
//
// Start finds the minio binary ($MODELWATCH_MINIO_BIN, else minio on PATH,
// else $GOPATH/bin/minio), starts it on free 127.0.0.1 ports with a
// temporary data directory and random root credentials, waits until it is
// live, and stops it when the test ends. Without a binary the test is
// skipped, or failed when the CI environment variable is set; install MinIO
// with:
//
//	go install github.com/minio/minio@latest
//
// Server.Client gives a path-style S3 client with static credentials;
// Server.Env and Server.SetEnv point the AWS SDK's default configuration
// chain (of a child process or of the test's own process) at the server;
// Server.Restart stops MinIO and starts it again on the same ports with the
// same data, for outage tests.
package miniotest
