package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrock"
	bedrocktypes "github.com/aws/aws-sdk-go-v2/service/bedrock/types"
	ctsdk "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/modelwatch/modelwatch/internal/cli"
	"github.com/modelwatch/modelwatch/internal/cloudtrail"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/minio/miniotest"
	"github.com/modelwatch/modelwatch/internal/server"
)

// Keys of the audit tests' principals: ops runs the platform (logging
// configuration and the audit trail), carol may call one model.
const (
	auditOpsKeyID    = "AKIAOPS0000000EXAMPLE"
	auditOpsSecret   = "ops/K7MDENG/bPxRfiCYEXAMPLEKEY000"
	auditOpsAPIKey   = "mw-ops-0123456789abcdefghijklmnopqrs"
	auditCarolKeyID  = "AKIAAUDITCAROLEXAMPLE"
	auditCarolSecret = "carol/K7MDENG/bPxRfiCYAUDITKEY00"
	auditAccount     = "000000000000"
	auditRegion      = "us-east-1"
	auditNova        = "amazon.nova-lite-v1:0"
)

// auditPrincipals is the auth section of the audit tests: ops may manage
// the invocation logging configuration, list models, look up the audit
// trail and use its API key; carol may only call Claude 3 Haiku.
const auditPrincipals = `
auth:
  principals:
    - name: ops
      accessKeys: [{id: ` + auditOpsKeyID + `, secret: "` + auditOpsSecret + `"}]
      apiKeys: ["` + auditOpsAPIKey + `"]
      policies:
        - name: PlatformOps
          document:
            Version: "2012-10-17"
            Statement:
              - Sid: Logging
                Effect: Allow
                Action: ["bedrock:*LoggingConfiguration", "bedrock:ListFoundationModels"]
                Resource: "*"
              - Sid: Audit
                Effect: Allow
                Action: ["cloudtrail:LookupEvents", "bedrock:CallWithBearerToken"]
                Resource: "*"
    - name: carol
      accessKeys: [{id: ` + auditCarolKeyID + `, secret: "` + auditCarolSecret + `"}]
      policies:
        - name: InvokeHaiku
          document:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: "bedrock:InvokeModel*"
                Resource: "arn:aws:bedrock:us-east-1::foundation-model/` + haiku + `"
`

// auditNotAuthorized is AWS's AccessDeniedException message for an action
// without a resource that no identity-based policy of user allows.
func auditNotAuthorized(user, action string) string {
	return "User: arn:aws:iam::" + auditAccount + ":user/" + user + " is not authorized to perform: " + action +
		" because no identity-based policy allows the " + action + " action"
}

