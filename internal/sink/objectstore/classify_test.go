package objectstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
)

// s3Error is an error shaped as the SDK returns a service error: an API
// error inside an HTTP response error.
func s3Error(status int, code string) error {
	var err error = &smithy.GenericAPIError{Code: code, Message: "m"}
	if status != 0 {
		err = &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: err}
}

func TestClassify_DecidesPerCode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		code      string
		permanent bool
	}{
		{"throttled", s3Error(503, "SlowDown"), "SlowDown", false},
		{"internal error", s3Error(500, "InternalError"), "InternalError", false},
		{"unknown 5xx", s3Error(502, "BadGateway"), "BadGateway", false},
		{"5xx without a code", s3Error(503, ""), "HTTP 503", false},
		{"429", s3Error(429, "Whatever"), "Whatever", false},
		{"request timeout (400)", s3Error(400, "RequestTimeout"), "RequestTimeout", false},
		{"expired token (400)", s3Error(400, "ExpiredToken"), "ExpiredToken", false},
		{"own clock skewed (403)", s3Error(403, "RequestTimeTooSkewed"), "RequestTimeTooSkewed", false},
		{"own credentials (403)", s3Error(403, "SignatureDoesNotMatch"), "SignatureDoesNotMatch", false},
		{"key too long", s3Error(400, "KeyTooLongError"), "KeyTooLongError", true},
		{"no such bucket", s3Error(404, "NoSuchBucket"), "NoSuchBucket", true},
		{"access denied", s3Error(403, "AccessDenied"), "AccessDenied", true},
		{"invalid bucket name", s3Error(400, "InvalidBucketName"), "InvalidBucketName", true},
		{"invalid argument", s3Error(400, "InvalidArgument"), "InvalidArgument", true},
		{"other region", s3Error(301, "PermanentRedirect"), "PermanentRedirect", true},
		{"not implemented (501)", s3Error(501, "NotImplemented"), "NotImplemented", true},
		{"unknown 4xx", s3Error(400, "SomethingNew"), "SomethingNew", true},
		{"4xx without a code", s3Error(404, ""), "HTTP 404", true},
		{"local: no space", fmt.Errorf("objectstore: put b/k: %w", &fs.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}), "ENOSPC", false},
		{"local: quota", &fs.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}, "EDQUOT", false},
		{"local: I/O error", &fs.PathError{Op: "write", Path: "/x", Err: syscall.EIO}, "EIO", false},
		{"local: permission", mapFSErr(&fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}), "EACCES", true},
		{"local: read-only", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}, "EROFS", true},
		{"local: name too long", &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENAMETOOLONG}, "ENAMETOOLONG", true},
		{"deadline", fmt.Errorf("put: %w", context.DeadlineExceeded), "timeout", false},
		{"anything else", errors.New("destination unavailable"), "error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, permanent := Classify(tc.err)
			if code != tc.code || permanent != tc.permanent {
				t.Fatalf("Classify = %q, %v; want %q, %v", code, permanent, tc.code, tc.permanent)
			}
		})
	}
}

// TestClassify_WhatStoresReturn classifies errors MinIO and the local
// directory really return.
func TestClassify_WhatStoresReturn(t *testing.T) {
	ctx := context.Background()
	t.Run("local", func(t *testing.T) {
		root := t.TempDir()
		d := NewDir(root)
		if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ bucket, key string }{
			{"file", "k"},     // the bucket directory is a file
			{"b", "a/../k"},   // not a safe path
			{".mwtmp-x", "k"}, // a temporary-file name
			{"b", "x/" + TempPrefix + "y"},
		} {
			code, permanent := Classify(d.Put(ctx, tc.bucket, tc.key, []byte("x"), Meta{}))
			if code != "InvalidKey" || !permanent {
				t.Errorf("Put(%q, %q): %q, %v", tc.bucket, tc.key, code, permanent)
			}
		}
	})
	t.Run("MinIO", func(t *testing.T) {
		srv := miniotest.Start(t)
		srv.CreateBucket(t, "bkt")
		st := NewS3(srv.Client(t))
		for _, tc := range []struct {
			bucket, key, code string
			permanent         bool
		}{
			{"bkt", strings.Repeat("k/", 512) + "k", "KeyTooLongError", true},
			{"missing", "k", "NoSuchBucket", true},
			{"a..b", "k", "InvalidBucketName", true},
			{"bkt", "a//b", "XMinioInvalidObjectName", true},
			{"bkt", strings.Repeat("s", 256), "XMinioInvalidObjectName", true},
		} {
			code, permanent := Classify(st.Put(ctx, tc.bucket, tc.key, []byte("x"), Meta{}))
			if code != tc.code || permanent != tc.permanent {
				t.Errorf("Put(%q, %.20q): %q, %v; want %q, %v", tc.bucket, tc.key, code, permanent, tc.code, tc.permanent)
			}
		}
		// modelwatch's own credentials are wrong: every destination fails
		// alike until they are fixed, so it is retried.
		wrong := NewS3(s3.New(srv.Client(t).Options(), func(o *s3.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong-secret", "")
		}))
		if code, permanent := Classify(wrong.Put(ctx, "bkt", "k", []byte("x"), Meta{})); code != "SignatureDoesNotMatch" || permanent {
			t.Errorf("wrong secret: %q, %v", code, permanent)
		}
		srv.Stop()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if code, permanent := Classify(st.Put(ctx, "bkt", "k", []byte("x"), Meta{})); code != "network" || permanent {
			t.Errorf("MinIO stopped: %q, %v", code, permanent)
		}
	})
}
