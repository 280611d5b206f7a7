package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Test credentials: AWS's documentation example key pair, plus a session
// token so that X-Amz-Security-Token signing is exercised too.
const (
	testRegion       = "us-west-2"
	testAccessKey    = "AKIDEXAMPLE"
	testSecretKey    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testSessionToken = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
)

func testCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(testAccessKey, testSecretKey, testSessionToken)
}

// exchange is one recorded Bedrock exchange: what the provider must send
// and what Bedrock answered. Fixtures under testdata hold them as JSON
// (see testdata/README.md); tests also build them inline.
type exchange struct {
	// Model is the upstream model ID the test calls.
	Model    string          `json:"model"`
	Request  expectedRequest `json:"request"`
	Response replayResponse  `json:"response"`
}

type expectedRequest struct {
	Method string `json:"method"`
	// Path is the escaped request path, exactly as on the wire.
	Path string `json:"path"`
	// Headers must be present with these values.
	Headers map[string]string `json:"headers"`
	// Body, when set, is the native body to send; it must arrive byte
	// for byte.
	Body string `json:"body"`
}

type replayResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	// Body is a JSON body, sent compacted (as Bedrock sends it).
	Body json.RawMessage `json:"body"`
	// Frames is an event stream, encoded with the SDK's Encoder.
	Frames []replayFrame `json:"frames"`
	// Raw is sent as is after Body and Frames: non-JSON bodies and
	// hand-broken frames.
	Raw []byte `json:"-"`
}

// replayFrame is one event stream message in readable form: string
// headers and a JSON payload. For InvokeModelWithResponseStream, Chunk is
// the model's decoded chunk; the payload is then {"bytes": base64(Chunk),
// "p": P}, as Bedrock wraps it.
type replayFrame struct {
	Headers map[string]string `json:"headers"`
	Payload json.RawMessage   `json:"payload"`
	Chunk   json.RawMessage   `json:"chunk"`
	P       string            `json:"p"`
}

// encode returns the frame's binary encoding.
func (f replayFrame) encode(t testing.TB) []byte {
	t.Helper()
	payload := []byte(f.Payload)
	if f.Chunk != nil {
		part := map[string]string{"bytes": base64.StdEncoding.EncodeToString(compact(t, f.Chunk))}
		if f.P != "" {
			part["p"] = f.P
		}
		var err error
		if payload, err = json.Marshal(part); err != nil {
			t.Fatal(err)
		}
	} else if payload != nil {
		payload = compact(t, payload)
	}
	var hs eventstream.Headers
	keys := make([]string, 0, len(f.Headers))
	for k := range f.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		hs.Set(k, eventstream.StringValue(f.Headers[k]))
	}
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, eventstream.Message{Headers: hs, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compact(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatalf("fixture JSON: %v", err)
	}
	return buf.Bytes()
}

// loadExchange reads testdata/<name>.json.
func loadExchange(t testing.TB, name string) exchange {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ex exchange
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ex); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ex
}

// received is a request as the replay server saw it.
type received struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// replayServer answers every request with one exchange's response after
// checking the request: method, escaped path, expected headers and body,
// and a SigV4 signature that verifies against the test credentials.
type replayServer struct {
	t   testing.TB
	ex  exchange
	srv *httptest.Server
	// hold, when set, is called after the frames were sent; it may block
	// (to keep a stream open).
	hold func(r *http.Request)

	mu       sync.Mutex
	requests []received
}

func newReplay(t testing.TB, ex exchange) *replayServer {
	t.Helper()
	rs := &replayServer{t: t, ex: ex}
	rs.srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *replayServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rs.t.Errorf("reading request body: %v", err)
		return
	}
	rs.mu.Lock()
	rs.requests = append(rs.requests, received{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})
	rs.mu.Unlock()
	rs.check(r, body)

	resp := rs.ex.Response
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.Status)
	if resp.Body != nil {
		_, _ = w.Write(compact(rs.t, resp.Body))
	}
	flusher, _ := w.(http.Flusher)
	for _, f := range resp.Frames {
		if _, err := w.Write(f.encode(rs.t)); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	if resp.Raw != nil {
		_, _ = w.Write(resp.Raw)
	}
	if rs.hold != nil {
		rs.hold(r)
	}
}

