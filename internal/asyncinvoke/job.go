package asyncinvoke

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Statuses of a job, as Bedrock names them.
const (
	InProgress = "InProgress"
	Completed  = "Completed"
	Failed     = "Failed"
)

// Tag is one of the request's tags.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Caller is who submitted a job, for its Invocation and to scope tokens
// and listings.
type Caller struct {
	PrincipalName string `json:"principalName,omitempty"`
	PrincipalARN  string `json:"principalArn,omitempty"`
	AuthMethod    string `json:"authMethod,omitempty"`
	AccessKeyID   string `json:"accessKeyId,omitempty"`
	SourceIP      string `json:"sourceIp,omitempty"`
	UserAgent     string `json:"userAgent,omitempty"`
}

// Job is one asynchronous invocation. The store hands out copies.
type Job struct {
	// ID is the ARN's last segment: 12 characters [a-z0-9].
	ID  string `json:"id"`
	ARN string `json:"invocationArn"`
	// RequestID is the x-amzn-RequestId of the StartAsyncInvoke call,
	// the Invocation's request ID.
	RequestID string `json:"requestId"`
	// ModelID is the identifier as the caller sent it, CatalogModelID the
	// catalog model it resolved to, ModelARN its foundation-model ARN.
	ModelID        string `json:"modelId"`
	CatalogModelID string `json:"catalogModelId"`
	ModelARN       string `json:"modelArn"`
	// Provider and UpstreamModel say where the job runs.
	Provider      string `json:"provider,omitempty"`
	UpstreamModel string `json:"upstreamModel,omitempty"`

	ClientRequestToken string `json:"clientRequestToken,omitempty"`
	// Fingerprint identifies the request (model, input, output location,
	// tags) for the idempotency check.
	Fingerprint string `json:"fingerprint"`

	Status         string     `json:"status"`
	FailureMessage string     `json:"failureMessage,omitempty"`
	SubmitTime     time.Time  `json:"submitTime"`
	LastModified   time.Time  `json:"lastModifiedTime"`
	EndTime        *time.Time `json:"endTime,omitempty"`

	// S3URI is outputDataConfig.s3OutputDataConfig.s3Uri as given;
	// KMSKeyID and BucketOwner are echoed back.
	S3URI       string `json:"s3Uri"`
	KMSKeyID    string `json:"kmsKeyId,omitempty"`
	BucketOwner string `json:"bucketOwner,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`

	// ModelInput is the request's modelInput document.
	ModelInput json.RawMessage `json:"modelInput"`
	Caller     Caller          `json:"caller"`

	// Output of a completed job: the video's location and shape.
	OutputS3Path    string `json:"outputS3Path,omitempty"`
	VideoSeconds    int    `json:"videoSeconds,omitempty"`
	VideoFPS        int    `json:"videoFps,omitempty"`
	VideoWidth      int    `json:"videoWidth,omitempty"`
	VideoHeight     int    `json:"videoHeight,omitempty"`
	ErrorCode       string `json:"errorCode,omitempty"`
	ErrorHTTPStatus int    `json:"errorHttpStatus,omitempty"`
}

// Bucket is the bucket of S3URI.
func (j *Job) Bucket() string { b, _ := SplitS3URI(j.S3URI); return b }

// OutputKey is the key of a file of the job's output folder:
// <prefix>/<job id>/<name>.
func (j *Job) OutputKey(name string) string {
	_, prefix := SplitS3URI(j.S3URI)
	if prefix == "" {
		return j.ID + "/" + name
	}
	return prefix + "/" + j.ID + "/" + name
}

// SplitS3URI splits "s3://bucket[/prefix]" into the bucket and the prefix
// without slashes at its ends. It does not validate (see bedrockapi).
func SplitS3URI(uri string) (bucket, prefix string) {
	rest := strings.TrimPrefix(uri, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, strings.Trim(prefix, "/")
}

// idAlphabet is the ARN's job ID alphabet.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns 12 random characters of [a-z0-9].
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

// ValidID reports whether s has the form of a job ID.
func ValidID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if !strings.ContainsRune(idAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// save writes the job's record atomically (temporary file, fsync,
// rename).
func save(dir string, j *Job) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".job-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, j.ID+".json"))
}

// load reads every job record in dir; a record that does not parse is
// reported, not skipped silently.
func load(dir string) ([]*Job, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var jobs []*Job
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		var j Job
		if err := json.Unmarshal(b, &j); err != nil || !ValidID(j.ID) || j.ID+".json" != name {
			return nil, fmt.Errorf("asyncinvoke: job record %s is damaged (%v); move it away to start", filepath.Join(dir, name), err)
		}
		jobs = append(jobs, &j)
	}
	return jobs, nil
}