// auditRecord is a CloudTrail record as delivered, decoded strictly: a
// field the test does not know fails the decoding.
type auditRecord struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity struct {
		Type        string `json:"type"`
		PrincipalID string `json:"principalId"`
		ARN         string `json:"arn"`
		AccountID   string `json:"accountId"`
		AccessKeyID string `json:"accessKeyId"`
		UserName    string `json:"userName"`
	} `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          *string         `json:"errorCode"`
	ErrorMessage       *string         `json:"errorMessage"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           *bool           `json:"readOnly"`
	Resources          json.RawMessage `json:"resources"`
	EventType          string          `json:"eventType"`
	ManagementEvent    *bool           `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
	TLSDetails         json.RawMessage `json:"tlsDetails"`
}

// decodeAuditRecord decodes one record strictly.
func decodeAuditRecord(t *testing.T, raw []byte) auditRecord {
	t.Helper()
	var r auditRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	return r
}

// auditCall is one call the test made and the record it must have left.
type auditCall struct {
	name, user, keyID, requestID string
	readOnly                     bool
	errorMessage                 string // "" for a call that succeeded
	params                       string // requestParameters as JSON, "null" when none
	sdk                          string // the SDK's api/ user agent part
	before, after                time.Time
}

// auditUUID is a request or event ID's form; auditPrincipalID an IAM
// user's unique ID's (AIDA and 17 base32 characters).
var (
	auditUUID        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	auditPrincipalID = regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)
)

// checkAuditRecord checks every field of a record against the call that
// made it.
func checkAuditRecord(t *testing.T, raw []byte, c auditCall) auditRecord {
	t.Helper()
	r := decodeAuditRecord(t, raw)
	errf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s by %s (%s): "+format+"\nrecord: %s", append([]any{c.name, c.user, c.requestID}, append(args, raw)...)...)
	}
	field := func(name, got, want string) {
		t.Helper()
		if got != want {
			errf("%s = %q, want %q", name, got, want)
		}
	}
	field("eventVersion", r.EventVersion, "1.09")
	field("userIdentity.type", r.UserIdentity.Type, "IAMUser")
	if !auditPrincipalID.MatchString(r.UserIdentity.PrincipalID) {
		errf("userIdentity.principalId = %q, want AIDA and 17 base32 characters", r.UserIdentity.PrincipalID)
	}
	field("userIdentity.arn", r.UserIdentity.ARN, "arn:aws:iam::"+auditAccount+":user/"+c.user)
	field("userIdentity.accountId", r.UserIdentity.AccountID, auditAccount)
	field("userIdentity.accessKeyId", r.UserIdentity.AccessKeyID, c.keyID)
	field("userIdentity.userName", r.UserIdentity.UserName, c.user)
	if at, err := time.Parse("2006-01-02T15:04:05Z", r.EventTime); err != nil {
		errf("eventTime %q is not CloudTrail's UTC second: %v", r.EventTime, err)
	} else if at.Before(c.before.UTC().Truncate(time.Second)) || at.After(c.after) {
		errf("eventTime %s outside the call's [%s, %s]", at, c.before.UTC().Format(time.RFC3339Nano), c.after.UTC().Format(time.RFC3339Nano))
	}
	field("eventSource", r.EventSource, "bedrock.amazonaws.com")
	field("eventName", r.EventName, c.name)
	field("awsRegion", r.AWSRegion, auditRegion)
	field("sourceIPAddress", r.SourceIPAddress, "127.0.0.1")
	if !strings.HasPrefix(r.UserAgent, "aws-sdk-go-v2/") || !strings.Contains(r.UserAgent, " api/"+c.sdk+"#") {
		errf("userAgent %q is not the AWS SDK for Go v2's %s client's", r.UserAgent, c.sdk)
	}
	if c.errorMessage == "" {
		if r.ErrorCode != nil || r.ErrorMessage != nil {
			errf("a successful call has errorCode %v, errorMessage %v", r.ErrorCode, r.ErrorMessage)
		}
	} else {
		if r.ErrorCode == nil || *r.ErrorCode != "AccessDeniedException" {
			errf("errorCode %v, want AccessDeniedException", r.ErrorCode)
		}
		if r.ErrorMessage == nil || *r.ErrorMessage != c.errorMessage {
			errf("errorMessage %v, want %q", r.ErrorMessage, c.errorMessage)
		}
	}
	if !auditSameJSON(r.RequestParameters, []byte(c.params)) {
		errf("requestParameters %s, want %s", r.RequestParameters, c.params)
	}
	if string(r.ResponseElements) != "null" {
		errf("responseElements %s, want null", r.ResponseElements)
	}
	field("requestID", r.RequestID, c.requestID)
	if !auditUUID.MatchString(r.EventID) {
		errf("eventID %q is not a UUID", r.EventID)
	}
	if r.ReadOnly == nil || *r.ReadOnly != c.readOnly {
		errf("readOnly %v, want %v", r.ReadOnly, c.readOnly)
	}
	if r.Resources != nil || r.TLSDetails != nil {
		errf("resources %s / tlsDetails %s on a plain-HTTP call without resources", r.Resources, r.TLSDetails)
	}
	field("eventType", r.EventType, "AwsApiCall")
	if r.ManagementEvent == nil || !*r.ManagementEvent {
		errf("managementEvent %v, want true", r.ManagementEvent)
	}
	field("recipientAccountId", r.RecipientAccountID, auditAccount)
	field("eventCategory", r.EventCategory, "Management")
	return r
}

// auditSameJSON reports whether a and b are the same JSON value.
func auditSameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// auditCalls makes the calls of the audit tests with the unmodified SDK
// and returns what each must leave on the trail: the Put, Get and denied
// Put of batch 1, then (after between, if set) carol's denied Converse and
// ListFoundationModels (denied for carol, allowed when opsLists) of batch 2.
func auditCalls(t *testing.T, url string, opsLists bool, between func(batch1 []auditCall)) []auditCall {
	t.Helper()
	ctx := context.Background()
	ops := controlClient(url, auditOpsKeyID, auditOpsSecret)
	carol := controlClient(url, auditCarolKeyID, auditCarolSecret)
	carolRuntime := runtimeClient(url, auditCarolKeyID, auditCarolSecret)
	loggingConfig := &bedrocktypes.LoggingConfig{
		S3Config:                     &bedrocktypes.S3Config{BucketName: aws.String("invocation-logs"), KeyPrefix: aws.String("bedrock")},
		TextDataDeliveryEnabled:      aws.Bool(true),
		ImageDataDeliveryEnabled:     aws.Bool(false),
		EmbeddingDataDeliveryEnabled: aws.Bool(true),
	}
	const putParams = `{"loggingConfig":{"s3Config":{"bucketName":"invocation-logs","keyPrefix":"bedrock"},` +
		`"textDataDeliveryEnabled":true,"imageDataDeliveryEnabled":false,"embeddingDataDeliveryEnabled":true}}`
	var calls []auditCall
	call := func(c auditCall, do func() (string, error)) {
		t.Helper()
		c.before = time.Now()
		id, err := do()
		c.after = time.Now()
		switch {
		case c.errorMessage == "" && err != nil:
			t.Fatalf("%s by %s: %v", c.name, c.user, err)
		case c.errorMessage != "":
			if got := accessDenied(t, err); got != c.errorMessage {
				t.Errorf("%s by %s:\n got %s\nwant %s", c.name, c.user, got, c.errorMessage)
			}
			id = errRequestID(t, err)
		}
		if !auditUUID.MatchString(id) {
			t.Fatalf("%s by %s: x-amzn-RequestId %q is not a UUID", c.name, c.user, id)
		}
		c.requestID = id
		calls = append(calls, c)
	}
	putLogging := func(client *bedrock.Client) func() (string, error) {
		return func() (string, error) {
			out, err := client.PutModelInvocationLoggingConfiguration(ctx, &bedrock.PutModelInvocationLoggingConfigurationInput{LoggingConfig: loggingConfig})
			if err != nil {
				return "", err
			}
			return requestID(t, out.ResultMetadata), nil
		}
	}

	call(auditCall{name: "PutModelInvocationLoggingConfiguration", user: "ops", keyID: auditOpsKeyID, params: putParams, sdk: "bedrock"}, putLogging(ops))
	call(auditCall{name: "GetModelInvocationLoggingConfiguration", user: "ops", keyID: auditOpsKeyID, readOnly: true, params: "null", sdk: "bedrock"},
		func() (string, error) {
			out, err := ops.GetModelInvocationLoggingConfiguration(ctx, &bedrock.GetModelInvocationLoggingConfigurationInput{})
			if err != nil {
				return "", err
			}
			if aws.ToString(out.LoggingConfig.S3Config.BucketName) != "invocation-logs" {
				t.Errorf("Get after Put: %+v", out.LoggingConfig)
			}
			return requestID(t, out.ResultMetadata), nil
		})
	call(auditCall{name: "PutModelInvocationLoggingConfiguration", user: "carol", keyID: auditCarolKeyID, params: putParams, sdk: "bedrock",
		errorMessage: auditNotAuthorized("carol", "bedrock:PutModelInvocationLoggingConfiguration")}, putLogging(carol))
	if between != nil {
		between(slices.Clone(calls))
	}
	call(auditCall{name: "Converse", user: "carol", keyID: auditCarolKeyID, readOnly: true, params: `{"modelId":"` + auditNova + `"}`, sdk: "bedrockruntime",
		errorMessage: "User: arn:aws:iam::" + auditAccount + ":user/carol is not authorized to perform: bedrock:InvokeModel on resource: " +
			"arn:aws:bedrock:us-east-1::foundation-model/" + auditNova + " because no identity-based policy allows the bedrock:InvokeModel action"},
		func() (string, error) { return "", converseOnce(carolRuntime, auditNova) })
	list := auditCall{name: "ListFoundationModels", user: "carol", keyID: auditCarolKeyID, readOnly: true, params: "null", sdk: "bedrock",
		errorMessage: auditNotAuthorized("carol", "bedrock:ListFoundationModels")}
	lister := carol
	if opsLists {
		list.user, list.keyID, list.errorMessage, lister = "ops", auditOpsKeyID, "", ops
	}
	call(list, func() (string, error) {
		out, err := lister.ListFoundationModels(ctx, &bedrock.ListFoundationModelsInput{})
		if err != nil {
			return "", err
		}
		return requestID(t, out.ResultMetadata), nil
	})
	return calls
}

// auditBucket is what the audit trail delivered to a bucket: its log
// files (uncompressed) and digest files (uncompressed, with their
// signature metadata), by key.
type auditBucket struct {
	logs, digests map[string][]byte
	signatures    map[string]map[string]string
	// records are the log files' records, with the file each is in.
	records []auditDelivered
}

// auditDelivered is one delivered record and the log file holding it.
type auditDelivered struct {
	key                            string
	raw                            json.RawMessage
	requestID, eventName, userName string
}

// of returns the delivered records of call c: those with its request
// ID, or (so that a record with a wrong request ID is still checked)
// those of its operation and user, which are unique among the tests'
// calls.
func (b *auditBucket) of(c auditCall) []auditDelivered {
	var byID, byCall []auditDelivered
	for _, r := range b.records {
		if r.requestID == c.requestID {
			byID = append(byID, r)
		}
		if r.eventName == c.name && r.userName == c.user {
			byCall = append(byCall, r)
		}
	}
	if len(byID) > 0 {
		return byID
	}
	return byCall
}

// readAuditBucket reads every log and digest file under prefix from
// MinIO with the S3 SDK, gunzipping each (a file that is not gzip fails
// the test).
func readAuditBucket(t *testing.T, client *s3.Client, bucket, prefix string) *auditBucket {
	t.Helper()
	ctx := context.Background()
	b := &auditBucket{logs: map[string][]byte{}, digests: map[string][]byte{}, signatures: map[string]map[string]string{}}
	logs := prefix + "/AWSLogs/" + auditAccount + "/CloudTrail/" + auditRegion + "/"
	digests := prefix + "/AWSLogs/" + auditAccount + "/CloudTrail-Digest/" + auditRegion + "/"
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
				return b
			}
			t.Fatalf("list %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("get %s: %v", key, err)
			}
			gz, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatalf("read %s: %v", key, err)
			}
			raw := auditGunzip(t, key, gz)
			switch {
			case strings.HasPrefix(key, logs):
				b.logs[key] = raw
				var file struct {
					Records []json.RawMessage `json:"Records"`
				}
				if err := json.Unmarshal(raw, &file); err != nil || file.Records == nil {
					t.Fatalf("log file %s is not {\"Records\":[...]}: %v\n%s", key, err, raw)
				}
				for _, r := range file.Records {
					var id struct {
						RequestID    string `json:"requestID"`
						EventName    string `json:"eventName"`
						UserIdentity struct {
							UserName string `json:"userName"`
						} `json:"userIdentity"`
					}
					if err := json.Unmarshal(r, &id); err != nil {
						t.Fatalf("record in %s: %v", key, err)
					}
					b.records = append(b.records, auditDelivered{key: key, raw: r, requestID: id.RequestID, eventName: id.EventName, userName: id.UserIdentity.UserName})
				}
			case strings.HasPrefix(key, digests):
				b.digests[key] = raw
				b.signatures[key] = out.Metadata
			default:
				t.Errorf("object %s is neither a log file nor a digest file", key)
			}
		}
	}
	return b
}

// auditGunzip decompresses a delivered file.
func auditGunzip(t *testing.T, key string, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("%s is not gzip: %v", key, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return raw
}

// auditGzip compresses b.
func auditGzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// listed returns the log files the bucket's digests list.
func (b *auditBucket) listed(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for key, raw := range b.digests {
		var d struct {
			LogFiles []struct {
				S3Object string `json:"s3Object"`
			} `json:"logFiles"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("digest %s: %v", key, err)
		}
		for _, lf := range d.LogFiles {
			out[lf.S3Object] = true
		}
	}
	return out
}

