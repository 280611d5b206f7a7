package objectstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
)

// awsEnv is every variable the SDK's configuration chain (and UseS3) reads
// that could point a test somewhere unintended.
var awsEnv = []string{
	"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_S3_USE_PATH_STYLE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
}

// cleanAWSEnv clears the AWS environment, points HOME at an empty
// directory and disables IMDS, for the test's duration. The SDK computes
// its default shared file paths from HOME once, at init, so they are set
// explicitly (to home/.aws/config and credentials, which do not exist).
func cleanAWSEnv(t *testing.T) (home string) {
	t.Helper()
	for _, k := range awsEnv {
		t.Setenv(k, "")
	}
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return home
}

func TestS3Contract(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "logs")
	testContract(t, NewS3(srv.Client(t)), "logs")
}

// TestS3SameOrderAsDir checks the local stand-in lists exactly as MinIO does.
func TestS3SameOrderAsDir(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "bkt")
	s3s, dir := NewS3(srv.Client(t)), NewDir(t.TempDir())
	ctx := context.Background()
	keys := []string{"x/y", "x-y", "x.y", "x0", "x/y-z/1", "x/y.z", "x/yz", "x~", "x_", "X", "x y", "x!"}
	for _, st := range []Store{s3s, dir} {
		for _, k := range keys {
			if err := st.Put(ctx, "bkt", k, []byte(k), Meta{}); err != nil {
				t.Fatalf("%s Put(%q): %v", st.Kind(), k, err)
			}
		}
	}
	for _, startAfter := range []string{"", "x", "x/", "x-", "x/y"} {
		got, want := listKeys(t, dir, "bkt", "", startAfter), listKeys(t, s3s, "bkt", "", startAfter)
		if !slices.Equal(got, want) {
			t.Errorf("startAfter %q: Dir lists %q, MinIO %q", startAfter, got, want)
		}
	}
}

func TestS3Pagination(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "bkt")
	pages := 0
	client := s3.New(srv.Client(t).Options(), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("maxKeys2",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if p, ok := in.Parameters.(*s3.ListObjectsV2Input); ok {
						p.MaxKeys = aws.Int32(2)
						pages++
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	})
	st := NewS3(client)
	ctx := context.Background()
	var keys []string
	for i := 0; i < 9; i++ {
		k := fmt.Sprintf("p/%02d", i)
		keys = append(keys, k)
		if err := st.Put(ctx, "bkt", k, []byte("x"), Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Put(ctx, "bkt", "q/other", []byte("x"), Meta{}); err != nil {
		t.Fatal(err)
	}
	// MinIO may report the third page truncated and answer a fourth, empty one.
	if got := listKeys(t, st, "bkt", "p/", "p/02"); !slices.Equal(got, keys[3:]) || pages < 3 {
		t.Errorf("List = %q in %d pages, want %q in 3 or more", got, pages, keys[3:])
	}
}

func TestS3PutMetaAndEncoding(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "bkt")
	st := NewS3(srv.Client(t))
	ctx := context.Background()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(`{"schemaType":"ModelInvocationLog"}`+"\n", 100)))
	zw.Close()
	const key = "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2024/05/01/00/x.json.gz"
	if err := st.Put(ctx, "bkt", key, gz.Bytes(), Meta{ContentType: "application/json", ContentEncoding: "gzip"}); err != nil {
		t.Fatal(err)
	}
	head, err := srv.Client(t).HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String("bkt"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's default request checksum (CRC32 header) is accepted and kept.
	if aws.ToString(head.ChecksumCRC32) == "" {
		t.Errorf("no CRC32 checksum stored (checksum type %q)", head.ChecksumType)
	}
	if aws.ToString(head.ContentEncoding) != "gzip" || aws.ToString(head.ContentType) != "application/json" ||
		aws.ToInt64(head.ContentLength) != int64(gz.Len()) {
		t.Errorf("stored with Content-Encoding %q, Content-Type %q, length %d",
			aws.ToString(head.ContentEncoding), aws.ToString(head.ContentType), aws.ToInt64(head.ContentLength))
	}
	got, err := st.Get(ctx, "bkt", key)
	if err != nil || !bytes.Equal(got, gz.Bytes()) {
		t.Errorf("Get returned %d bytes (%v), want the %d gzip bytes as stored", len(got), err, gz.Len())
	}
}

