package auth

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE000000001/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=A/B/C/D/E,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256 Credential=A/B/C/D/E, SignedHeaders=, Signature=x",
		"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date",
		"AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=1",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, Credential=a/b/c/d/e, SignedHeaders=host, Signature=1",
		"AWS4-ECDSA-P256-SHA256 Credential=A/20240101/bedrock/aws4_request, SignedHeaders=host;x-amz-region-set, Signature=3045",
		"AWS4-HMAC-SHA256 Credential=A/B/C/D, SignedHeaders=host, Signature=1",
		"Bearer abc",
		"Basic dXNlcjpwYXNz",
		"",
		" ",
		",,,=,=,",
		"AWS4-HMAC-SHA256 Credential= /  / / / , SignedHeaders = host , Signature = 1 ",
		"AWS4-HMAC-SHA256\tCredential=A/B/C/D/E, SignedHeaders=host, Signature=1",
		"AWS4-HMAC-SHA256 Credential=A/B/C/D/E=F, SignedHeaders=host, Signature=1=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if err.Code != apierror.IncompleteSignature || err.Message == "" {
				t.Fatalf("error %v, want a non-empty IncompleteSignatureException", err)
			}
			if a.missing && !strings.Contains(err.Message, "requires") {
				t.Fatalf("missing set for %q", err.Message)
			}
			return
		}
		if a.algorithm != algorithm {
			t.Fatalf("accepted algorithm %q", a.algorithm)
		}
		if a.credential == "" || a.signature == "" {
			t.Fatalf("accepted empty Credential or Signature: %+v", a)
		}
		s := a.scope
		if strings.Join([]string{s.accessKeyID, s.date, s.region, s.service, s.terminator}, "/") != a.credential {
			t.Fatalf("scope %+v does not rebuild credential %q", s, a.credential)
		}
		for _, v := range []string{a.credential, a.signedHeaders, a.signature} {
			if strings.ContainsRune(v, ',') || v != strings.TrimSpace(v) {
				t.Fatalf("field %q not trimmed or contains a separator", v)
			}
		}
		// What was accepted renders back to a header that parses the same.
		again := algorithm + " Credential=" + a.credential + ", SignedHeaders=" + a.signedHeaders + ", Signature=" + a.signature
		b, err := parseAuthorization(again)
		if err != nil || b != a {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", again, b, err, a)
		}
	})
}

// FuzzCheck throws arbitrary credentials at Check and Verify: they must not
// panic, must fail with an *apierror.Error, and must never authenticate —
// except with the configured API key itself, which the fuzzer can reach
// from a seed one edit away (the scheme is case-insensitive, as RFC 9110
// says).
func FuzzCheck(f *testing.F) {
	good := signSpec{body: invokeBody()}.sign(f, "http://gw.example")
	f.Add(good.Header.Get("Authorization"), good.Header.Get("X-Amz-Date"), "", "")
	f.Add("AWS4-HMAC-SHA256 Credential="+testAKID+"/20240101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date;content-length;user-agent;transfer-encoding, Signature="+strings.Repeat("0", 64), "20240101T001000Z", "", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="+testAKID+"%2F20240101%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Date=20240101T001000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="+strings.Repeat("a", 64), "")
	f.Add("Bearer "+testAPIKey+"0", "", "", "UNSIGNED-PAYLOAD")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;, Signature=", "Mon, 01 Jan 2024 00:10:00 GMT", "X-Amz-Signature", "zz")
	a := newTestAuthenticator(f, func() time.Time { return testNow })
	f.Fuzz(func(t *testing.T, authz, date, query, contentSHA string) {
		r := httptest.NewRequest(http.MethodPost, invokePath, nil)
		r.URL.RawQuery = query
		for k, v := range map[string]string{"Authorization": authz, "X-Amz-Date": date, "X-Amz-Content-Sha256": contentSHA} {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		p, err := a.Check(r)
		if err == nil {
			var id Identity
			id, err = p.Verify(invokeBody())
			if err == nil {
				scheme, token, _ := strings.Cut(authz, " ")
				if id.Method == "bearer" && strings.EqualFold(scheme, "bearer") && strings.TrimSpace(token) == testAPIKey {
					return
				}
				t.Fatalf("authenticated as %+v", id)
			}
		}
		var e *apierror.Error
		if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
			t.Fatalf("error %v is not a complete *apierror.Error", err)
		}
	})
}

// BenchmarkVerifySigV4 measures Check + Verify of a header-signed InvokeModel
// request, as the SDK sends it.
func BenchmarkVerifySigV4(b *testing.B) {
	a := newTestAuthenticator(b, func() time.Time { return testNow })
	r, body := benchRequest(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		p, err := a.Check(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Verify(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignHTTP is the floor: the SDK signer alone on the same request.
func BenchmarkSignHTTP(b *testing.B) {
	_, body := benchRequest(b)
	signer := v4.NewSigner()
	creds := signSpec{}.defaults().creds()
	hash := sha256Hex(body)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "http://gw.example"+invokePath, nil)
		req.ContentLength = int64(len(body))
		req.Header["Content-Type"] = []string{"application/json"}
		if err := signer.SignHTTP(context.Background(), creds, req, hash, "bedrock", testRegion, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckBearer(b *testing.B) {
	a := newTestAuthenticator(b, nil)
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("Authorization", "Bearer "+testAPIKey)
	b.ReportAllocs()
	for b.Loop() {
		p, err := a.Check(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Verify(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRequest returns a server-side request as net/http would hand it to a
// handler, signed the way the SDK signs InvokeModel.
func benchRequest(b *testing.B) (*http.Request, []byte) {
	body := bytes.Repeat(invokeBody(), 10)
	client := signSpec{body: body, header: map[string]string{
		"Content-Type":          "application/json",
		"Accept":                "application/json",
		"Amz-Sdk-Invocation-Id": "5c3a1f0e-8a3c-4a1e-9f3a-2a7c1b0e9d11",
		"Amz-Sdk-Request":       "attempt=1; max=3",
	}}.sign(b, "http://gw.example")
	r := httptest.NewRequest(http.MethodPost, invokePath, bytes.NewReader(body))
	r.Host = client.Host
	if r.Host == "" {
		r.Host = client.URL.Host
	}
	for k, v := range client.Header {
		r.Header[k] = v
	}
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.47.7 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux api/bedrockruntime#1.63.11")
	r.Header.Set("Accept-Encoding", "gzip")
	return r, body
}