// waitForAuditRecords polls the bucket (every 50 ms, up to 10 s) until
// every call has a delivered record (see auditBucket.of), in a log file a
// digest lists when inDigest is set, and returns its contents.
func waitForAuditRecords(t *testing.T, client *s3.Client, bucket, prefix string, calls []auditCall, inDigest bool) *auditBucket {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b := readAuditBucket(t, client, bucket, prefix)
		listed := b.listed(t)
		var missing, unlisted []string
		for _, c := range calls {
			switch rs := b.of(c); {
			case len(rs) == 0:
				missing = append(missing, c.name+" by "+c.user)
			case inDigest && !listed[rs[0].key]:
				unlisted = append(unlisted, c.name+" by "+c.user)
			}
		}
		if len(missing) == 0 && len(unlisted) == 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s, no delivered audit record for %q (log files: %d), none listed in a digest for %q (digest files: %d)",
				missing, len(b.logs), unlisted, len(b.digests))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// auditValidate runs `modelwatch audit validate` in-process and returns
// its exit code and output.
func auditValidate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = cli.Main(ctx, append([]string{"audit", "validate"}, args...), &o, &e, os.LookupEnv)
	return code, o.String(), e.String()
}

// auditStatusLines returns validate's tab-separated status lines, as
// "kind\turi" → status.
func auditStatusLines(out string) map[string]string {
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 3 && (f[0] == "Digest file" || f[0] == "Log file") {
			lines[f[0]+"\t"+f[1]] = f[2]
		}
	}
	return lines
}

