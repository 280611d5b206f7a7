package promremote_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelwatch/modelwatch/internal/alarm"
	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/history"
	"github.com/modelwatch/modelwatch/internal/promremote"
)

// The Client is what alarms evaluate on when the history is an external
// Prometheus.
var _ alarm.Querier = (*promremote.Client)(nil)

// seen is one request a fake Prometheus received.
type seen struct {
	Method, Path, RawPath, Query, Body string
	Header                             http.Header
}

// fakeProm records every request and answers with answer.
type fakeProm struct {
	mu   sync.Mutex
	reqs []seen
}

func (f *fakeProm) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("Prometheus received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeProm) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func startFake(t *testing.T, answer http.HandlerFunc) (*fakeProm, *httptest.Server) {
	t.Helper()
	f := &fakeProm{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, string(b), r.Header.Clone()})
		f.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func newClient(t *testing.T, base string, opts promremote.Options) *promremote.Client {
	t.Helper()
	c, err := promremote.New(base, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const matrixAnswer = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"model_id":"m1","replica":"r1"},"values":[[1700000000,"3"],[1700000060.5,"4.25"]]},
 {"metric":{},"values":[[1700000000,"NaN"]]}]}}`

func TestQueryRangeConvertsTheMatrix(t *testing.T) {
	f, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, matrixAnswer)
	})
	c := newClient(t, srv.URL+"/prom/", promremote.Options{Header: http.Header{"X-Scope-Orgid": {"team-a"}}})
	start := time.Unix(1700000000, 0)
	got, err := c.QueryRange(context.Background(), `sum(rate(x[1m]))`, start, start.Add(time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []history.Series{
		{Labels: map[string]string{"model_id": "m1", "replica": "r1"}, Points: []history.Point{
			{Time: start.UTC(), Value: 3}, {Time: start.Add(60500 * time.Millisecond).UTC(), Value: 4.25}}},
		{Labels: map[string]string{}, Points: []history.Point{{Time: start.UTC()}}},
	}
	if len(got) != 2 || got[1].Points[0].Value == got[1].Points[0].Value { // NaN != NaN
		t.Fatalf("QueryRange = %+v", got)
	}
	got[1].Points[0].Value = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("QueryRange = %+v\nwant %+v", got, want)
	}
	req := f.last(t)
	form, _ := url.ParseQuery(req.Body)
	if req.Path != "/prom/api/v1/query_range" || form.Get("query") != `sum(rate(x[1m]))` ||
		form.Get("start") != "1700000000" || form.Get("end") != "1700000060" || form.Get("step") != "60" ||
		form.Get("timeout") != "2m0s" {
		t.Errorf("request %s %s query %q body %q", req.Method, req.Path, req.Query, req.Body)
	}
	if req.Header.Get("X-Scope-OrgID") != "team-a" {
		t.Errorf("X-Scope-OrgID = %q, want Options.Header's", req.Header.Get("X-Scope-OrgID"))
	}
}

func TestQueryRangeErrors(t *testing.T) {
	_, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.FormValue("query") {
		case "bad(":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}`)
		case "proxy":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `<html>bad gateway</html>`)
		case "vector":
			io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		}
	})
	c := newClient(t, srv.URL, promremote.Options{})
	now := time.Now()
	for _, tc := range []struct {
		q        string
		step     time.Duration
		typ, msg string
	}{
		{"bad(", time.Minute, history.ErrorBadData, "1:5: parse error: unclosed left parenthesis"},
		{"proxy", time.Minute, history.ErrorUnavailable, "prometheus at " + srv.Listener.Addr().String() + " is unavailable: server error: 502"},
		{"vector", time.Minute, history.ErrorInternal, "answered a range query with a vector, not a matrix"},
		{"x", 0, history.ErrorBadData, "zero or negative query resolution step"},
	} {
		_, err := c.QueryRange(context.Background(), tc.q, now.Add(-time.Hour), now, tc.step)
		he, ok := errors.AsType[*history.Error](err)
		if !ok || he.Type != tc.typ || !strings.Contains(he.Error(), tc.msg) {
			t.Errorf("QueryRange(%q) error = %#v, want a *history.Error %s containing %q", tc.q, err, tc.typ, tc.msg)
		}
	}
}