func TestS3Errors(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "bkt")
	ctx := context.Background()
	st := NewS3(srv.Client(t))
	if err := st.Put(ctx, "nobucket", "k", []byte("x"), Meta{}); !errors.Is(err, ErrNoSuchBucket) || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Put to missing bucket: %v", err)
	}
	var apiErr interface{ ErrorCode() string }
	if _, err := st.Get(ctx, "bkt", "missing"); !errors.Is(err, ErrNotFound) || !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchKey" {
		t.Errorf("Get missing key: %v", err)
	}

	for name, creds := range map[string]aws.CredentialsProvider{
		"wrong secret":     credentials.NewStaticCredentialsProvider(srv.AccessKey, "wrong-secret", ""),
		"unknown key":      credentials.NewStaticCredentialsProvider("nobody", "wrong-secret", ""),
		"anonymous client": aws.AnonymousCredentials{},
	} {
		bad := NewS3(s3.New(srv.Client(t).Options(), func(o *s3.Options) { o.Credentials = creds }))
		if err := bad.Put(ctx, "bkt", "k", []byte("x"), Meta{}); !errors.Is(err, ErrAccessDenied) {
			t.Errorf("%s: Put: %v, want ErrAccessDenied", name, err)
		}
		if _, err := bad.Get(ctx, "bkt", "k"); !errors.Is(err, ErrAccessDenied) {
			t.Errorf("%s: Get: %v, want ErrAccessDenied", name, err)
		}
		if err := bad.List(ctx, "bkt", "", "", func(Object) error { return nil }); !errors.Is(err, ErrAccessDenied) {
			t.Errorf("%s: List: %v, want ErrAccessDenied", name, err)
		}
	}

	// MinIO down: an error, none of the classified ones.
	srv.Stop()
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fast := NewS3(s3.New(srv.Client(t).Options(), func(o *s3.Options) { o.RetryMaxAttempts = 1 }))
	err := fast.Put(ctx2, "bkt", "k", []byte("x"), Meta{})
	if err == nil || errors.Is(err, ErrNoSuchBucket) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrAccessDenied) {
		t.Errorf("Put with MinIO down: %v", err)
	}
	srv.Restart(t)
	if err := st.Put(ctx, "bkt", "k", []byte("x"), Meta{}); err != nil {
		t.Errorf("Put after restart: %v", err)
	}
}

// TestLoadS3Endpoints checks every way of configuring a custom endpoint
// through the SDK chain selects path-style addressing and works.
func TestLoadS3Endpoints(t *testing.T) {
	srv := miniotest.Start(t)
	srv.CreateBucket(t, "bkt")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, home string)
		path  bool
	}{
		{"AWS_ENDPOINT_URL_S3", func(t *testing.T, _ string) { srv.SetEnv(t) }, true},
		{"AWS_ENDPOINT_URL", func(t *testing.T, _ string) {
			srv.SetEnv(t)
			t.Setenv("AWS_ENDPOINT_URL_S3", "")
			t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint)
		}, true},
		{"profile endpoint_url", func(t *testing.T, home string) {
			writeAWSFiles(t, home, fmt.Sprintf("[profile mw]\nregion = us-east-1\nendpoint_url = %s\n", srv.Endpoint), srv)
			t.Setenv("AWS_PROFILE", "mw")
		}, true},
		{"profile services s3 endpoint_url", func(t *testing.T, home string) {
			writeAWSFiles(t, home, fmt.Sprintf("[default]\nservices = local\n\n[services local]\ns3 =\n  endpoint_url = %s\n", srv.Endpoint), srv)
		}, true},
		{"no region anywhere", func(t *testing.T, _ string) {
			srv.SetEnv(t)
			t.Setenv("AWS_REGION", "")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := cleanAWSEnv(t)
			tc.setup(t, home)
			st, err := LoadS3(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			o := st.Client().Options()
			if o.UsePathStyle != tc.path || aws.ToString(o.BaseEndpoint) != srv.Endpoint || o.Region != "us-east-1" {
				t.Errorf("options: path style %v, endpoint %q, region %q", o.UsePathStyle, aws.ToString(o.BaseEndpoint), o.Region)
			}
			ctx := context.Background()
			if err := st.Put(ctx, "bkt", "k/"+tc.name, []byte(tc.name), Meta{}); err != nil {
				t.Fatal(err)
			}
			if got, err := st.Get(ctx, "bkt", "k/"+tc.name); err != nil || string(got) != tc.name {
				t.Errorf("Get = %q, %v", got, err)
			}
			head, err := srv.Client(t).HeadObject(ctx, &s3.HeadObjectInput{
				Bucket: aws.String("bkt"), Key: aws.String("k/" + tc.name), ChecksumMode: types.ChecksumModeEnabled,
			})
			if err != nil || aws.ToString(head.ChecksumCRC32) == "" {
				t.Errorf("object not stored with the SDK's default CRC32 checksum: %v", err)
			}
		})
	}
}

