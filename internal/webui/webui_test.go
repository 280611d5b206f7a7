package webui

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assetURLs are the versioned asset URLs the page refers to.
var assetURLRE = regexp.MustCompile(`(?:href|src)="(/ui/[^"?]+)\?v=([0-9a-f]+)"`)

func TestIndex(t *testing.T) {
	h := Handler(Options{Title: `Acme <Bedrock> & co`, HistoryInterval: 5 * time.Minute})
	res := serve(t, h, http.MethodGet, "/", nil)
	page := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d: %s", res.StatusCode, page)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy allows inline code: %q", csp)
	}
	if res.Header.Get("ETag") == "" {
		t.Error("no ETag on the page")
	}
	if !strings.Contains(page, "<title>Acme &lt;Bedrock&gt; &amp; co</title>") || strings.Contains(page, "<Bedrock>") {
		t.Errorf("the title is not escaped in the page:\n%s", page)
	}
	if !strings.Contains(page, `data-resolution="300"`) {
		t.Error("the history interval (5m) is not passed to the page as data-resolution=300")
	}
	// Every asset the page names is served, immutable under its version.
	refs := assetURLRE.FindAllStringSubmatch(page, -1)
	if len(refs) < 5 {
		t.Fatalf("the page refers to %d versioned assets, want favicon, 2 CSS, 2 scripts: %v", len(refs), refs)
	}
	for _, ref := range refs {
		res := serve(t, h, http.MethodGet, ref[1]+"?v="+ref[2], nil)
		b := body(t, res)
		if res.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("%s = %d, %d bytes", ref[0], res.StatusCode, len(b))
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q, want immutable", ref[1], got)
		}
	}
}

func TestDefaultTitle(t *testing.T) {
	page := body(t, serve(t, Handler(Options{}), http.MethodGet, "/", nil))
	if !strings.Contains(page, "<title>modelwatch</title>") || !strings.Contains(page, `data-resolution="15"`) {
		t.Errorf("defaults not applied:\n%s", page)
	}
}

func TestAssets(t *testing.T) {
	h := Handler(Options{})
	tests := []struct {
		path, contentType, contains string
	}{
		{"/ui/app.js", "text/javascript; charset=utf-8", "import {"},
		{"/ui/format.js", "text/javascript; charset=utf-8", "export function formatValue"},
		{"/ui/app.css", "text/css; charset=utf-8", ".widget"},
		{"/ui/favicon.svg", "image/svg+xml", "<svg"},
		{"/ui/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", "uPlot (v1.6.32)"},
		{"/ui/vendor/uPlot.min.css", "text/css; charset=utf-8", ".uplot"},
		{"/ui/vendor/uPlot.LICENSE", "application/octet-stream", "MIT License"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res := serve(t, h, http.MethodGet, tc.path, nil)
			b := body(t, res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if !strings.Contains(b, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			// Unversioned (a module import, an old page): revalidate.
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			// A stale version is not cached for good either.
			if got := serve(t, h, http.MethodGet, tc.path+"?v=0000", nil).Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("wrong version: Cache-Control %q, want no-cache", got)
			}
		})
	}
}

func TestConditionalAndGzip(t *testing.T) {
	h := Handler(Options{})
	plain := serve(t, h, http.MethodGet, "/ui/app.js", nil)
	plainBody := body(t, plain)
	etag := plain.Header.Get("ETag")
	if etag == "" || plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain response: ETag %q, Content-Encoding %q", etag, plain.Header.Get("Content-Encoding"))
	}
	if !strings.Contains(plain.Header.Get("Vary"), "Accept-Encoding") {
		t.Error("a compressible asset lacks Vary: Accept-Encoding")
	}

	notModified := serve(t, h, http.MethodGet, "/ui/app.js", http.Header{"If-None-Match": {etag}})
	if notModified.StatusCode != http.StatusNotModified || body(t, notModified) != "" {
		t.Errorf("If-None-Match with the ETag = %d, want 304 with no body", notModified.StatusCode)
	}
	if res := serve(t, h, http.MethodGet, "/ui/app.js", http.Header{"If-None-Match": {`"other"`}}); res.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match with another ETag = %d, want 200", res.StatusCode)
	}

	zipped := serve(t, h, http.MethodGet, "/ui/app.js", http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", zipped.Header.Get("Content-Encoding"))
	}
	if zipped.Header.Get("ETag") == etag {
		t.Error("the gzip variant has the plain variant's ETag")
	}
	compressed := body(t, zipped)
	zr, err := gzip.NewReader(strings.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, []byte(plainBody)) {
		t.Error("the gzip variant does not decompress to the asset")
	}
	if len(compressed) >= len(plainBody)/2 {
		t.Errorf("gzip variant is %d bytes for a %d-byte asset", len(compressed), len(plainBody))
	}
	if res := serve(t, h, http.MethodGet, "/ui/app.js", http.Header{"Accept-Encoding": {"gzip;q=0"}}); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
}

func TestNotServed(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{
		"/index.html", "/ui/", "/ui/index.html", "/ui/README.md", "/ui/../webui.go", "/ui/vendor/",
		"/ui/missing.js", "/api/dashboard", "/metrics", "/favicon.ico", "/model/x", "//",
	} {
		res := serve(t, h, http.MethodGet, p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

func TestMethods(t *testing.T) {
	h := Handler(Options{})
	head := serve(t, h, http.MethodHead, "/ui/app.css", nil)
	if head.StatusCode != http.StatusOK || body(t, head) != "" || head.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("HEAD = %d with headers %v", head.StatusCode, head.Header)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		res := serve(t, h, m, "/", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s / = %d, Allow %q; want 405, GET, HEAD", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

func TestAuthenticate(t *testing.T) {
	deny := errors.New("no key")
	tests := []struct {
		name string
		auth func(*http.Request) error
		want int
	}{
		{"nil allows", nil, http.StatusOK},
		{"accepting", func(*http.Request) error { return nil }, http.StatusOK},
		{"refusing", func(*http.Request) error { return deny }, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Handler(Options{Authenticate: tc.auth})
			for _, p := range []string{"/", "/ui/app.js"} {
				res := serve(t, h, http.MethodGet, p, nil)
				b := body(t, res)
				if res.StatusCode != tc.want {
					t.Errorf("GET %s = %d, want %d", p, res.StatusCode, tc.want)
				}
				if tc.want == http.StatusUnauthorized && strings.Contains(b, deny.Error()) {
					t.Errorf("the authentication error's text leaked: %q", b)
				}
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip", true},
		{"gzip;q=0.5", true},
		{"gzip; q=0", false},
		{"gzip;q=0.0", false},
		{"br", false},
		{"x-gzip", false},
		{"*", false},
	}
	for _, tc := range tests {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
