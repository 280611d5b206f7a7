package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

const (
	testAKID        = "AKIDEXAMPLE000000001"
	testSecret      = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	otherAKID       = "AKIDEXAMPLE000000002"
	otherSecret     = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	testAPIKey      = "mw-test-api-key-0123456789abcdef"
	hashedAPIKey    = "mw-hashed-api-key-fedcba9876543210"
	testRegion      = "us-east-1"
	testAccount     = "123456789012"
	invokePath      = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
	arnConversePath = "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse"
)

// testNow is the server's clock unless a case says otherwise.
var testNow = time.Date(2024, 1, 1, 0, 10, 0, 0, time.UTC)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func testPrincipals() []Principal {
	sum := sha256.Sum256([]byte(hashedAPIKey))
	return []Principal{
		{
			Name:       "alice",
			AccessKeys: []AccessKey{{ID: testAKID, Secret: testSecret}},
			APIKeys:    []Secret{testAPIKey},
		},
		{
			Name:       "bob",
			ARN:        "arn:aws:iam::123456789012:role/bob",
			AccessKeys: []AccessKey{{ID: otherAKID, Secret: otherSecret}},
			APIKeys:    []Secret{Secret("sha256:" + hex.EncodeToString(sum[:]))},
		},
	}
}

func newTestAuthenticator(tb testing.TB, now func() time.Time) *Authenticator {
	tb.Helper()
	a, err := New(testPrincipals(), Options{AccountID: testAccount, Region: testRegion, Now: now})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return a
}

// writeAWSError writes an error the way restJson1 clients (the AWS SDKs)
// parse it.
func writeAWSError(w http.ResponseWriter, err error) {
	e := apierror.From(err)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", string(e.Code))
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
}

// testServer authenticates every request with Check, reads the body, then
// Verify, and answers {} with the identity in response headers.
type testServer struct {
	*httptest.Server
	mu       sync.Mutex
	lastPath string
}

func newTestServer(tb testing.TB, a *Authenticator, tls bool) *testServer {
	ts := &testServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.lastPath = r.URL.EscapedPath()
		ts.mu.Unlock()
		id, ok := authenticate(a, w, r)
		if !ok {
			return
		}
		w.Header().Set("X-Test-Name", id.Name)
		w.Header().Set("X-Test-Arn", id.ARN)
		w.Header().Set("X-Test-Method", id.Method)
		w.Header().Set("X-Test-Access-Key", id.AccessKeyID)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	})
	if tls {
		ts.Server = httptest.NewTLSServer(h)
	} else {
		ts.Server = httptest.NewServer(h)
	}
	tb.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) path() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.lastPath
}

// result is what the server answered.
type result struct {
	status            int
	code, message     string
	name, arn, method string
	accessKeyID       string
}

func send(tb testing.TB, c *http.Client, req *http.Request) result {
	tb.Helper()
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res := result{
		status:      resp.StatusCode,
		code:        resp.Header.Get("X-Amzn-ErrorType"),
		name:        resp.Header.Get("X-Test-Name"),
		arn:         resp.Header.Get("X-Test-Arn"),
		method:      resp.Header.Get("X-Test-Method"),
		accessKeyID: resp.Header.Get("X-Test-Access-Key"),
	}
	if res.code != "" {
		var m struct{ Message string }
		if err := json.Unmarshal(body, &m); err != nil {
			tb.Fatalf("error body %q: %v", body, err)
		}
		res.message = m.Message
	}
	return res
}

// signSpec describes a request signed on the client side with the SDK signer.
type signSpec struct {
	method     string
	path       string              // escaped, as on the wire
	opaque     bool                // send path verbatim (URL.Opaque), as non-Go clients may
	before     func(*http.Request) // runs before signing
	query      string              // raw, without '?'
	body       []byte
	header     map[string]string
	akid       string
	secret     string
	token      string
	region     string
	service    string
	at         time.Time
	contentSHA string // sent as X-Amz-Content-Sha256 and used as payload hash
	expires    int    // presign: X-Amz-Expires, if > 0
}