// deadAddress is a loopback address nothing listens on.
func deadAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUnreachablePrometheus(t *testing.T) {
	addr := deadAddress(t)
	c := newClient(t, "http://user:s3cret@"+addr, promremote.Options{})
	_, err := c.QueryRange(context.Background(), "up", time.Now().Add(-time.Minute), time.Now(), time.Second)
	he, ok := errors.AsType[*history.Error](err)
	want := "prometheus at " + addr + " is unavailable: connection refused"
	if !ok || he.Type != history.ErrorUnavailable || he.Error() != want {
		t.Errorf("QueryRange error = %#v, want unavailable %q", err, want)
	}
	if err := c.Ping(context.Background()); err == nil || err.Error() != want {
		t.Errorf("Ping = %v, want %q", err, want)
	}

	rec := httptest.NewRecorder()
	c.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/query?query=up", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Body.String() != `{"status":"error","errorType":"unavailable","error":"`+want+`"}` {
		t.Errorf("proxied query: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	for _, leak := range []string{"dial", "tcp", "s3cret", "user", "query="} {
		if strings.Contains(rec.Body.String(), leak) || strings.Contains(err.Error(), leak) {
			t.Errorf("error message leaks %q: %s", leak, rec.Body)
		}
	}

	// A host that does not resolve (.invalid never does, RFC 6761).
	c = newClient(t, "http://prometheus.invalid:9090", promremote.Options{})
	if err := c.Ping(context.Background()); err == nil || err.Error() != "prometheus at prometheus.invalid:9090 is unavailable: host not found" {
		t.Errorf("Ping of an unknown host = %v", err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	_, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := newClient(t, srv.URL, promremote.Options{Timeout: 200 * time.Millisecond})
	want := "prometheus at " + srv.Listener.Addr().String() + " is unavailable: no answer within 200ms"
	_, err := c.QueryRange(context.Background(), "up", time.Now().Add(-time.Minute), time.Now(), time.Second)
	if he, ok := errors.AsType[*history.Error](err); !ok || he.Type != history.ErrorUnavailable || he.Error() != want {
		t.Errorf("QueryRange error = %#v, want %q", err, want)
	}
	rec := httptest.NewRecorder()
	c.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/query?query=up", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"error":"`+want+`"`) {
		t.Errorf("proxied query: %d %s", rec.Code, rec.Body)
	}
}

func TestPing(t *testing.T) {
	ready := true
	var mu sync.Mutex
	f, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !ready {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "Prometheus Server is Ready.\n")
	})
	c := newClient(t, srv.URL+"/prom", promremote.Options{})
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if req := f.last(t); req.Method != http.MethodGet || req.Path != "/prom/-/ready" {
		t.Errorf("Ping asked %s %s", req.Method, req.Path)
	}
	mu.Lock()
	ready = false
	mu.Unlock()
	if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "not ready: 503") {
		t.Errorf("Ping of a Prometheus starting up = %v", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090", "ftp://h", "http://", "http://h/?a=b", "http://h/#x", "http://a b"} {
		if _, err := promremote.New(u, promremote.Options{}); err == nil {
			t.Errorf("New(%q) accepted it", u)
		}
	}
	_, err := promremote.New("ftp://u:pw@h", promremote.Options{})
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("New with a password: %v", err)
	}
}

func TestBasicAuthFromTheURL(t *testing.T) {
	f, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ready") })
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("mw", "pw")
	c := newClient(t, u.String(), promremote.Options{})
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t).Header.Get("Authorization"); got != "Basic bXc6cHc=" {
		t.Errorf("Authorization = %q", got)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := f.count(); n != 2 {
		t.Errorf("%d requests", n)
	}
}

func TestQueryInstant(t *testing.T) {
	_, srv := startFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.FormValue("query") == "1" {
			io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`)
			return
		}
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000.25,"7"]}]}}`)
	})
	c := newClient(t, srv.URL, promremote.Options{})
	ts := time.Unix(1700000000, 250e6)
	got, err := c.Query(context.Background(), "x", ts)
	want := []history.Sample{{Labels: map[string]string{"a": "b"}, Time: ts.UTC(), Value: 7}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Query = %+v, %v; want %+v", got, err, want)
	}
	got, err = c.Query(context.Background(), "1", time.Time{})
	want = []history.Sample{{Labels: map[string]string{}, Time: time.Unix(1700000000, 0).UTC(), Value: 1}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Query(scalar) = %+v, %v; want %+v", got, err, want)
	}
}

// accessDenied is what modelwatch's authorizer returns for a principal
// without the grant.
func accessDenied() error {
	return &apierror.Error{Code: apierror.AccessDenied, Message: "not authorized to perform modelwatch:GetMetrics"}
}
