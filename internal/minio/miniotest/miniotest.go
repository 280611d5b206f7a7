// Package miniotest runs a real MinIO server for a test (package minio with
// a testing.TB): Start launches one in a temporary directory and stops it
// when the test ends; without a MinIO binary the test is skipped, or failed
// when the CI environment variable is set.
package miniotest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/modelwatch/modelwatch/internal/minio"
)

// Server is a MinIO server run for a test: a minio.Server with helpers that
// fail the test on error.
type Server struct {
	*minio.Server
}

// Start runs a MinIO server on free loopback ports with a fresh data
// directory, waits until it is live, and registers a cleanup that stops it
// (and prints MinIO's output if the test failed). Without a MinIO binary
// it skips the test, or fails it when CI is set.
func Start(t testing.TB) *Server {
	t.Helper()
	if !minio.Installed() && os.Getenv("CI") == "" {
		t.Skip("minio not installed: " + minio.InstallHint)
	}
	dir := t.TempDir() // registered before the stop cleanup, so removed after it
	s, err := minio.Launch(dir)
	if err != nil {
		if errors.Is(err, minio.ErrNotInstalled) && os.Getenv("CI") == "" {
			t.Skip("minio not installed: " + minio.InstallHint)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("miniotest: MinIO output:\n%s", s.Output())
		}
	})
	return &Server{s}
}

// SetEnv sets the variables of Env in the test's process with t.Setenv.
func (s *Server) SetEnv(t *testing.T) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Client returns the server's S3 client (see minio.Server.S3Client).
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	return s.S3Client()
}

// CreateBucket creates a bucket, failing the test on error.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.S3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("miniotest: create bucket %q: %v", name, err)
	}
}

// Restart stops the server and starts it again on the same ports with the
// same data, failing the test on error.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.Server.Restart(); err != nil {
		t.Fatal(err)
	}
}
