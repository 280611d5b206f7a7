package auth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// newHTTP2Server authenticates like newTestServer, over HTTP/2 only: TLS
// with ALPN h2, or h2c with prior knowledge. It fails the test for a
// request that arrived over anything else.
func newHTTP2Server(t *testing.T, a *Authenticator, h2c bool) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("request arrived over %s, want HTTP/2", r.Proto)
		}
		id, ok := authenticate(a, w, r)
		if !ok {
			return
		}
		w.Header().Set("X-Test-Name", id.Name)
		w.Header().Set("X-Test-Method", id.Method)
		w.Header().Set("X-Test-Access-Key", id.AccessKeyID)
		_, _ = io.WriteString(w, "{}")
	}))
	var client *http.Client
	if h2c {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		srv.Start()
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		client = &http.Client{Transport: tr}
		t.Cleanup(tr.CloseIdleConnections)
	} else {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		client = srv.Client()
	}
	t.Cleanup(srv.Close)
	return srv, client
}

// tamper is a change made to a JS-signed request after signing, with the
// answer it must get (wantCode "" when the change is outside the signature).
type tamper struct {
	name     string
	apply    func(*http.Request)
	wantCode apierror.Code
	wantMsg  string
}

func tampers(v jsVector) []tamper {
	ts := []tamper{
		{
			name:     "another authority",
			apply:    func(r *http.Request) { r.Host = "evil.example" },
			wantCode: apierror.InvalidSignature, wantMsg: msgMismatch,
		},
		{
			name:     "authority with another port",
			apply:    func(r *http.Request) { r.Host, _, _ = strings.Cut(r.Host, ":"); r.Host += ":1" },
			wantCode: apierror.InvalidSignature, wantMsg: msgMismatch,
		},
		{
			name:     "signed header changed",
			apply:    func(r *http.Request) { r.Header.Set("Amz-Sdk-Request", "attempt=2; max=3") },
			wantCode: apierror.InvalidSignature, wantMsg: msgMismatch,
		},
		{
			name:     "signature changed",
			apply:    flipSignature,
			wantCode: apierror.InvalidSignature, wantMsg: msgMismatch,
		},
		{
			name: "path changed",
			apply: func(r *http.Request) {
				r.URL.Path += "x"
				if r.URL.RawPath != "" {
					r.URL.RawPath += "x"
				}
			},
			wantCode: apierror.InvalidSignature, wantMsg: msgMismatch,
		},
		{
			name:  "unsigned header added",
			apply: func(r *http.Request) { r.Header.Set("X-Unsigned", "1") },
		},
	}
	if v.Body != "" {
		changeBody := func(r *http.Request) {
			b := []byte(v.Body)
			b[len(b)-1] ^= 1 // same length
			r.Body = io.NopCloser(strings.NewReader(string(b)))
			r.GetBody = nil
		}
		switch claimed := v.header("x-amz-content-sha256"); {
		case claimed == unsignedPayload || strings.Contains(v.Query, "x-amz-content-sha256="+unsignedPayload):
			ts = append(ts, tamper{name: "body changed, UNSIGNED-PAYLOAD", apply: changeBody})
		case claimed != "":
			ts = append(ts, tamper{name: "body changed, hash claimed", apply: changeBody, wantCode: apierror.InvalidSignature, wantMsg: msgContentSHA})
		default:
			ts = append(ts, tamper{name: "body changed, hash signed", apply: changeBody, wantCode: apierror.InvalidSignature, wantMsg: msgMismatch})
		}
	}
	return ts
}

// flipSignature changes the last digit of the signature, in the
// Authorization header or the presigned query.
func flipSignature(r *http.Request) {
	flip := func(s string, end int) string {
		c := byte('0')
		if s[end-1] == '0' {
			c = '1'
		}
		return s[:end-1] + string(c) + s[end:]
	}
	if h := r.Header.Get("Authorization"); h != "" {
		r.Header.Set("Authorization", flip(h, len(h)))
		return
	}
	const param = "X-Amz-Signature="
	i := strings.Index(r.URL.RawQuery, param)
	r.URL.RawQuery = flip(r.URL.RawQuery, i+len(param)+64)
}