func (s signSpec) defaults() signSpec {
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.path == "" {
		s.path = invokePath
	}
	if s.akid == "" {
		s.akid = testAKID
	}
	if s.secret == "" {
		s.secret = testSecret
	}
	if s.region == "" {
		s.region = testRegion
	}
	if s.service == "" {
		s.service = "bedrock"
	}
	if s.at.IsZero() {
		s.at = testNow
	}
	return s
}

func (s signSpec) newRequest(tb testing.TB, base string) *http.Request {
	tb.Helper()
	u := base + s.path
	if s.query != "" {
		u += "?" + s.query
	}
	req, err := http.NewRequest(s.method, u, bytes.NewReader(s.body))
	if err != nil {
		tb.Fatal(err)
	}
	if s.opaque {
		req.URL.Opaque = "//" + req.URL.Host + s.path
	}
	for k, v := range s.header {
		req.Header[k] = []string{v}
	}
	return req
}

func (s signSpec) payloadHash() string {
	if s.contentSHA != "" {
		return s.contentSHA
	}
	sum := sha256.Sum256(s.body)
	return hex.EncodeToString(sum[:])
}

func (s signSpec) creds() aws.Credentials {
	return aws.Credentials{AccessKeyID: s.akid, SecretAccessKey: s.secret, SessionToken: s.token}
}

// sign returns a header-signed request.
func (s signSpec) sign(tb testing.TB, base string) *http.Request {
	tb.Helper()
	s = s.defaults()
	req := s.newRequest(tb, base)
	if s.contentSHA != "" {
		req.Header.Set("X-Amz-Content-Sha256", s.contentSHA)
	}
	if s.before != nil {
		s.before(req)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), s.creds(), req, s.payloadHash(), s.service, s.region, s.at); err != nil {
		tb.Fatal(err)
	}
	return req
}

// presign returns a request sent to a presigned URL.
func (s signSpec) presign(tb testing.TB, base string) *http.Request {
	tb.Helper()
	s = s.defaults()
	if s.expires > 0 {
		if s.query != "" {
			s.query += "&"
		}
		s.query += "X-Amz-Expires=" + strconv.Itoa(s.expires)
	}
	req := s.newRequest(tb, base)
	hash := "UNSIGNED-PAYLOAD"
	if s.contentSHA != "" {
		hash = s.contentSHA
		req.Header.Set("X-Amz-Content-Sha256", s.contentSHA)
	}
	signed, headers, err := v4.NewSigner().PresignHTTP(context.Background(), s.creds(), req, hash, s.service, s.region, s.at)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := http.NewRequest(s.method, signed, bytes.NewReader(s.body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" || k == "Content-Length" {
			continue // carried by the request itself
		}
		out.Header[k] = v
	}
	return out
}

