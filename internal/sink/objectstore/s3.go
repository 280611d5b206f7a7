package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3 stores objects in Amazon S3 or an S3-compatible service such as MinIO.
type S3 struct {
	client *s3.Client
}

var (
	_ Store   = (*S3)(nil)
	_ Header  = (*S3)(nil)
	_ Deleter = (*S3)(nil)
)

// NewS3 returns an S3 store that uses client as configured.
func NewS3(client *s3.Client) *S3 { return &S3{client: client} }

// LoadS3 builds an S3 store through the AWS SDK's standard configuration
// chain (environment, shared config and credentials files and profiles, web
// identity, container and instance credentials; AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_S3 and endpoint_url settings). region is used only when
// the chain yields none; if neither does and a custom endpoint is set,
// "us-east-1" is used (what MinIO expects by default).
//
// When a custom endpoint is configured, requests use path-style addressing
// (http://host/bucket/key), which MinIO and most S3-compatible stores
// require. AWS_S3_USE_PATH_STYLE=true forces path style, and
// AWS_S3_USE_PATH_STYLE=false forces virtual-hosted style even with a custom
// endpoint.
func LoadS3(ctx context.Context, region string) (*S3, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("objectstore: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = region
	}
	pathStyle, pathStyleSet, err := envBool("AWS_S3_USE_PATH_STYLE")
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// o.BaseEndpoint is already resolved here: AWS_ENDPOINT_URL_S3, the
		// profile's services section, then AWS_ENDPOINT_URL / endpoint_url
		// (cfg.BaseEndpoint), honouring AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
		custom := o.BaseEndpoint != nil && *o.BaseEndpoint != ""
		switch {
		case pathStyleSet:
			o.UsePathStyle = pathStyle
		case custom:
			o.UsePathStyle = true
		}
		if o.Region == "" && custom {
			o.Region = "us-east-1"
		}
	})
	if client.Options().Region == "" {
		return nil, errors.New("objectstore: no AWS region configured: set AWS_REGION or the gateway's region")
	}
	return NewS3(client), nil
}

// envBool reads a boolean environment variable.
func envBool(name string) (value, set bool, err error) {
	s := strings.TrimSpace(os.Getenv(name))
	if s == "" {
		return false, false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, false, fmt.Errorf("objectstore: %s=%q: not a boolean", name, s)
	}
	return v, true, nil
}

// Client returns the underlying S3 client.
func (s *S3) Client() *s3.Client { return s.client }

// Kind returns "s3".
func (s *S3) Kind() string { return "s3" }

// Describe returns "s3://bucket".
func (s *S3) Describe(bucket string) string { return "s3://" + bucket }

// Put stores body under bucket/key with PutObject, replacing any object.
// It makes one attempt: the delivery pipeline owns retries, so that its
// backoff governs an outage and every failed attempt shows in its metrics
// (the SDK's retryer would hide a short outage inside one slow call).
func (s *S3) Put(ctx context.Context, bucket, key string, body []byte, meta Meta) error {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if meta.ContentType != "" {
		in.ContentType = aws.String(meta.ContentType)
	}
	if meta.ContentEncoding != "" {
		in.ContentEncoding = aws.String(meta.ContentEncoding)
	}
	if um := normalizeUserMetadata(meta.UserMetadata); um != nil {
		in.Metadata = um
	}
	_, err := s.client.PutObject(ctx, in, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	return mapS3Err(err)
}

// Get returns the object's bytes as stored (a gzip Content-Encoding is not
// undone: the SDK asks for the identity encoding).
func (s *S3) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return nil, mapS3Err(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("objectstore: read s3://%s/%s: %w", bucket, key, err)
	}
	return b, nil
}

// Head returns the object's metadata with HeadObject: content type and
// encoding, and the user metadata (x-amz-meta-*) with lower-case keys.
func (s *S3) Head(ctx context.Context, bucket, key string) (Meta, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return Meta{}, mapS3Err(err)
	}
	return Meta{
		ContentType:     aws.ToString(out.ContentType),
		ContentEncoding: aws.ToString(out.ContentEncoding),
		UserMetadata:    normalizeUserMetadata(out.Metadata),
	}, nil
}

// Delete removes the object with DeleteObject.
func (s *S3) Delete(ctx context.Context, bucket, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return mapS3Err(err)
}

// List pages through ListObjectsV2 under prefix, starting after startAfter.
func (s *S3) List(ctx context.Context, bucket, prefix, startAfter string, fn func(Object) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return mapS3Err(err)
		}
		for _, o := range page.Contents {
			obj := Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)}
			if o.LastModified != nil {
				obj.LastModified = *o.LastModified
			}
			if err := fn(obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapS3Err tags SDK errors with ErrNoSuchBucket, ErrNotFound or
// ErrAccessDenied; the message stays the SDK's.
func mapS3Err(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchBucket":
			kind = ErrNoSuchBucket
		case "NoSuchKey", "NotFound":
			kind = ErrNotFound
		case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			kind = ErrAccessDenied
		}
	}
	if kind == nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) {
			switch re.HTTPStatusCode() {
			case http.StatusNotFound:
				kind = ErrNotFound
			case http.StatusForbidden:
				kind = ErrAccessDenied
			}
		}
	}
	return classify(kind, err)
}
