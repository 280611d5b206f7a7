package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	wire "github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/provider"
)

func TestNew(t *testing.T) {
	p, err := New(Options{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if p.endpoint != "https://api.anthropic.com/v1/messages" || p.version != "2023-06-01" || p.Name() != "anthropic" || p.client == nil {
		t.Errorf("defaults: endpoint %q, version %q, name %q", p.endpoint, p.version, p.Name())
	}
	p, err = New(Options{Name: "claude", APIKey: testKey, BaseURL: "http://127.0.0.1:8080/proxy/", Version: "2024-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if p.endpoint != "http://127.0.0.1:8080/proxy/v1/messages" || p.version != "2024-01-01" || p.Name() != "claude" {
		t.Errorf("endpoint %q, version %q, name %q", p.endpoint, p.version, p.Name())
	}

	bad := []struct {
		name string
		opts Options
	}{
		{"no key", Options{}},
		{"blank key", Options{APIKey: "  "}},
		{"multi-line key", Options{APIKey: testKey + "\n"}},
		{"not a URL", Options{APIKey: testKey, BaseURL: "api.anthropic.com"}},
		{"not http", Options{APIKey: testKey, BaseURL: "ftp://api.anthropic.com"}},
		{"credentials in the URL", Options{APIKey: testKey, BaseURL: "https://user:pw@api.anthropic.com"}},
		{"invalid header name", Options{APIKey: testKey, Headers: map[string]string{"bad header": "x"}}},
		{"header injection", Options{APIKey: testKey, Headers: map[string]string{"anthropic-beta": "a\r\nx-api-key: other"}}},
		{"API key header", Options{APIKey: testKey, Headers: map[string]string{"x-api-key": "other"}}},
		{"version header", Options{APIKey: testKey, Headers: map[string]string{"Anthropic-Version": "2020-01-01"}}},
		{"credentials in a header", Options{APIKey: testKey, Headers: map[string]string{"Authorization": "Bearer " + testKey}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil {
				t.Fatal("New accepted bad options")
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the error mentions the API key: %v", err)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"type":"message","role":"assistant","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`)
	}))
	defer srv.Close()
	p, err := New(Options{BaseURL: srv.URL, APIKey: testKey, Client: srv.Client(),
		Headers: map[string]string{"anthropic-beta": "prompt-caching-2024-07-31", "X-Team": "search"}})
	if err != nil {
		t.Fatal(err)
	}
	req := userRequest("Hi", 10)
	req.AdditionalModelRequestFields = json.RawMessage(`{"anthropic_beta":["interleaved-thinking-2025-05-14","prompt-caching-2024-07-31"]}`)
	if _, err := p.Converse(context.Background(), testCall, req); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"X-Api-Key":         testKey,
		"Anthropic-Version": DefaultVersion,
		"Content-Type":      "application/json",
		"Accept":            "application/json",
		"Anthropic-Beta":    "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14",
		"X-Team":            "search",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, got.Get(k), v)
		}
	}
	// The configured headers are not changed by a request's betas.
	if v := p.headers.Get("Anthropic-Beta"); v != "prompt-caching-2024-07-31" {
		t.Errorf("configured anthropic-beta became %q", v)
	}
}

func TestEmbedIsUnsupported(t *testing.T) {
	p, err := New(Options{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Embed(context.Background(), testCall, &provider.EmbedRequest{Inputs: []string{"hello"}})
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.Validation || !strings.Contains(ae.Message, "doesn't support embeddings") {
		t.Errorf("Embed error %v, want a ValidationException about embeddings", err)
	}
}

func TestUpstreamFailures(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		code     apierror.Code
		status   int
		causeHas string
	}{
		{
			name: "a proxy's HTML error page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
			},
			code: apierror.ModelError, status: 502, causeHas: "502 Bad Gateway",
		},
		{
			name: "a bad API key",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Request-Id", "req_auth")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_auth"}`)
			},
			code: apierror.ModelError, status: 401, causeHas: "req_auth",
		},
		{
			name: "an unknown model",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-sonnet-4-5"}}`)
			},
			code: apierror.ResourceNotFound, causeHas: "not_found_error",
		},
		{
			name: "a 200 that is not a Message",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Request-Id", "req_garbled")
				io.WriteString(w, `{"type":"message","content":`)
			},
			code: apierror.ModelError, status: 200, causeHas: "req_garbled",
		},
		{
			name: "a 200 of another type",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"type":"completion","completion":"hi"}`)
			},
			code: apierror.ModelError, status: 200, causeHas: "completion",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := newTestProvider(t, srv).Converse(context.Background(), testCall, userRequest("Hi", 10))
			var ae *apierror.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v, want an *apierror.Error", err)
			}
			if ae.Code != tt.code || ae.OriginalStatusCode != tt.status {
				t.Errorf("%s (status %d), want %s (status %d): %v", ae.Code, ae.OriginalStatusCode, tt.code, tt.status, err)
			}
			if ae.Cause == nil || !strings.Contains(ae.Cause.Error(), tt.causeHas) {
				t.Errorf("cause %v does not mention %q", ae.Cause, tt.causeHas)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestTransportFailures(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	p := newTestProvider(t, srv)
	srv.Close() // nothing listens any more

	_, err := p.Converse(context.Background(), testCall, userRequest("Hi", 10))
	var ae *apierror.Error
	if !errors.As(err, &ae) || ae.Code != apierror.ServiceUnavailable {
		t.Errorf("unreachable upstream: %v, want ServiceUnavailableException", err)
	}
	assertNoSecret(t, err)

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = p.ConverseStream(ctx, testCall, userRequest("Hi", 10))
	if !errors.As(err, &ae) || ae.Code != apierror.ModelTimeout {
		t.Errorf("passed deadline: %v, want ModelTimeoutException", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err = p.Converse(ctx, testCall, userRequest("Hi", 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled call: %v, want an error wrapping context.Canceled", err)
	}
}

func TestErrorStatus(t *testing.T) {
	for typ, want := range map[string]int{
		"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402, "permission_error": 403,
		"not_found_error": 404, "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
		"timeout_error": 504, "overloaded_error": 529, "": 500,
	} {
		if got := wire.ErrorStatus(typ); got != want {
			t.Errorf("ErrorStatus(%q) = %d, want %d", typ, got, want)
		}
	}
}