// TestAuditTrail_DeliveredToMinIOAndValidated: control-plane calls and a
// refused model call of two principals, made with the unmodified SDK, are
// delivered to S3 (MinIO) as CloudTrail log files, chained in signed
// digest files that `modelwatch audit validate` accepts, and it reports
// exactly the log file deleted and the one altered afterwards.
func TestAuditTrail_DeliveredToMinIOAndValidated(t *testing.T) {
	const bucket, prefix, trail = "audit-trail", "trails", "ops-trail"
	m := miniotest.Start(t)
	m.SetEnv(t)
	m.CreateBucket(t, bucket)
	s3c := m.Client(t)

	doc := auditPrincipals + `
audit:
  store: s3
  bucket: ` + bucket + `
  prefix: ` + prefix + `
  trailName: ` + trail + `
  deliveryInterval: 100ms
  digestInterval: 1s
`
	cfg := testConfig(t)
	applyYAML(t, cfg, doc)
	srv, stopRun := runServerWith(t, cfg, server.Options{})
	var once sync.Once
	var runErr error
	stop := func() error { once.Do(func() { runErr = stopRun() }); return runErr }
	t.Cleanup(func() { _ = stop() })
	waitHealthy(t, srv.URL(), http.DefaultClient)

	// Two batches, the second after the first is delivered and a periodic
	// digest (digestInterval 1s) lists it: more than one log file, and a
	// chain of more than one digest.
	var first *auditBucket
	calls := auditCalls(t, srv.URL(), false, func(batch1 []auditCall) {
		first = waitForAuditRecords(t, s3c, bucket, prefix, batch1, true)
	})
	got := waitForAuditRecords(t, s3c, bucket, prefix, calls, false)
	for _, c := range calls[:3] {
		if got.of(c)[0].key != first.of(c)[0].key {
			t.Errorf("%s by %s moved from %s to %s", c.name, c.user, first.of(c)[0].key, got.of(c)[0].key)
		}
	}
	for _, c := range calls[3:] {
		for _, fileOfBatch1 := range []string{first.of(calls[0])[0].key, first.of(calls[2])[0].key} {
			if got.of(c)[0].key == fileOfBatch1 {
				t.Errorf("%s by %s, made after batch 1 was delivered, is in batch 1's file %s", c.name, c.user, fileOfBatch1)
			}
		}
	}

	// Stopping the server delivers what is pending and writes the final
	// digest.
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got = readAuditBucket(t, s3c, bucket, prefix)
	if len(got.records) != len(calls) {
		t.Errorf("%d records delivered, want %d (one per call)", len(got.records), len(calls))
	}
	eventIDs := map[string]bool{}
	for _, c := range calls {
		rs := got.of(c)
		if len(rs) != 1 {
			t.Errorf("%s by %s: %d records, want 1", c.name, c.user, len(rs))
			continue
		}
		r := checkAuditRecord(t, rs[0].raw, c)
		if eventIDs[r.EventID] {
			t.Errorf("eventID %s used twice", r.EventID)
		}
		eventIDs[r.EventID] = true
	}

	// Key layout, as CloudTrail's.
	logKey := regexp.MustCompile(`^` + prefix + `/AWSLogs/` + auditAccount + `/CloudTrail/` + auditRegion +
		`/(\d{4})/(\d{2})/(\d{2})/` + auditAccount + `_CloudTrail_` + auditRegion + `_(\d{4})(\d{2})(\d{2})T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$`)
	digestKey := regexp.MustCompile(`^` + prefix + `/AWSLogs/` + auditAccount + `/CloudTrail-Digest/` + auditRegion +
		`/(\d{4})/(\d{2})/(\d{2})/` + auditAccount + `_CloudTrail-Digest_` + auditRegion + `_` + trail + `_` + auditRegion + `_(\d{4})(\d{2})(\d{2})T\d{6}Z\.json\.gz$`)
	for key := range got.logs {
		if mm := logKey.FindStringSubmatch(key); mm == nil || mm[1]+mm[2]+mm[3] != mm[4]+mm[5]+mm[6] {
			t.Errorf("log file key %s is not CloudTrail's", key)
		}
	}
	if len(got.logs) < 2 {
		t.Errorf("%d log files, want at least 2 (two batches)", len(got.logs))
	}

	// The digests chain every log file exactly once, with its SHA-256.
	keys, err := cloudtrail.PublicKeys(filepath.Join(cfg.DataDir, "cloudtrail"))
	if err != nil || len(keys) != 1 {
		t.Fatalf("PublicKeys: %v, %d keys", err, len(keys))
	}
	digestKeys := make([]string, 0, len(got.digests))
	for key := range got.digests {
		digestKeys = append(digestKeys, key)
		if mm := digestKey.FindStringSubmatch(key); mm == nil || mm[1]+mm[2]+mm[3] != mm[4]+mm[5]+mm[6] {
			t.Errorf("digest file key %s is not CloudTrail's", key)
		}
	}
	sort.Strings(digestKeys)
	if len(digestKeys) < 2 {
		t.Fatalf("%d digest files, want at least 2 (digestInterval 1s, and the final one)", len(digestKeys))
	}
	listed := map[string]int{}
	for i, key := range digestKeys {
		var d struct {
			AWSAccountID                string  `json:"awsAccountId"`
			DigestS3Bucket              string  `json:"digestS3Bucket"`
			DigestS3Object              string  `json:"digestS3Object"`
			DigestPublicKeyFingerprint  string  `json:"digestPublicKeyFingerprint"`
			DigestSignatureAlgorithm    string  `json:"digestSignatureAlgorithm"`
			PreviousDigestS3Bucket      *string `json:"previousDigestS3Bucket"`
			PreviousDigestS3Object      *string `json:"previousDigestS3Object"`
			PreviousDigestHashValue     *string `json:"previousDigestHashValue"`
			PreviousDigestHashAlgorithm *string `json:"previousDigestHashAlgorithm"`
			PreviousDigestSignature     *string `json:"previousDigestSignature"`
			LogFiles                    []struct {
				S3Bucket      string `json:"s3Bucket"`
				S3Object      string `json:"s3Object"`
				HashValue     string `json:"hashValue"`
				HashAlgorithm string `json:"hashAlgorithm"`
			} `json:"logFiles"`
		}
		if err := json.Unmarshal(got.digests[key], &d); err != nil {
			t.Fatalf("digest %s: %v", key, err)
		}
		meta := got.signatures[key]
		if d.AWSAccountID != auditAccount || d.DigestS3Bucket != bucket || d.DigestS3Object != key ||
			d.DigestPublicKeyFingerprint != keys[0].Fingerprint || d.DigestSignatureAlgorithm != "SHA256withRSA" ||
			meta["signature-algorithm"] != "SHA256withRSA" || len(meta["signature"]) != 2*256 {
			t.Errorf("digest %s: %s\nmetadata %v", key, got.digests[key], meta)
		}
		if i == 0 {
			if d.PreviousDigestS3Bucket != nil || d.PreviousDigestS3Object != nil || d.PreviousDigestHashValue != nil ||
				d.PreviousDigestHashAlgorithm != nil || d.PreviousDigestSignature != nil {
				t.Errorf("first digest %s has a previous digest: %s", key, got.digests[key])
			}
		} else {
			prev := digestKeys[i-1]
			h := sha256.Sum256(got.digests[prev])
			if aws.ToString(d.PreviousDigestS3Bucket) != bucket || aws.ToString(d.PreviousDigestS3Object) != prev ||
				aws.ToString(d.PreviousDigestHashValue) != hex.EncodeToString(h[:]) || aws.ToString(d.PreviousDigestHashAlgorithm) != "SHA-256" ||
				aws.ToString(d.PreviousDigestSignature) != got.signatures[prev]["signature"] {
				t.Errorf("digest %s does not chain to %s: %s", key, prev, got.digests[key])
			}
		}
		for _, lf := range d.LogFiles {
			listed[lf.S3Object]++
			h := sha256.Sum256(got.logs[lf.S3Object])
			if lf.S3Bucket != bucket || lf.HashAlgorithm != "SHA-256" || lf.HashValue != hex.EncodeToString(h[:]) {
				t.Errorf("digest %s lists %+v; the file's SHA-256 is %x", key, lf, h)
			}
		}
	}
	for key := range got.logs {
		if listed[key] != 1 {
			t.Errorf("log file %s is listed in %d digests, want 1", key, listed[key])
		}
	}
	if len(listed) != len(got.logs) {
		t.Errorf("digests list %d log files, the bucket holds %d", len(listed), len(got.logs))
	}

	// modelwatch audit validate, with the server's configuration file.
	cfgFile := filepath.Join(t.TempDir(), "modelwatch.yaml")
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfgFile, "--data-dir", cfg.DataDir, "--bucket", bucket}
	uri := func(key string) string { return "s3://" + bucket + "/" + key }
	nd, nl := len(got.digests), len(got.logs)
	code, out, errOut := auditValidate(t, args...)
	t.Logf("modelwatch audit validate:\n%s%s", out, errOut)
	wantFirst := "Validating log files for trail arn:aws:cloudtrail:us-east-1:" + auditAccount + ":trail/" + trail + " in "
	if code != 0 || errOut != "" || !strings.HasPrefix(out, wantFirst) ||
		!strings.Contains(out, fmt.Sprintf("\n%d/%d digest files valid\n%d/%d log files valid\n", nd, nd, nl, nl)) {
		t.Errorf("untouched trail: exit %d, want 0 and every file valid\n%s%s", code, out, errOut)
	}
	status := auditStatusLines(out)
	for key := range got.digests {
		if s := status["Digest file\t"+uri(key)]; s != "valid" {
			t.Errorf("digest %s: %q, want valid", key, s)
		}
	}
	for key := range got.logs {
		if s := status["Log file\t"+uri(key)]; s != "valid" {
			t.Errorf("log file %s: %q, want valid", key, s)
		}
	}
	if len(status) != nd+nl {
		t.Errorf("%d status lines, want %d (%d digests, %d log files)", len(status), nd+nl, nd, nl)
	}

	// Delete batch 1's file, alter one byte of batch 2's.
	ctx := context.Background()
	deleted := got.of(calls[0])[0].key
	altered := got.of(calls[3])[0].key
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(deleted)}); err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(got.logs[altered], []byte(`"127.0.0.1"`), []byte(`"127.0.0.2"`), 1)
	if bytes.Equal(changed, got.logs[altered]) {
		t.Fatalf("no source IP to alter in %s", altered)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(altered), Body: bytes.NewReader(auditGzip(changed)),
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip")}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = auditValidate(t, args...)
	t.Logf("modelwatch audit validate after the damage:\n%s%s", out, errOut)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("\n%d/%d digest files valid\n%d/%d log files valid, 2/%d log files INVALID\n", nd, nd, nl-2, nl, nl)) {
		t.Errorf("damaged trail: exit %d, want 1 and exactly two log files INVALID\n%s%s", code, out, errOut)
	}
	status = auditStatusLines(out)
	for key := range got.digests {
		if s := status["Digest file\t"+uri(key)]; s != "valid" {
			t.Errorf("digest %s: %q, want valid", key, s)
		}
	}
	for key := range got.logs {
		want := "valid"
		switch key {
		case deleted:
			want = "INVALID: not found"
		case altered:
			want = "INVALID: hash value doesn't match"
		}
		if s := status["Log file\t"+uri(key)]; s != want {
			t.Errorf("log file %s: %q, want %q", key, s, want)
		}
	}
}

