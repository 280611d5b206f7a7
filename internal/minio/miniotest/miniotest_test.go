package miniotest

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/modelwatch/modelwatch/internal/minio"
)

func TestStartPutGetRestartStop(t *testing.T) {
	begin := time.Now()
	s := Start(t)
	t.Logf("MinIO %s live after %v (pid %d)", s.Endpoint, time.Since(begin).Round(time.Millisecond), s.PID())
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.Region != "us-east-1" || s.AccessKey == "" || s.SecretKey == "" {
		t.Fatalf("server fields: %+v", s)
	}
	pid := s.PID()
	if pid == 0 {
		t.Fatal("PID() = 0 for a running server")
	}
	ctx := context.Background()
	s.CreateBucket(t, "bkt")
	c := s.Client(t)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("bkt"), Key: aws.String("a/b"), Body: bytes.NewReader([]byte("hello")),
	}); err != nil {
		t.Fatal(err)
	}

	endpoint := s.Endpoint
	begin = time.Now()
	s.Restart(t)
	t.Logf("restart took %v", time.Since(begin).Round(time.Millisecond))
	if s.Endpoint != endpoint {
		t.Errorf("endpoint changed on restart: %s -> %s", endpoint, s.Endpoint)
	}
	if s.PID() == pid || s.PID() == 0 {
		t.Errorf("PID after restart = %d (was %d)", s.PID(), pid)
	}
	if processAlive(pid) {
		t.Errorf("old process %d still alive after restart", pid)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a/b")})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	b, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(b) != "hello" {
		t.Errorf("data after restart = %q", b)
	}

	pid = s.PID()
	s.Stop()
	if processAlive(pid) {
		t.Errorf("process %d alive after Stop", pid)
	}
	if s.PID() != 0 {
		t.Errorf("PID() after Stop = %d", s.PID())
	}
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.ListBuckets(ctx2, &s3.ListBucketsInput{}, func(o *s3.Options) { o.RetryMaxAttempts = 1 }); err == nil {
		t.Error("ListBuckets succeeded with the server stopped")
	}
	s.Stop() // idempotent
	s.Restart(t)
	if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("ListBuckets after Stop+Restart: %v", err)
	}
}

// TestSetEnv: SetEnv points the test process's AWS SDK at the server, an
// inherited session token cleared.
func TestSetEnv(t *testing.T) {
	s := &Server{&minio.Server{Endpoint: "http://127.0.0.1:1", AccessKey: "ak", SecretKey: "sk", Region: "us-east-1"}}
	t.Setenv("AWS_SESSION_TOKEN", "inherited")
	s.SetEnv(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk",
		"AWS_REGION": "us-east-1", "AWS_SESSION_TOKEN": "",
	} {
		if got := os.Getenv(k); got != v {
			t.Errorf("after SetEnv, %s=%q, want %q", k, got, v)
		}
	}
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
