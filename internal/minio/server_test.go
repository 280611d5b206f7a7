package minio

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestEnv(t *testing.T) {
	s := &Server{Endpoint: "http://127.0.0.1:1", AccessKey: "ak", SecretKey: "sk", Region: "us-east-1"}
	want := map[string]string{
		"AWS_ENDPOINT_URL_S3":   "http://127.0.0.1:1",
		"AWS_ACCESS_KEY_ID":     "ak",
		"AWS_SECRET_ACCESS_KEY": "sk",
		"AWS_REGION":            "us-east-1",
		"AWS_SESSION_TOKEN":     "",
	}
	env := s.Env()
	if len(env) != len(want) {
		t.Errorf("Env() = %q", env)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if w, ok := want[k]; !ok || w != v {
			t.Errorf("Env() has %q", kv)
		}
	}
}

func TestFindBinaryEnv(t *testing.T) {
	t.Setenv(BinEnv, "/nonexistent/minio")
	if _, err := findBinary(); err == nil || !strings.Contains(err.Error(), BinEnv) {
		t.Errorf("findBinary with a bad %s: %v", BinEnv, err)
	}
	t.Setenv(BinEnv, "")
	t.Setenv("PATH", t.TempDir())
	gopath := t.TempDir()
	t.Setenv("GOPATH", gopath)
	if _, err := findBinary(); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("findBinary in empty dirs: %v, want ErrNotInstalled", err)
	}
	if err := os.MkdirAll(gopath+"/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gopath+"/bin/minio", []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := findBinary(); err != nil || p != gopath+"/bin/minio" {
		t.Errorf("findBinary = %q, %v; want $GOPATH/bin/minio", p, err)
	}
}