// TestSigV4OverHTTP2 sends the JS signer's requests over real HTTP/2, where
// Go's client sends req.Host as :authority and net/http hands it to the
// handler as Request.Host: each is accepted, and each change to what it
// signed is refused with AWS's message.
func TestSigV4OverHTTP2(t *testing.T) {
	a := newTestAuthenticator(t, func() time.Time { return testNow })
	vectors := loadJSVectors(t)
	for _, transport := range []struct {
		name string
		h2c  bool
	}{{"TLS", false}, {"h2c", true}} {
		t.Run(transport.name, func(t *testing.T) {
			srv, client := newHTTP2Server(t, a, transport.h2c)
			for _, v := range vectors {
				t.Run(v.Name, func(t *testing.T) {
					got := send(t, client, v.clientRequest(t, srv.URL))
					checkResult(t, got, "", "")
					if got.name != v.user() || got.method != MethodSigV4 {
						t.Errorf("identity = %+v, want %s", got, v.user())
					}
					for _, tt := range tampers(v) {
						req := v.clientRequest(t, srv.URL)
						tt.apply(req)
						got := send(t, client, req)
						if tt.wantCode == "" {
							checkResult(t, got, "", "")
							continue
						}
						if got.code != string(tt.wantCode) || got.message != tt.wantMsg || got.status != http.StatusForbidden {
							t.Errorf("%s: got %d %s %q, want 403 %s %q", tt.name, got.status, got.code, got.message, tt.wantCode, tt.wantMsg)
						}
					}
				})
			}
		})
	}
}

// TestSigV4AuthorityBehindProxy sends the same requests over HTTP/1.1, as an
// h2-to-h1 proxy forwards them: the signed :authority arrives as Host.
func TestSigV4AuthorityBehindProxy(t *testing.T) {
	a := newTestAuthenticator(t, func() time.Time { return testNow })
	srv := newTestServer(t, a, false)
	for _, v := range loadJSVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			got := send(t, srv.Client(), v.clientRequest(t, srv.URL))
			checkResult(t, got, "", "")
			if got.name != v.user() {
				t.Errorf("identity = %+v, want %s", got, v.user())
			}
			req := v.clientRequest(t, srv.URL)
			req.Host = "proxy.internal:8080" // a proxy that rewrites Host breaks the signature
			checkResult(t, send(t, srv.Client(), req), apierror.InvalidSignature, msgMismatch)
		})
	}
}

// TestSigV4SignedContentLengthZero covers a signed "content-length: 0",
// which re-signing with aws-sdk-go-v2 could not reproduce: the SDK signer
// signs ContentLength only when positive.
func TestSigV4SignedContentLengthZero(t *testing.T) {
	var v jsVector
	for _, vec := range loadJSVectors(t) {
		if vec.header("content-length") == "0" && strings.Contains(vec.header("authorization"), ";content-length;") {
			v = vec
		}
	}
	if v.Name == "" {
		t.Fatal("no vector signs content-length: 0")
	}
	a := newTestAuthenticator(t, func() time.Time { return testNow })
	h1 := newTestServer(t, a, false)
	h2, h2Client := newHTTP2Server(t, a, true)
	for _, tt := range []struct {
		name     string
		base     string
		client   *http.Client
		body     string
		wantCode apierror.Code
		wantMsg  string
	}{
		{name: "HTTP/1.1", base: h1.URL, client: h1.Client()},
		{name: "HTTP/2", base: h2.URL, client: h2Client},
		{name: "HTTP/1.1 with a body", base: h1.URL, client: h1.Client(), body: "x", wantCode: apierror.InvalidSignature, wantMsg: msgContentSHA},
		{name: "HTTP/2 with a body", base: h2.URL, client: h2Client, body: "x", wantCode: apierror.InvalidSignature, wantMsg: msgContentSHA},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := v.clientRequest(t, tt.base)
			if tt.body != "" {
				req.Body = io.NopCloser(strings.NewReader(tt.body))
				req.ContentLength = int64(len(tt.body))
				req.GetBody = nil
			}
			checkResult(t, send(t, tt.client, req), tt.wantCode, tt.wantMsg)
		})
	}
}

// BenchmarkVerifySigV4JS measures Check + Verify of the JS signer's
// requests as net/http hands them over, HTTP/2 :authority included.
func BenchmarkVerifySigV4JS(b *testing.B) {
	a := newTestAuthenticator(b, func() time.Time { return testNow })
	for _, v := range loadJSVectors(b) {
		switch v.Name {
		case "h2 InvokeModel, :authority without port, hashed payload",
			"presigned h2 POST, :authority with port, session token, body hashed",
			"h2 path with empty and dot segments, normalised by the signer":
		default:
			continue
		}
		b.Run(v.Name, func(b *testing.B) {
			r, body := v.serverRequest(), []byte(v.Body)
			b.ReportAllocs()
			for b.Loop() {
				p, err := a.Check(r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Verify(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
