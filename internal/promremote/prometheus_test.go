package promremote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelwatch/modelwatch/internal/history"
	"github.com/modelwatch/modelwatch/internal/metrics"
	"github.com/modelwatch/modelwatch/internal/promremote"
	"github.com/modelwatch/modelwatch/internal/servicetest"
)

// replica is a scrape target exposing a counter at value, labelled with
// its replica name as modelwatch's /metrics labels it.
func replica(t *testing.T, name string, value float64) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bedrock_invocations_total", Help: "Invocations."}, []string{"model_id", "operation"})
	calls.WithLabelValues("m1", "Converse").Add(value)
	reg.MustRegister(calls)
	srv := httptest.NewServer(promhttp.HandlerFor(metrics.WithReplicaLabel(reg, metrics.ReplicaLabel, name), promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPrometheusSumsTheReplicas runs Debian's Prometheus scraping two
// replicas (3 and 4 calls) every second, and reads the cluster's total
// through the Client: QueryRange (the alarms' Querier) and the proxied
// /api/v1/query (the dashboard's) both say 7, and the replicas' series stay
// apart under their replica label.
func TestPrometheusSumsTheReplicas(t *testing.T) {
	r1, r2 := replica(t, "modelwatch-0", 3), replica(t, "modelwatch-1", 4)
	host := func(s *httptest.Server) string { return s.Listener.Addr().String() }
	base := servicetest.StartPrometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
scrape_configs:
  - job_name: modelwatch
    static_configs: [{targets: [%q, %q]}]
`, host(r1), host(r2)))
	c := newClient(t, base, promremote.Options{})
	ctx := context.Background()

	// Wait for both replicas' first scrape.
	var t0 time.Time
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := c.Query(ctx, `count(bedrock_invocations_total)`, time.Time{})
		if err == nil && len(s) == 1 && s[0].Value == 2 {
			// A whole second (after the scrapes): Prometheus reads times as
			// float seconds, and the points must fall on exact times.
			t0 = time.Now().Truncate(time.Second).Add(time.Second)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has not scraped both replicas after 30s: %v, %v", s, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Until(t0.Add(1500 * time.Millisecond)))

	// The alarms' path.
	end := time.Now()
	series, err := c.QueryRange(ctx, `sum(bedrock_invocations_total)`, t0, end, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Labels) != 0 || len(series[0].Points) < 3 {
		t.Fatalf("QueryRange(sum) = %+v, want one unlabelled series of at least 3 points", series)
	}
	for i, p := range series[0].Points {
		if want := t0.Add(time.Duration(i) * 500 * time.Millisecond); !p.Time.Equal(want) || p.Value != 7 {
			t.Errorf("point %d = %v %v, want %v 7", i, p.Time, p.Value, want)
		}
	}
	per, err := c.QueryRange(ctx, `bedrock_invocations_total`, end, end, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range per {
		if s.Labels["job"] != "modelwatch" || s.Labels["model_id"] != "m1" || s.Labels["instance"] == "" || len(s.Points) != 1 {
			t.Errorf("series %+v", s)
		}
		got[s.Labels["replica"]] = s.Points[0].Value
	}
	if len(got) != 2 || got["modelwatch-0"] != 3 || got["modelwatch-1"] != 4 {
		t.Errorf("per-replica values = %v, want modelwatch-0: 3, modelwatch-1: 4", got)
	}

	// The dashboard's path: /api/v1/query through the Handler, mounted as
	// the server mounts it, by GET and by POST.
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", c.Handler(func(*http.Request) error { return nil }))
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	at := fmt.Sprintf("%.3f", float64(end.UnixMilli())/1000)
	direct := fetch(t, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape("sum(bedrock_invocations_total)")+"&time="+at, "")
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body string
		u := gw.URL + "/api/v1/query"
		form := url.Values{"query": {"sum(bedrock_invocations_total)"}, "time": {at}}.Encode()
		if method == http.MethodGet {
			u += "?" + form
		} else {
			body = form
		}
		proxied := fetch(t, method, u, body)
		if proxied != direct {
			t.Errorf("%s proxied answer %s differs from Prometheus's %s", method, proxied, direct)
		}
		var r struct {
			Status string
			Data   struct {
				ResultType string
				Result     []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		if err := json.Unmarshal([]byte(proxied), &r); err != nil {
			t.Fatal(err)
		}
		if r.Status != "success" || r.Data.ResultType != "vector" || len(r.Data.Result) != 1 || len(r.Data.Result[0].Metric) != 0 || r.Data.Result[0].Value[1] != "7" {
			t.Errorf("%s /api/v1/query?query=sum(bedrock_invocations_total) = %s, want 7", method, proxied)
		}
	}

	// A parse error is Prometheus's own answer, passed on.
	var r struct{ Status, ErrorType string }
	raw := fetch(t, http.MethodGet, gw.URL+"/api/v1/query?query=sum(", "")
	if json.Unmarshal([]byte(raw), &r) != nil || r.Status != "error" || r.ErrorType != "bad_data" {
		t.Errorf("bad query: %s", raw)
	}
	if _, err := c.QueryRange(ctx, "sum(", end, end, time.Second); err == nil {
		t.Error("QueryRange accepted sum(")
	} else if he, ok := err.(*history.Error); !ok || he.Type != history.ErrorBadData {
		t.Errorf("QueryRange(sum() error = %#v, want bad_data", err)
	}
}

// fetch returns a request's body; POST bodies are forms.
func fetch(t *testing.T, method, u, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
