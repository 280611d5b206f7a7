package promremote_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/modelwatch/modelwatch/internal/promremote"
)

// TestHandlerForwardsUnchanged checks that every endpoint is forwarded to
// Prometheus's path (under the base URL's prefix) with the query string or
// form, and that the answer comes back byte for byte.
func TestHandlerForwardsUnchanged(t *testing.T) {
	const answer = "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"many-to-many matching\"}\n"
	f, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Prom", "yes")
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, answer)
	})
	c := newClient(t, srv.URL+"/prom", promremote.Options{Header: http.Header{"X-Scope-Orgid": {"t1"}}})
	h := c.Handler(nil)
	for _, tc := range []struct {
		method, path, body  string
		wantPath, wantRaw   string
		wantQuery, wantBody string
	}{
		{"GET", "/api/v1/query?query=sum(x)&time=17", "", "/prom/api/v1/query", "", "query=sum(x)&time=17", ""},
		{"POST", "/api/v1/query_range", "query=sum%28x%29&start=1&end=2&step=1", "/prom/api/v1/query_range", "", "", "query=sum%28x%29&start=1&end=2&step=1"},
		{"GET", "/api/v1/series?match[]=up", "", "/prom/api/v1/series", "", "match[]=up", ""},
		{"POST", "/api/v1/labels", "match%5B%5D=up", "/prom/api/v1/labels", "", "", "match%5B%5D=up"},
		{"GET", "/api/v1/label/model_id/values", "", "/prom/api/v1/label/model_id/values", "", "", ""},
		{"GET", "/api/v1/label/U__a%2Fb/values", "", "/prom/api/v1/label/U__a/b/values", "/prom/api/v1/label/U__a%2Fb/values", "", ""},
		{"GET", "/api/v1/metadata?metric=up", "", "/prom/api/v1/metadata", "", "metric=up", ""},
		{"GET", "/api/v1/status/buildinfo", "", "/prom/api/v1/status/buildinfo", "", "", ""},
		{"GET", "/api/v1/query_exemplars?query=up", "", "/prom/api/v1/query_exemplars", "", "query=up", ""},
		{"GET", "/api/v1/rules", "", "/prom/api/v1/rules", "", "", ""},
		{"GET", "/api/v1/alerts", "", "/prom/api/v1/alerts", "", "", ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Authorization", "Bearer caller-key")
		req.Header.Set("Cookie", "session=1")
		req.Header.Set("X-Amz-Date", "20261207T000000Z")
		req.Header.Set("X-Amz-Security-Token", "tok")
		req.Header.Set("X-Api-Key", "k")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "Grafana/12")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnprocessableEntity || rec.Body.String() != answer ||
			rec.Header().Get("Content-Type") != "application/json; charset=utf-8" || rec.Header().Get("X-Prom") != "yes" {
			t.Errorf("%s %s: answer %d %q %v, want Prometheus's unchanged", tc.method, tc.path, rec.Code, rec.Body, rec.Header())
		}
		got := f.last(t)
		if got.Method != tc.method || got.Path != tc.wantPath || got.RawPath != tc.wantRaw || got.Query != tc.wantQuery || got.Body != tc.wantBody {
			t.Errorf("%s %s reached Prometheus as %s %s (raw %q) ?%s body %q", tc.method, tc.path, got.Method, got.Path, got.RawPath, got.Query, got.Body)
		}
		for _, k := range []string{"Authorization", "Cookie", "X-Amz-Date", "X-Amz-Security-Token", "X-Api-Key", "X-Forwarded-For"} {
			if v := got.Header.Get(k); v != "" {
				t.Errorf("%s %s: %s: %q forwarded to Prometheus", tc.method, tc.path, k, v)
			}
		}
		if got.Header.Get("Accept") != "application/json" || got.Header.Get("User-Agent") != "Grafana/12" || got.Header.Get("X-Scope-Orgid") != "t1" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, got.Header)
		}
		if tc.method == "POST" && got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, got.Header.Get("Content-Type"))
		}
	}
}

// TestHandlerRefuses checks what never reaches Prometheus: other paths
// (its admin and write APIs), other methods, unauthenticated callers and
// oversized forms.
func TestHandlerRefuses(t *testing.T) {
	f, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"status":"success"}`) })
	c := newClient(t, srv.URL, promremote.Options{})
	auth := func(r *http.Request) error {
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			return nil
		case "Bearer nogrant":
			return accessDenied()
		}
		return errors.New("The security token included in the request is invalid.")
	}
	h := c.Handler(auth)
	big := "query=" + strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		method, path, key, body string
		code                    int
		want                    string
	}{
		{"POST", "/api/v1/admin/tsdb/delete_series?match[]=up", "good", "", 404, `{"status":"error","errorType":"not_found","error":"no such endpoint: /api/v1/admin/tsdb/delete_series"}`},
		{"POST", "/api/v1/write", "good", "", 404, `{"status":"error","errorType":"not_found","error":"no such endpoint: /api/v1/write"}`},
		{"GET", "/api/v1/status/config", "good", "", 404, `{"status":"error","errorType":"not_found","error":"no such endpoint: /api/v1/status/config"}`},
		{"GET", "/api/v1/targets", "good", "", 404, `{"status":"error","errorType":"not_found","error":"no such endpoint: /api/v1/targets"}`},
		{"GET", "/api/v1/label/a%2F..%2F..%2Fadmin/values/x", "good", "", 404, `{"status":"error","errorType":"not_found","error":"no such endpoint: /api/v1/label/a/../../admin/values/x"}`},
		{"DELETE", "/api/v1/query", "good", "", 405, `{"status":"error","errorType":"bad_data","error":"method DELETE not allowed"}`},
		{"GET", "/api/v1/query?query=up", "", "", 401, `{"status":"error","errorType":"unauthorized","error":"The security token included in the request is invalid."}`},
		{"GET", "/api/v1/query?query=up", "nogrant", "", 403, `{"status":"error","errorType":"forbidden","error":"AccessDeniedException: not authorized to perform modelwatch:GetMetrics"}`},
		{"POST", "/api/v1/query", "good", big, 400, `{"status":"error","errorType":"bad_data","error":"error parsing form values: http: request body too large"}`},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.key != "" {
			req.Header.Set("Authorization", "Bearer "+tc.key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || rec.Body.String() != tc.want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, rec.Code, rec.Body, tc.code, tc.want)
		}
		if tc.code == 405 && rec.Header().Get("Allow") != "GET, POST" {
			t.Errorf("405 without Allow: %v", rec.Header())
		}
	}
	if n := f.count(); n != 0 {
		t.Errorf("Prometheus received %d requests, want none: %+v", n, f.last(t))
	}
	// The same with the grant reaches it.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/query?query=up", nil)
	req.Header.Set("Authorization", "Bearer good")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || f.count() != 1 {
		t.Errorf("authorized query: %d, %d requests", rec.Code, f.count())
	}
}

// TestHandlerThroughAServer runs the handler behind a real server, as
// modelwatch mounts it, with Prometheus's own Go client sending POST forms
// and a body that authenticate reads first (as SigV4 verification does).
func TestHandlerThroughAServer(t *testing.T) {
	_, prom := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"`+r.FormValue("query")+`"]}]}}`)
	})
	c := newClient(t, prom.URL, promremote.Options{})
	readsBody := func(r *http.Request) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", c.Handler(readsBody))
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	resp, err := http.PostForm(gw.URL+"/api/v1/query", url.Values{"query": {"42"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"42"]}]}}` {
		t.Errorf("POST through the gateway: %d %s", resp.StatusCode, b)
	}
}