func invokeBody() []byte {
	return []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`)
}

func jsonHeader() map[string]string { return map[string]string{"Content-Type": "application/json"} }

func checkResult(t *testing.T, got result, wantCode apierror.Code, wantMsg string) {
	t.Helper()
	if wantCode == "" {
		if got.status != http.StatusOK {
			t.Fatalf("status %d %s: %q, want success", got.status, got.code, got.message)
		}
		return
	}
	if got.code != string(wantCode) || got.status != wantCode.Status() {
		t.Fatalf("got %d %s %q, want %d %s", got.status, got.code, got.message, wantCode.Status(), wantCode)
	}
	if wantMsg != "" && got.message != wantMsg {
		t.Fatalf("message\n got %q\nwant %q", got.message, wantMsg)
	}
}

func TestSigV4Header(t *testing.T) {
	clk := &clock{t: testNow}
	a := newTestAuthenticator(t, clk.Now)
	srv := newTestServer(t, a, false)

	tests := []struct {
		name     string
		spec     signSpec
		now      time.Time // server clock, testNow if zero
		after    func(*http.Request)
		wantCode apierror.Code
		wantMsg  string
		wantPath string // path the server saw, if set
		wantName string
	}{
		{
			name:     "invoke, model ID with %3A",
			spec:     signSpec{body: invokeBody(), header: jsonHeader()},
			wantPath: invokePath,
			wantName: "alice",
		},
		{
			name:     "converse, inference profile ARN with %2F",
			spec:     signSpec{path: arnConversePath, body: []byte(`{"messages":[]}`), header: jsonHeader()},
			wantPath: arnConversePath,
		},
		{
			name:     "second principal",
			spec:     signSpec{akid: otherAKID, secret: otherSecret, body: invokeBody()},
			wantName: "bob",
		},
		{
			name:     "path sent verbatim with characters Go would re-escape",
			spec:     signSpec{path: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke/{x}|'", opaque: true, body: invokeBody()},
			wantPath: "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke/%7Bx%7D%7C%27", // EscapedPath lost the %3A
		},
		{
			name:     "path starting with //",
			spec:     signSpec{path: "//model/a%3Ab//invoke", body: invokeBody()},
			wantPath: "//model/a%3Ab//invoke",
		},
		{
			name: "chunked body with transfer-encoding signed",
			spec: signSpec{body: invokeBody(), before: func(r *http.Request) {
				r.ContentLength = 0 // unknown: net/http sends it chunked
				r.Header["transfer-encoding"] = []string{"chunked"}
			}},
			after: func(r *http.Request) {
				delete(r.Header, "transfer-encoding")
				r.Body = io.NopCloser(bytes.NewReader(invokeBody()))
				r.GetBody = nil
			},
		},
		{
			name: "GET with query and no body",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", query: "maxResults=10&nextToken=a%2Fb%3D%3D&statusEquals=InProgress"},
		},
		{
			name: "GET of an encoded ARN",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aasync-invoke%2Fabc123"},
		},
		{
			name: "session token",
			spec: signSpec{body: invokeBody(), token: "FwoGZXIvYXdzEXAMPLETOKEN//////////"},
		},
		{
			name: "x-amz-content-sha256 matching the body",
			spec: signSpec{body: invokeBody(), contentSHA: sha256Hex(invokeBody())},
		},
		{
			name: "UNSIGNED-PAYLOAD",
			spec: signSpec{body: invokeBody(), contentSHA: "UNSIGNED-PAYLOAD"},
		},
		{
			name: "signed user-agent and trace id, headers the SDK signer ignores",
			spec: signSpec{body: invokeBody(), header: map[string]string{
				"user-agent":      "custom-client/1.0",
				"x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793",
				"X-Custom":        "  a   b  ",
			}},
			after: func(r *http.Request) {
				// Send them under canonical names so net/http adds no second User-Agent.
				for _, k := range []string{"user-agent", "x-amzn-trace-id"} {
					v := r.Header[k]
					delete(r.Header, k)
					r.Header[http.CanonicalHeaderKey(k)] = v
				}
			},
		},
		{
			name:     "signed 2 minutes ago, within skew",
			spec:     signSpec{body: invokeBody(), at: testNow.Add(-2 * time.Minute)},
			wantName: "alice",
		},
		{
			name:     "wrong secret",
			spec:     signSpec{body: invokeBody(), secret: otherSecret},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "unknown access key",
			spec:     signSpec{body: invokeBody(), akid: "AKIDUNKNOWN000000000"},
			wantCode: apierror.UnrecognizedClient,
			wantMsg:  "The security token included in the request is invalid.",
		},
		{
			name: "tampered body, same length",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				b := bytes.Replace(invokeBody(), []byte(`"hi"`), []byte(`"yo"`), 1)
				r.Body = io.NopCloser(bytes.NewReader(b))
				r.GetBody = nil
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "tampered signed header",
			spec:     signSpec{body: invokeBody(), header: jsonHeader()},
			after:    func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "unsigned header added",
			spec:     signSpec{body: invokeBody()},
			after:    func(r *http.Request) { r.Header.Set("X-Extra", "1") },
			wantName: "alice",
		},
		{
			name: "tampered path",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.URL.RawPath = "/model/anthropic.claude-3-opus-20240229-v1%3A0/invoke"
				r.URL.Path = "/model/anthropic.claude-3-opus-20240229-v1:0/invoke"
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "path decoded in transit (%3A sent as ':')",
			spec:     signSpec{body: invokeBody()},
			after:    func(r *http.Request) { r.URL.RawPath = "" },
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "tampered query",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke", query: "maxResults=10"},
			after:    func(r *http.Request) { r.URL.RawQuery = "maxResults=11" },
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "missing date",
			spec:     signSpec{body: invokeBody()},
			after:    func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			wantCode: apierror.IncompleteSignature,
			wantMsg:  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
		},
		{
			name:     "malformed date",
			spec:     signSpec{body: invokeBody()},
			after:    func(r *http.Request) { r.Header.Set("X-Amz-Date", "2024-01-01T00:10:00Z") },
			wantCode: apierror.IncompleteSignature,
			wantMsg:  msgBadDate,
		},
		{
			name:     "signature expired",
			spec:     signSpec{body: invokeBody(), at: testNow.Add(-10 * time.Minute)},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z (20240101T001000Z - 5 min.)",
		},
		{
			name:     "signature not yet current",
			spec:     signSpec{body: invokeBody(), at: testNow.Add(6 * time.Minute)},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Signature not yet current: 20240101T001600Z is still later than 20240101T001500Z (20240101T001000Z + 5 min.)",
		},
		{
			name:     "wrong region",
			spec:     signSpec{body: invokeBody(), region: "us-west-2"},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Credential should be scoped to a valid region. ",
		},
		{
			name:     "wrong service",
			spec:     signSpec{body: invokeBody(), service: "bedrock-runtime"},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Credential should be scoped to correct service: 'bedrock'. ",
		},
		{
			name: "scope date does not match X-Amz-Date",
			spec: signSpec{body: invokeBody(), at: time.Date(2024, 1, 1, 23, 58, 0, 0, time.UTC)},
			now:  time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
			after: func(r *http.Request) {
				r.Header.Set("X-Amz-Date", "20240102T000000Z")
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20240101' != '20240102', from '20240102T000000Z'.",
		},
		{
			name: "host not signed",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
		},
		{
			name: "signed header list edited",
			spec: signSpec{body: invokeBody(), header: jsonHeader()},
			after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;", "", 1))
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name: "malformed header: no Credential, no Signature",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date")
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter.",
		},
		{
			name: "malformed header and no date",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.Header.Set("Authorization", "Basic YWxpY2U6c2VjcmV0")
				r.Header.Del("X-Amz-Date")
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
		},
		{
			name: "credential with 4 elements",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/aws4_request", "", 1))
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  msgCredentialShape,
		},
		{
			name: "SigV4a algorithm",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
				r.Header.Set("X-Amz-Region-Set", "*")
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'.",
		},
		{
			name: "signature not hex",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				h := r.Header.Get("Authorization")
				r.Header.Set("Authorization", h[:strings.LastIndex(h, "=")+1]+strings.Repeat("z", 64))
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "x-amz-content-sha256 not matching the body",
			spec:     signSpec{body: invokeBody(), contentSHA: sha256Hex([]byte("something else"))},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "The provided 'x-amz-content-sha256' header does not match what was computed.",
		},
		{
			name:     "x-amz-content-sha256 not a hash",
			spec:     signSpec{body: invokeBody(), contentSHA: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "The provided 'x-amz-content-sha256' header does not match what was computed.",
		},
		{
			name:     "no authentication",
			spec:     signSpec{body: invokeBody()},
			after:    func(r *http.Request) { r.Header.Del("Authorization") },
			wantCode: apierror.MissingAuthenticationToken,
			wantMsg:  "Missing Authentication Token",
		},
		{
			name: "header and presigned query together",
			spec: signSpec{body: invokeBody()},
			after: func(r *http.Request) {
				r.URL.RawQuery = "X-Amz-Signature=abc&X-Amz-Credential=x"
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  msgTwoMechanisms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			clk.Set(now)
			req := tt.spec.sign(t, srv.URL)
			if tt.after != nil {
				tt.after(req)
			}
			got := send(t, srv.Client(), req)
			checkResult(t, got, tt.wantCode, tt.wantMsg)
			if tt.wantPath != "" && srv.path() != tt.wantPath {
				t.Errorf("server saw path %q, want %q", srv.path(), tt.wantPath)
			}
			if tt.wantCode == "" {
				wantName := tt.wantName
				if wantName == "" {
					wantName = "alice"
				}
				if got.name != wantName || got.method != MethodSigV4 || got.accessKeyID == "" {
					t.Errorf("identity = %+v", got)
				}
			}
		})
	}
}

func TestSigV4Presigned(t *testing.T) {
	clk := &clock{t: testNow}
	a := newTestAuthenticator(t, clk.Now)
	srv := newTestServer(t, a, false)

	tests := []struct {
		name     string
		spec     signSpec
		after    func(*http.Request)
		wantCode apierror.Code
		wantMsg  string
		wantPath string
	}{
		{
			name:     "POST invoke, model ID with %3A",
			spec:     signSpec{body: invokeBody(), header: jsonHeader(), expires: 300},
			wantPath: invokePath,
		},
		{
			name:     "GET of an encoded ARN with %2F",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aasync-invoke%2Fabc123", expires: 60},
			wantPath: "/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aasync-invoke%2Fabc123",
		},
		{
			name: "converse ARN, with query, session token",
			spec: signSpec{path: arnConversePath, query: "a=b%20c", body: []byte(`{}`), token: "SESSIONTOKEN/+=", expires: 3600},
		},
		{
			name: "signed an hour ago, valid for a day",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", at: testNow.Add(-time.Hour), expires: 86400},
		},
		{
			name: "no X-Amz-Expires, within skew",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", at: testNow.Add(-time.Minute)},
		},
		{
			name: "body hash in X-Amz-Content-Sha256",
			spec: signSpec{body: invokeBody(), contentSHA: sha256Hex(invokeBody()), expires: 60},
		},
		{
			name:     "expired",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke", at: testNow.Add(-10 * time.Minute), expires: 300},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z (20240101T001000Z - 5 min.)",
		},
		{
			name:     "expired, no X-Amz-Expires",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke", at: testNow.Add(-6 * time.Minute)},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Signature expired: 20240101T000400Z is now earlier than 20240101T000500Z (20240101T001000Z - 5 min.)",
		},
		{
			name:     "not yet current",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke", at: testNow.Add(time.Hour), expires: 300},
			wantCode: apierror.InvalidSignature,
			wantMsg:  "Signature not yet current: 20240101T011000Z is still later than 20240101T001500Z (20240101T001000Z + 5 min.)",
		},
		{
			name:     "expires longer than a week",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke", expires: 604801},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  msgExpiresTooLong,
		},
		{
			name:     "wrong secret",
			spec:     signSpec{body: invokeBody(), secret: otherSecret, expires: 300},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "unknown access key",
			spec:     signSpec{body: invokeBody(), akid: "AKIDUNKNOWN000000000", expires: 300},
			wantCode: apierror.UnrecognizedClient,
			wantMsg:  msgBadAccessKey,
		},
		{
			name:     "wrong region",
			spec:     signSpec{body: invokeBody(), region: "eu-west-1", expires: 300},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgBadRegion,
		},
		{
			name: "tampered query parameter",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", query: "maxResults=10", expires: 300},
			after: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "maxResults=10", "maxResults=99", 1)
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name: "extended expiry",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", expires: 300},
			after: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=3000", 1)
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name:     "tampered signed header",
			spec:     signSpec{body: invokeBody(), header: jsonHeader(), expires: 300},
			after:    func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") },
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgMismatch,
		},
		{
			name: "missing X-Amz-Date",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", expires: 300},
			after: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Date")
				r.URL.RawQuery = q.Encode()
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  "AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
		},
		{
			name: "signature removed",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", expires: 300},
			after: func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Signature")
				r.URL.RawQuery = q.Encode()
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
		},
		{
			name:     "expires not a number",
			spec:     signSpec{method: http.MethodGet, path: "/async-invoke", query: "X-Amz-Expires=soon"},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  msgExpiresNotNumber,
		},
		{
			name: "SigV4a algorithm",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", expires: 300},
			after: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1)
			},
			wantCode: apierror.IncompleteSignature,
			wantMsg:  "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'.",
		},
		{
			name: "host not signed",
			spec: signSpec{method: http.MethodGet, path: "/async-invoke", expires: 300},
			after: func(r *http.Request) {
				q := r.URL.Query()
				q.Set("X-Amz-SignedHeaders", "x-amz-date")
				r.URL.RawQuery = q.Encode()
			},
			wantCode: apierror.InvalidSignature,
			wantMsg:  msgHostUnsigned,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(testNow)
			req := tt.spec.presign(t, srv.URL)
			if tt.after != nil {
				tt.after(req)
			}
			got := send(t, srv.Client(), req)
			checkResult(t, got, tt.wantCode, tt.wantMsg)
			if tt.wantPath != "" && srv.path() != tt.wantPath {
				t.Errorf("server saw path %q, want %q", srv.path(), tt.wantPath)
			}
			if tt.wantCode == "" && (got.name != "alice" || got.method != MethodSigV4) {
				t.Errorf("identity = %+v", got)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	a := newTestAuthenticator(t, func() time.Time { return testNow })
	srv := newTestServer(t, a, false)
	tests := []struct {
		name     string
		authz    string
		apiKey   string // x-api-key, as Anthropic's clients send the key
		wantCode apierror.Code
		wantMsg  string
		wantName string
		wantARN  string
	}{
		{name: "plain key", authz: "Bearer " + testAPIKey, wantName: "alice", wantARN: "arn:aws:iam::123456789012:user/alice"},
		{name: "lower-case scheme, extra spaces", authz: "bearer   " + testAPIKey + "  ", wantName: "alice"},
		{name: "key configured as sha256:", authz: "Bearer " + hashedAPIKey, wantName: "bob", wantARN: "arn:aws:iam::123456789012:role/bob"},
		{name: "unknown key", authz: "Bearer " + testAPIKey + "x", wantCode: apierror.UnrecognizedClient, wantMsg: "The API key included in the request is invalid."},
		{name: "the sha256: form is not itself a key", authz: "Bearer " + string(testPrincipals()[1].APIKeys[0]), wantCode: apierror.UnrecognizedClient, wantMsg: msgBadAPIKey},
		{name: "empty bearer", authz: "Bearer ", wantCode: apierror.MissingAuthenticationToken, wantMsg: "Missing Authentication Token"},
		{name: "bare Bearer", authz: "Bearer", wantCode: apierror.MissingAuthenticationToken, wantMsg: "Missing Authentication Token"},
		{name: "key without scheme", authz: testAPIKey, wantCode: apierror.IncompleteSignature},
		{name: "empty header", authz: "", wantCode: apierror.MissingAuthenticationToken, wantMsg: msgMissingToken},
		{name: "x-api-key alone", apiKey: testAPIKey, wantName: "alice"},
		{name: "unknown x-api-key", apiKey: testAPIKey + "x", wantCode: apierror.UnrecognizedClient, wantMsg: msgBadAPIKey},
		{name: "Authorization wins over x-api-key", authz: "Bearer " + hashedAPIKey, apiKey: testAPIKey, wantName: "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(`{}`))
			req.Header.Set("X-Amz-Date", "20240101T001000Z")
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			if tt.apiKey != "" {
				req.Header.Set("X-Api-Key", tt.apiKey)
			}
			got := send(t, srv.Client(), req)
			checkResult(t, got, tt.wantCode, tt.wantMsg)
			if tt.wantCode == "" {
				if got.name != tt.wantName || got.method != MethodBearer || got.accessKeyID != "" {
					t.Errorf("identity = %+v", got)
				}
				if tt.wantARN != "" && got.arn != tt.wantARN {
					t.Errorf("ARN = %q, want %q", got.arn, tt.wantARN)
				}
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	a, err := New(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Anonymous() {
		t.Fatal("Anonymous() = false with no principals")
	}
	want := Identity{Name: "anonymous", ARN: "arn:aws:iam::000000000000:user/anonymous", Method: "anonymous"}
	if got := a.AnonymousIdentity(); !reflect.DeepEqual(got, want) {
		t.Fatalf("AnonymousIdentity() = %+v, want %+v", got, want)
	}
	srv := newTestServer(t, a, false)
	reqs := map[string]func() *http.Request{
		"no credentials": func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+invokePath, strings.NewReader("{}"))
			return r
		},
		"sigv4 with unknown key": func() *http.Request {
			return signSpec{body: invokeBody(), akid: "AKIDSOMEDEVELOPER001", secret: "whatever"}.sign(t, srv.URL)
		},
		"expired sigv4 in another region": func() *http.Request {
			return signSpec{body: invokeBody(), region: "eu-west-3", at: time.Unix(0, 0)}.sign(t, srv.URL)
		},
		"presigned": func() *http.Request {
			return signSpec{method: http.MethodGet, path: "/async-invoke", expires: 1}.presign(t, srv.URL)
		},
		"garbage authorization": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			r.Header.Set("Authorization", "AWS4-ECDSA-P256-SHA256 nonsense")
			return r
		},
		"bearer": func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			r.Header.Set("Authorization", "Bearer x")
			return r
		},
	}
	for name, mk := range reqs {
		t.Run(name, func(t *testing.T) {
			got := send(t, srv.Client(), mk())
			checkResult(t, got, "", "")
			if got.name != "anonymous" || got.method != "anonymous" || got.arn != want.ARN {
				t.Errorf("identity = %+v", got)
			}
		})
	}
}

func TestVerifyNilPending(t *testing.T) {
	var p *Pending
	_, err := p.Verify(nil)
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.MissingAuthenticationToken {
		t.Fatalf("Verify on nil Pending = %v", err)
	}
}

// TestCheckBeforeBody checks that rejected requests are rejected by Check,
// before the handler would read the body.
func TestCheckBeforeBody(t *testing.T) {
	a := newTestAuthenticator(t, func() time.Time { return testNow })
	for name, mk := range map[string]func() *http.Request{
		"unknown key": func() *http.Request {
			return signSpec{body: invokeBody(), akid: "AKIDUNKNOWN000000000"}.sign(t, "http://gw.example")
		},
		"expired": func() *http.Request {
			return signSpec{body: invokeBody(), at: testNow.Add(-time.Hour)}.sign(t, "http://gw.example")
		},
		"none": func() *http.Request { return httptest.NewRequest(http.MethodPost, invokePath, nil) },
	} {
		r := mk()
		r.Body = io.NopCloser(readerFunc(func([]byte) (int, error) {
			t.Errorf("%s: body read", name)
			return 0, io.EOF
		}))
		if _, err := a.Check(r); err == nil {
			t.Errorf("%s: Check succeeded", name)
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// authenticate checks r as a front door does (Check, the body, Verify),
// answering the AWS error itself when it fails.
func authenticate(a *Authenticator, w http.ResponseWriter, r *http.Request) (Identity, bool) {
	p, err := a.Check(r)
	if err != nil {
		writeAWSError(w, err)
		return Identity{}, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAWSError(w, err)
		return Identity{}, false
	}
	id, err := p.Verify(body)
	if err != nil {
		writeAWSError(w, err)
		return Identity{}, false
	}
	return id, true
}