// TestAuditTrail_LookupEventsWithTheCloudTrailSDK: the unmodified
// CloudTrail SDK client looks up the events just made on the server,
// newest first, by event name and by user name; a principal without
// cloudtrail:LookupEvents is refused; the dashboard's audit API shows the
// same events.
func TestAuditTrail_LookupEventsWithTheCloudTrailSDK(t *testing.T) {
	srv, _ := startServer(t, func(c *config.Config) {
		applyYAML(t, c, auditPrincipals+"\naudit:\n  deliveryInterval: 100ms\n  digestInterval: 1s\n")
	})
	calls := auditCalls(t, srv.URL(), true, nil)
	newestFirst := slices.Clone(calls)
	slices.Reverse(newestFirst)

	ctx := context.Background()
	trailClient := func(keyID, secret string) *ctsdk.Client {
		return ctsdk.New(ctsdk.Options{
			Region:           auditRegion,
			BaseEndpoint:     aws.String(srv.URL()),
			Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
			RetryMaxAttempts: 1,
		})
	}
	ops := trailClient(auditOpsKeyID, auditOpsSecret)
	// records are the CloudTrailEvent of each event by EventId, from the
	// lookup without attributes, whose records are checked in full; the
	// filtered lookups must return the same records.
	records := map[string]string{}
	lookup := func(what string, attrs []cttypes.LookupAttribute, want []auditCall) []string {
		t.Helper()
		out, err := ops.LookupEvents(ctx, &ctsdk.LookupEventsInput{LookupAttributes: attrs})
		if err != nil {
			t.Fatalf("LookupEvents %s: %v", what, err)
		}
		if out.NextToken != nil {
			t.Errorf("LookupEvents %s: NextToken %q for %d events", what, aws.ToString(out.NextToken), len(out.Events))
		}
		// The order is checked by operation and user (unique among the
		// calls); checkAuditRecord checks the request IDs.
		var got, wantOrder []string
		for _, e := range out.Events {
			got = append(got, auditCallOf(t, []byte(aws.ToString(e.CloudTrailEvent))))
		}
		for _, c := range want {
			wantOrder = append(wantOrder, c.name+" by "+c.user)
		}
		if !slices.Equal(got, wantOrder) {
			t.Fatalf("LookupEvents %s: events %q, want newest first %q", what, got, wantOrder)
		}
		var eventIDs []string
		for i, e := range out.Events {
			c := want[i]
			var r auditRecord
			if attrs == nil {
				r = checkAuditRecord(t, []byte(aws.ToString(e.CloudTrailEvent)), c)
				records[r.EventID] = aws.ToString(e.CloudTrailEvent)
			} else {
				r = decodeAuditRecord(t, []byte(aws.ToString(e.CloudTrailEvent)))
				if aws.ToString(e.CloudTrailEvent) != records[r.EventID] {
					t.Errorf("LookupEvents %s: event %d is %s\nwithout attributes it was %s", what, i, aws.ToString(e.CloudTrailEvent), records[r.EventID])
				}
			}
			at, _ := time.Parse("2006-01-02T15:04:05Z", r.EventTime)
			if aws.ToString(e.EventId) != r.EventID || aws.ToString(e.EventName) != c.name || aws.ToString(e.ReadOnly) != fmt.Sprint(c.readOnly) ||
				aws.ToString(e.AccessKeyId) != c.keyID || aws.ToString(e.Username) != c.user || aws.ToString(e.EventSource) != "bedrock.amazonaws.com" ||
				e.EventTime == nil || !e.EventTime.Equal(at) || len(e.Resources) != 0 {
				t.Errorf("LookupEvents %s: event %d (%s by %s): EventId %q EventName %q ReadOnly %q AccessKeyId %q Username %q EventSource %q EventTime %v Resources %v; record %s",
					what, i, c.name, c.user, aws.ToString(e.EventId), aws.ToString(e.EventName), aws.ToString(e.ReadOnly), aws.ToString(e.AccessKeyId),
					aws.ToString(e.Username), aws.ToString(e.EventSource), e.EventTime, e.Resources, aws.ToString(e.CloudTrailEvent))
			}
			eventIDs = append(eventIDs, r.EventID)
		}
		return eventIDs
	}
	attr := func(k cttypes.LookupAttributeKey, v string) []cttypes.LookupAttribute {
		return []cttypes.LookupAttribute{{AttributeKey: k, AttributeValue: aws.String(v)}}
	}
	pick := func(keep func(auditCall) bool) []auditCall {
		var out []auditCall
		for _, c := range newestFirst {
			if keep(c) {
				out = append(out, c)
			}
		}
		return out
	}

	all := lookup("without attributes", nil, newestFirst)
	lookup("EventName=PutModelInvocationLoggingConfiguration", attr(cttypes.LookupAttributeKeyEventName, "PutModelInvocationLoggingConfiguration"),
		pick(func(c auditCall) bool { return c.name == "PutModelInvocationLoggingConfiguration" }))
	lookup("EventName=Converse", attr(cttypes.LookupAttributeKeyEventName, "Converse"), pick(func(c auditCall) bool { return c.name == "Converse" }))
	lookup("Username=carol", attr(cttypes.LookupAttributeKeyUsername, "carol"), pick(func(c auditCall) bool { return c.user == "carol" }))
	lookup("Username=ops", attr(cttypes.LookupAttributeKeyUsername, "ops"), pick(func(c auditCall) bool { return c.user == "ops" }))
	lookup("Username=nobody", attr(cttypes.LookupAttributeKeyUsername, "nobody"), nil)

	// carol has no cloudtrail:LookupEvents. The SDK models no
	// AccessDeniedException for LookupEvents: it is a generic API error
	// with that code, as from AWS.
	_, err := trailClient(auditCarolKeyID, auditCarolSecret).LookupEvents(ctx, &ctsdk.LookupEventsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || ae.ErrorMessage() != auditNotAuthorized("carol", "cloudtrail:LookupEvents") {
		t.Errorf("carol LookupEvents: %v\nwant AccessDeniedException: %s", err, auditNotAuthorized("carol", "cloudtrail:LookupEvents"))
	}

	// The dashboard's audit view: the same events, newest first.
	status, body := getJSON(t, srv.URL()+"/api/audit?limit=10", auditOpsAPIKey)
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &page); status != http.StatusOK || err != nil {
		t.Fatalf("GET /api/audit?limit=10: %d %s (%v)", status, body, err)
	}
	if len(page.Events) != len(newestFirst) {
		t.Fatalf("GET /api/audit?limit=10: %d events, want %d:\n%s", len(page.Events), len(newestFirst), body)
	}
	for i, raw := range page.Events {
		if got, want := auditCallOf(t, raw), newestFirst[i].name+" by "+newestFirst[i].user; got != want {
			t.Fatalf("GET /api/audit event %d is %s, want %s (newest first)", i, got, want)
		}
		if r := checkAuditRecord(t, raw, newestFirst[i]); r.EventID != all[i] {
			t.Errorf("GET /api/audit event %d: eventID %s, LookupEvents said %s", i, r.EventID, all[i])
		}
	}
	status, body = getJSON(t, srv.URL()+"/api/audit?limit=2", auditOpsAPIKey)
	if err := json.Unmarshal(body, &page); status != http.StatusOK || err != nil || len(page.Events) != 2 {
		t.Fatalf("GET /api/audit?limit=2: %d %s (%v)", status, body, err)
	}
	for i, raw := range page.Events {
		if got, want := auditCallOf(t, raw), newestFirst[i].name+" by "+newestFirst[i].user; got != want {
			t.Errorf("GET /api/audit?limit=2 event %d is %s, want %s", i, got, want)
		}
	}
}

// auditCallOf names the call a record is of: "<eventName> by <userName>".
func auditCallOf(t *testing.T, raw []byte) string {
	t.Helper()
	r := decodeAuditRecord(t, raw)
	return r.EventName + " by " + r.UserIdentity.UserName
}