func writeAWSFiles(t *testing.T, home, config string, srv *miniotest.Server) {
	t.Helper()
	dir := filepath.Join(home, ".aws")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n[mw]\naws_access_key_id = %[1]s\naws_secret_access_key = %[2]s\n", srv.AccessKey, srv.SecretKey)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadS3PathStyleAndRegion(t *testing.T) {
	ctx := context.Background()
	t.Run("AWS default: virtual-hosted, region from arg", func(t *testing.T) {
		cleanAWSEnv(t)
		st, err := LoadS3(ctx, "eu-west-3")
		if err != nil {
			t.Fatal(err)
		}
		if o := st.Client().Options(); o.UsePathStyle || o.BaseEndpoint != nil || o.Region != "eu-west-3" {
			t.Errorf("options: path style %v, endpoint %v, region %q", o.UsePathStyle, o.BaseEndpoint, o.Region)
		}
	})
	t.Run("region from env wins over arg", func(t *testing.T) {
		cleanAWSEnv(t)
		t.Setenv("AWS_REGION", "ap-south-1")
		st, err := LoadS3(ctx, "eu-west-3")
		if err != nil {
			t.Fatal(err)
		}
		if r := st.Client().Options().Region; r != "ap-south-1" {
			t.Errorf("region %q", r)
		}
	})
	t.Run("AWS_S3_USE_PATH_STYLE=true", func(t *testing.T) {
		cleanAWSEnv(t)
		t.Setenv("AWS_S3_USE_PATH_STYLE", "true")
		st, err := LoadS3(ctx, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		if !st.Client().Options().UsePathStyle {
			t.Error("not path style")
		}
	})
	t.Run("AWS_S3_USE_PATH_STYLE=false with endpoint", func(t *testing.T) {
		cleanAWSEnv(t)
		t.Setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.com")
		t.Setenv("AWS_S3_USE_PATH_STYLE", "false")
		st, err := LoadS3(ctx, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		if st.Client().Options().UsePathStyle {
			t.Error("path style")
		}
	})
	t.Run("bad AWS_S3_USE_PATH_STYLE", func(t *testing.T) {
		cleanAWSEnv(t)
		t.Setenv("AWS_S3_USE_PATH_STYLE", "maybe")
		if _, err := LoadS3(ctx, "us-east-1"); err == nil {
			t.Error("no error")
		}
	})
	t.Run("no region", func(t *testing.T) {
		cleanAWSEnv(t)
		if _, err := LoadS3(ctx, ""); err == nil || !strings.Contains(err.Error(), "region") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("auto picks S3 with AWS_ENDPOINT_URL_S3", func(t *testing.T) {
		srv := miniotest.Start(t)
		srv.CreateBucket(t, "bkt")
		cleanAWSEnv(t)
		srv.SetEnv(t) // LoadDefaultConfig reads the real environment
		env := map[string]string{"AWS_ENDPOINT_URL_S3": srv.Endpoint}
		st, err := Open(ctx, ModeAuto, t.TempDir(), "us-east-1", func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if st.Kind() != "s3" || st.Describe("b") != "s3://b" {
			t.Fatalf("Kind %q, Describe %q", st.Kind(), st.Describe("b"))
		}
		if err := st.Put(ctx, "bkt", "k", []byte("v"), Meta{}); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Get(ctx, "bkt", "k"); err != nil || string(got) != "v" {
			t.Errorf("Get = %q, %v", got, err)
		}
	})
	t.Run("auto picks local with nothing set", func(t *testing.T) {
		cleanAWSEnv(t)
		t.Setenv("AWS_CONFIG_FILE", "") // so the empty temporary HOME is looked at
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
		data := t.TempDir()
		st, err := Open(ctx, ModeAuto, data, "us-east-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Kind() != "local" || st.Describe("b") != filepath.Join(data, "s3", "b") {
			t.Fatalf("Kind %q, Describe %q", st.Kind(), st.Describe("b"))
		}
		if err := st.Put(ctx, "bkt", "k", []byte("v"), Meta{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(data, "s3", "bkt", "k")); err != nil {
			t.Error(err)
		}
	})
	t.Run("explicit modes", func(t *testing.T) {
		cleanAWSEnv(t)
		env := map[string]string{"AWS_ACCESS_KEY_ID": "x"}
		st, err := Open(ctx, ModeLocal, "/d", "us-east-1", func(k string) string { return env[k] })
		if err != nil || st.Kind() != "local" || st.Describe("b") != filepath.Join("/d", "s3", "b") {
			t.Errorf("ModeLocal: %v, %v", st, err)
		}
		st, err = Open(ctx, ModeS3, "/d", "us-east-1", func(string) string { return "" })
		if err != nil || st.Kind() != "s3" {
			t.Errorf("ModeS3: %v, %v", st, err)
		}
		if _, err := Open(ctx, "bogus", "/d", "us-east-1", nil); err == nil {
			t.Error("unknown mode accepted")
		}
	})
}

func TestUseS3(t *testing.T) {
	home := t.TempDir()
	credFile := filepath.Join(t.TempDir(), "creds")
	os.WriteFile(credFile, []byte("[default]\n"), 0o600)
	homeWithCfg := t.TempDir()
	os.MkdirAll(filepath.Join(homeWithCfg, ".aws"), 0o700)
	os.WriteFile(filepath.Join(homeWithCfg, ".aws", "config"), []byte("[default]\n"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing", map[string]string{"HOME": home}, false},
		{"no HOME", map[string]string{}, false},
		{"AWS_ENDPOINT_URL_S3", map[string]string{"HOME": home, "AWS_ENDPOINT_URL_S3": "http://x"}, true},
		{"AWS_ENDPOINT_URL", map[string]string{"HOME": home, "AWS_ENDPOINT_URL": "http://x"}, true},
		{"AWS_ACCESS_KEY_ID", map[string]string{"HOME": home, "AWS_ACCESS_KEY_ID": "x"}, true},
		{"AWS_PROFILE", map[string]string{"HOME": home, "AWS_PROFILE": "x"}, true},
		{"web identity", map[string]string{"HOME": home, "AWS_WEB_IDENTITY_TOKEN_FILE": "/t"}, true},
		{"ECS relative", map[string]string{"HOME": home, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"}, true},
		{"container full", map[string]string{"HOME": home, "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://x"}, true},
		{"only a secret key", map[string]string{"HOME": home, "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1"}, false},
		{"~/.aws/config", map[string]string{"HOME": homeWithCfg}, true},
		{"AWS_SHARED_CREDENTIALS_FILE exists", map[string]string{"HOME": home, "AWS_SHARED_CREDENTIALS_FILE": credFile}, true},
		{"AWS_SHARED_CREDENTIALS_FILE missing", map[string]string{"HOME": home, "AWS_SHARED_CREDENTIALS_FILE": credFile + ".no"}, false},
		{"AWS_CONFIG_FILE exists", map[string]string{"HOME": home, "AWS_CONFIG_FILE": credFile}, true},
		{"AWS_CONFIG_FILE elsewhere hides ~/.aws/config", map[string]string{"HOME": homeWithCfg, "AWS_CONFIG_FILE": credFile + ".no"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UseS3(func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("UseS3 = %v, want %v", got, tc.want)
			}
		})
	}
}