// check reports every way the request differs from what Bedrock expects.
func (rs *replayServer) check(r *http.Request, body []byte) {
	t, want := rs.t, rs.ex.Request
	if want.Method != "" && r.Method != want.Method {
		t.Errorf("method = %s, want %s", r.Method, want.Method)
	}
	if want.Path != "" && r.URL.EscapedPath() != want.Path {
		t.Errorf("path = %s, want %s", r.URL.EscapedPath(), want.Path)
	}
	for k, v := range want.Headers {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if want.Body != "" && string(body) != want.Body {
		t.Errorf("body is not byte-identical:\n got %q\nwant %q", body, want.Body)
	}
	if err := verifySigV4(r, body, testRegion); err != nil {
		t.Errorf("SigV4: %v", err)
	}
}

func (rs *replayServer) received() []received {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.requests)
}

// verifySigV4 checks a request's SigV4 signature the way AWS does: it
// rebuilds the request from what arrived (method, escaped path, the
// signed headers, the body) and signs it again with the SDK signer, the
// test credentials and the request's own X-Amz-Date; the Authorization
// headers must match exactly.
func verifySigV4(r *http.Request, body []byte, region string) error {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return fmt.Errorf("authorization %q is not SigV4", auth)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(strings.TrimPrefix(auth, algo), ", ") {
		k, v, _ := strings.Cut(part, "=")
		fields[k] = v
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signedAt, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return fmt.Errorf("X-Amz-Date %q: %v", amzDate, err)
	}
	wantScope := fmt.Sprintf("%s/%s/%s/bedrock/aws4_request", testAccessKey, signedAt.Format("20060102"), region)
	if fields["Credential"] != wantScope {
		return fmt.Errorf("credential scope %q, want %q", fields["Credential"], wantScope)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		return fmt.Errorf("x-amz-content-sha256 %s does not match the body (%s)", h, payloadHash)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, need := range []string{"host", "x-amz-date", "content-type", "x-amz-security-token"} {
		if !slices.Contains(signed, need) {
			return fmt.Errorf("signed headers %v lack %s", signed, need)
		}
	}
	re, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range signed {
		if h == "host" || h == "content-length" {
			continue
		}
		re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	creds, err := testCredentials().Retrieve(context.Background())
	if err != nil {
		return err
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, payloadHash, "bedrock", region, signedAt); err != nil {
		return err
	}
	if got := re.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature does not verify:\n sent %s\n want %s", auth, got)
	}
	return nil
}

// newTestProvider returns a provider pointed at url with the test
// credentials.
func newTestProvider(t testing.TB, url string) *Provider {
	t.Helper()
	p, err := New(t.Context(), Options{Name: "bedrock-test", Region: testRegion, BaseURL: url, Credentials: testCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVerifySigV4RejectsTampering keeps the replay server's signature
// check honest: a request changed after signing must fail it.
func TestVerifySigV4RejectsTampering(t *testing.T) {
	p := newTestProvider(t, "http://bedrock.test")
	body := []byte(`{"messages":[]}`)
	signed := func() *http.Request {
		r, err := http.NewRequest(http.MethodPost, "", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.URL = p.operationURL("anthropic.claude-3-haiku-20240307-v1:0", "converse")
		r.Host = r.URL.Host
		r.Header.Set("Content-Type", "application/json")
		if err := p.sign(t.Context(), r, body); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := verifySigV4(signed(), body, testRegion); err != nil {
		t.Fatalf("an untouched request fails verification: %v", err)
	}
	tests := []struct {
		name   string
		tamper func(r *http.Request) []byte
	}{
		{"body", func(r *http.Request) []byte { return []byte(`{"messages":[1]}`) }},
		{"path", func(r *http.Request) []byte {
			r.URL = p.operationURL("anthropic.claude-3-opus-20240229-v1:0", "converse")
			return body
		}},
		{"signed header", func(r *http.Request) []byte { r.Header.Set("Content-Type", "text/plain"); return body }},
		{"date", func(r *http.Request) []byte { r.Header.Set("X-Amz-Date", "20200101T000000Z"); return body }},
		{"region", func(r *http.Request) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testRegion, "eu-west-1", 1))
			return body
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signed()
			b := tt.tamper(r)
			if err := verifySigV4(r, b, testRegion); err == nil {
				t.Errorf("a request with a changed %s passes verification", tt.name)
			}
		})
	}
}
