// The official Prometheus Go client (client_golang/api/prometheus/v1) is
// the proof of API compatibility: it must read every answer of Handler.

package history

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// authed adds the test token to every request of the official client.
type authed struct{ http.RoundTripper }

func (a authed) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", testToken)
	return a.RoundTripper.RoundTrip(r)
}

func officialClient(t *testing.T, url string, rt http.RoundTripper) promv1.API {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url, RoundTripper: rt})
	if err != nil {
		t.Fatal(err)
	}
	return promv1.NewAPI(c)
}

// TestOfficialClient drives the handler with Prometheus's own Go client:
// if it decodes every answer, Grafana and other Prometheus tooling can too.
func TestOfficialClient(t *testing.T) {
	srv, _ := apiServer(t)
	c := officialClient(t, srv.URL, authed{http.DefaultTransport})
	ctx := context.Background()
	at := base.Add(10 * time.Minute)

	t.Run("query_range", func(t *testing.T) {
		v, _, _, err := c.QueryRange(ctx, `sum by (model_id) (increase(bedrock_invocations_total[5m]))`,
			promv1.Range{Start: base.Add(6 * time.Minute), End: at, Step: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		m, ok := v.(model.Matrix)
		if !ok {
			t.Fatalf("result is %T, want matrix", v)
		}
		want := map[model.LabelValue]float64{modelA: 50, modelB: 15}
		if len(m) != len(want) {
			t.Fatalf("got %d series, want %d", len(m), len(want))
		}
		for _, ser := range m {
			if len(ser.Values) != 5 {
				t.Errorf("%v: %d points, want 5", ser.Metric, len(ser.Values))
			}
			for _, p := range ser.Values {
				if float64(p.Value) != want[ser.Metric["model_id"]] {
					t.Errorf("%v at %v = %v, want %v", ser.Metric, p.Timestamp, p.Value, want[ser.Metric["model_id"]])
				}
			}
		}
	})
	t.Run("query vector", func(t *testing.T) {
		v, _, _, err := c.Query(ctx, `bedrock_invocations_total`, at)
		if err != nil {
			t.Fatal(err)
		}
		vec, ok := v.(model.Vector)
		if !ok || len(vec) != 2 {
			t.Fatalf("got %T %v, want a 2-element vector", v, v)
		}
		for _, smp := range vec {
			if smp.Metric[model.MetricNameLabel] != "bedrock_invocations_total" || !smp.Timestamp.Time().Equal(at) {
				t.Errorf("sample %v", smp)
			}
		}
	})
	t.Run("query scalar", func(t *testing.T) {
		v, _, _, err := c.Query(ctx, `scalar(sum(bedrock_invocations_total))`, at)
		if err != nil {
			t.Fatal(err)
		}
		if sc, ok := v.(*model.Scalar); !ok || sc.Value != 65 {
			t.Errorf("scalar: got %T %v, want 65", v, v)
		}
	})
	t.Run("empty result", func(t *testing.T) {
		v, _, _, err := c.Query(ctx, `bedrock_invocations_total{model_id="nope"}`, at)
		if err != nil {
			t.Fatal(err)
		}
		if vec, ok := v.(model.Vector); !ok || len(vec) != 0 {
			t.Errorf("got %T %v", v, v)
		}
	})
	t.Run("warnings", func(t *testing.T) {
		// Series without an le label are not buckets: PromQL warns.
		_, warns, _, err := c.Query(ctx, `histogram_quantile(0.9, bedrock_invocations_total)`, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(warns) == 0 || !strings.Contains(warns[0], "le") {
			t.Errorf("warnings %v, want the bad-bucket-label warning", warns)
		}
	})
	t.Run("series", func(t *testing.T) {
		sets, _, _, err := c.Series(ctx, []string{`bedrock_invocation_throttles_total{operation="InvokeModel"}`, `bedrock_invocations_total{model_id="` + modelA + `"}`}, base, at)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ls := range sets {
			got = append(got, string(ls["__name__"])+"/"+string(ls["model_id"]))
		}
		slices.Sort(got)
		want := []string{"bedrock_invocation_throttles_total/" + modelB, "bedrock_invocations_total/" + modelA}
		if !slices.Equal(got, want) {
			t.Errorf("series %v, want %v", got, want)
		}
	})
	t.Run("labels", func(t *testing.T) {
		names, _, _, err := c.LabelNames(ctx, nil, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, model.LabelNames{"__name__", "latency", "le", "model_id", "operation", "service_tier"}) {
			t.Errorf("label names %v", names)
		}
		names, _, _, err = c.LabelNames(ctx, []string{"bedrock_invocations_total"}, base, at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, model.LabelNames{"__name__", "model_id", "operation"}) {
			t.Errorf("label names of one metric %v", names)
		}
	})
	t.Run("label values", func(t *testing.T) {
		vals, _, _, err := c.LabelValues(ctx, "model_id", nil, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(vals, model.LabelValues{modelB, modelA}) {
			t.Errorf("model_id values %v", vals)
		}
		vals, _, _, err = c.LabelValues(ctx, "model_id", []string{`bedrock_invocation_throttles_total{operation="InvokeModel"}`}, base, at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(vals, model.LabelValues{modelB}) {
			t.Errorf("throttled model_id values %v", vals)
		}
	})
	t.Run("buildinfo", func(t *testing.T) {
		bi, err := c.Buildinfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bi.Version != EngineVersion || bi.GoVersion == "" {
			t.Errorf("buildinfo %+v", bi)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		md, err := c.Metadata(ctx, "bedrock_invocation_latency_seconds", "")
		if err != nil {
			t.Fatal(err)
		}
		got := md["bedrock_invocation_latency_seconds"]
		if len(md) != 1 || len(got) != 1 || got[0].Type != promv1.MetricTypeHistogram || got[0].Help == "" {
			t.Errorf("metadata %+v", md)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, _, _, err := c.Query(ctx, `sum(`, at)
		var pe *promv1.Error
		if !errors.As(err, &pe) || pe.Type != promv1.ErrBadData {
			t.Errorf("bad query: %v", err)
		}
		_, _, _, err = c.Query(ctx, `bedrock_invocations_total + on() bedrock_input_tokens_total`, at)
		if !errors.As(err, &pe) || pe.Type != promv1.ErrExec {
			t.Errorf("execution error: %v", err)
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		anon := officialClient(t, srv.URL, http.DefaultTransport)
		_, _, _, err := anon.Query(ctx, `1`, at)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("without token: %v, want a 401", err)
		}
	})
}
