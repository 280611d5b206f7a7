package history

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/metrics"
)

// byModel runs an instant query (at a live sample when at is zero) and
// returns its values by model_id ("" for none).
func byModel(t *testing.T, s *Store, q string, at time.Time) map[string]float64 {
	t.Helper()
	res, err := s.Query(context.Background(), q, at)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := map[string]float64{}
	for _, smp := range res {
		out[smp.Labels["model_id"]] = smp.Value
	}
	return out
}

func wantExactly(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s = %v, want exactly %v", what, got, want)
	}
}

// TestFirstCallsCountExactly is the new user's first minute on the real
// clock: the periodic sample is taken before any call, then calls come;
// a query without a time counts every call exactly — no call is lost for
// having come before a series' first sample, and nothing is extrapolated —
// and again after more calls.
func TestFirstCallsCountExactly(t *testing.T) {
	reg := prometheus.NewRegistry()
	rec := metrics.New(reg, metrics.Options{})
	// The real clock, which a test may move on (the next refresh).
	var ahead atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	s, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Registerer: reg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	mustSample(t, s) // what Start does at once, before the first call
	p := &process{reg: reg, rec: rec, store: s}
	for range 23 {
		p.call(modelB, invocation.Converse, 200, 40*time.Millisecond, 10, 5)
	}
	for range 7 {
		p.call(modelA, invocation.ChatCompletions, 200, 150*time.Millisecond, 8, 20)
	}
	for range 3 {
		p.call(modelB, invocation.Converse, 400, time.Millisecond, 0, 0)
	}
	p.call(modelA, invocation.ChatCompletions, 429, 0, 0, 0)

	const over = "[6h]"
	wantExactly(t, "invocations", byModel(t, s, `sum by (model_id) (increase(bedrock_invocations_total`+over+`))`, time.Time{}),
		map[string]float64{modelA: 7, modelB: 26})
	wantExactly(t, "client errors", byModel(t, s, `sum by (model_id) (increase(bedrock_invocation_client_errors_total`+over+`))`, time.Time{}),
		map[string]float64{modelA: 0, modelB: 3})
	wantExactly(t, "throttles", byModel(t, s, `sum by (model_id) (increase(bedrock_invocation_throttles_total`+over+`))`, time.Time{}),
		map[string]float64{modelA: 1, modelB: 0})
	wantExactly(t, "input tokens", byModel(t, s, `sum(increase(bedrock_input_tokens_total`+over+`))`, time.Time{}),
		map[string]float64{"": 23*10 + 7*8})
	wantExactly(t, "latency minimum", byModel(t, s, `min by (model_id) (min_over_time(`+metrics.MetricLatencyMin+over+`))`, time.Time{}),
		map[string]float64{modelA: 0.15, modelB: 0.001})
	wantExactly(t, "latency maximum", byModel(t, s, `max by (model_id) (max_over_time(`+metrics.MetricLatencyMax+over+`))`, time.Time{}),
		map[string]float64{modelA: 0.15, modelB: 0.04})

	for range 4 {
		p.call(modelA, invocation.ChatCompletions, 200, 2*time.Second, 8, 20)
	}
	ahead.Store(int64(time.Second)) // the next refresh
	wantExactly(t, "invocations after more calls", byModel(t, s, `sum by (model_id) (increase(bedrock_invocations_total`+over+`))`, time.Time{}),
		map[string]float64{modelA: 11, modelB: 26})
	wantExactly(t, "latency maximum after more calls", byModel(t, s, `max(max_over_time(`+metrics.MetricLatencyMax+over+`))`, time.Time{}),
		map[string]float64{"": 2})
	// The same numbers as the registry serves on /metrics.
	if n, err := testutil.GatherAndCount(reg, "bedrock_invocations_total"); err != nil || n != 2 {
		t.Errorf("registry: %d invocation series (%v)", n, err)
	}
}

// TestQueriesOfOneRefreshShareALiveSample: queries without a time within
// liveSpacing of a live sample are evaluated at it (a refresh's tiles
// agree with each other and cost one sample), and one with an explicit
// time after the last sample gets a sample stamped exactly there.
func TestQueriesOfOneRefreshShareALiveSample(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := &clock{t: base}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bedrock_x_total", Help: "x"})
	reg.MustRegister(c)
	s, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Registerer: prometheus.NewRegistry(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	at := func(q string, ts time.Time) time.Time {
		t.Helper()
		res, err := s.Query(context.Background(), q, ts)
		if err != nil || len(res) != 1 {
			t.Fatalf("%s: %v %v", q, res, err)
		}
		return res[0].Time
	}
	if got := at(`vector(1)`, time.Time{}); !got.Equal(base) {
		t.Errorf("first query evaluated at %s, want now (%s)", got, base)
	}
	clk.Set(base.Add(liveSpacing - time.Millisecond))
	if got := at(`vector(1)`, time.Time{}); !got.Equal(base) {
		t.Errorf("query 199 ms later evaluated at %s, want the live sample's time %s", got, base)
	}
	clk.Set(base.Add(time.Second))
	if got := at(`vector(1)`, time.Time{}); !got.Equal(base.Add(time.Second)) {
		t.Errorf("query 1 s later evaluated at %s, want a new sample at %s", got, base.Add(time.Second))
	}
	c.Add(4)
	explicit := base.Add(1500 * time.Millisecond)
	clk.Set(base.Add(1700 * time.Millisecond))
	res, err := s.Query(context.Background(), `bedrock_x_total`, explicit)
	if err != nil || len(res) != 1 || res[0].Value != 4 {
		t.Fatalf("explicit time after the last sample: %v %v, want the current value 4", res, err)
	}
	first, last, ok := s.Span()
	if !ok || !first.Equal(base) || !last.Equal(explicit) {
		t.Errorf("Span = %s, %s, %v; want %s, %s", first, last, ok, base, explicit)
	}
	// An explicit time in the past or far ahead takes no sample.
	clk.Set(base.Add(time.Hour))
	s.Query(context.Background(), `vector(1)`, base.Add(2*time.Hour))
	s.Query(context.Background(), `vector(1)`, base.Add(time.Minute))
	if _, last, _ := s.Span(); !last.Equal(explicit) {
		t.Errorf("a query of the past or the future took a sample: last sample %s", last)
	}
}

// TestZeroSampleAtCreation checks the created-timestamp zero sample: a
// counter created between two samples starts at 0 at its creation, so
// increase() over a range covering it is its whole value; gauges get none.
func TestZeroSampleAtCreation(t *testing.T) {
	clk := &clock{t: base}
	created := base.Add(10 * time.Second)
	var families []*dto.MetricFamily
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return families, nil })
	s, err := Open(Options{Dir: t.TempDir(), Gatherer: g, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	mustSample(t, s)
	name, gname, hname := "bedrock_c_total", "modelwatch_g", "bedrock_h_seconds"
	counter, gauge, hist := dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_HISTOGRAM
	v, one, two, ub := 30.0, uint64(1), uint64(2), 1.0
	families = []*dto.MetricFamily{
		{Name: &name, Type: &counter, Metric: []*dto.Metric{{Counter: &dto.Counter{Value: &v, CreatedTimestamp: timestamppb.New(created)}}}},
		{Name: &gname, Type: &gauge, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}},
		{Name: &hname, Type: &hist, Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: &two, SampleSum: &v,
			Bucket:           []*dto.Bucket{{UpperBound: &ub, CumulativeCount: &one}},
			CreatedTimestamp: timestamppb.New(created)}}}},
	}
	clk.Set(base.Add(time.Minute))
	mustSample(t, s)
	at := base.Add(time.Minute)
	for q, want := range map[string]float64{
		`increase(bedrock_c_total[5m])`:                    30,
		`increase(bedrock_h_seconds_count[5m])`:            2,
		`increase(bedrock_h_seconds_bucket{le="1.0"}[5m])`: 1,
		`count_over_time(modelwatch_g[5m])`:                1,
		`count_over_time(bedrock_c_total[5m])`:             2,
		`timestamp(min_over_time(bedrock_c_total[5m]))`:    float64(at.Unix()),
	} {
		if got := byModel(t, s, q, at); !maps.Equal(got, map[string]float64{"": want}) {
			t.Errorf("%s = %v, want %v", q, got, want)
		}
	}
	rng, err := s.QueryRange(context.Background(), `bedrock_c_total`, created, at, 50*time.Second)
	if err != nil || len(rng) != 1 || rng[0].Points[0].Value != 0 || !rng[0].Points[0].Time.Equal(created) {
		t.Errorf("at its creation the counter reads %v (%v), want 0", rng, err)
	}
}

// TestPreviousSeries: a reopened history names the series its previous
// run was writing when it stopped, and not those of earlier runs.
func TestPreviousSeries(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: base}
	p1 := startProcess(t, dir, clk, Options{})
	p1.call(modelA, invocation.Converse, 200, time.Second, 1, 1)
	p1.call(modelB, invocation.InvokeModel, 200, time.Second, 1, 1)
	mustSample(t, p1.store)
	clk.Set(base.Add(time.Minute))
	if err := p1.store.Close(); err != nil {
		t.Fatal(err)
	}
	p2 := startProcess(t, dir, clk, Options{})
	names := func(s *Store) []string {
		t.Helper()
		series, err := s.PreviousSeries(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range series {
			if l["__name__"] == "bedrock_invocations_total" {
				out = append(out, l["model_id"]+"/"+l["operation"])
			}
		}
		return out
	}
	if got := strings.Join(names(p2.store), " "); got != "amazon.nova-lite-v1:0/InvokeModel anthropic.claude-3-haiku-20240307-v1:0/Converse" {
		t.Errorf("after run 1: %s", got)
	}
	// Run 2 serves model A only (nothing resumes B here: that is the
	// server's job), for longer than two intervals.
	p2.call(modelA, invocation.Converse, 200, time.Second, 1, 1)
	for k := 2; k <= 4; k++ {
		clk.Set(base.Add(time.Duration(k) * time.Minute))
		mustSample(t, p2.store)
	}
	if err := p2.store.Close(); err != nil {
		t.Fatal(err)
	}
	p3 := startProcess(t, dir, clk, Options{Interval: time.Minute})
	t.Cleanup(func() { _ = p3.store.Close() })
	if got := strings.Join(names(p3.store), " "); got != "anthropic.claude-3-haiku-20240307-v1:0/Converse" {
		t.Errorf("after run 2: %s", got)
	}
	fresh := startProcess(t, t.TempDir(), clk, Options{})
	t.Cleanup(func() { _ = fresh.store.Close() })
	if got := names(fresh.store); got != nil {
		t.Errorf("a new history names %v", got)
	}
	if _, _, ok := fresh.store.Span(); ok {
		t.Error("a new history has a span")
	}
}

// TestQueryAPIAcceptsWhatPrometheusAccepts: query, query_range, series and
// labels answer the same through GET and through a form-encoded POST, as
// Prometheus's API does (curl --data-urlencode, Grafana, the Go client).
func TestQueryAPIAcceptsWhatPrometheusAccepts(t *testing.T) {
	s, _ := restartTimeline(t)
	srv := httptest.NewServer(s.Handler(nil))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/api/v1/query", url.Values{"query": {`sum(bedrock_invocations_total)`}, "time": {"1772323800"}}},
		{"/api/v1/query_range", url.Values{"query": {`sum(bedrock_invocations_total)`}, "start": {"1772323740"}, "end": {"1772323800"}, "step": {"60"}}},
		{"/api/v1/series", url.Values{"match[]": {`bedrock_invocations_total`, `bedrock_invocation_throttles_total`}}},
		{"/api/v1/labels", url.Values{"match[]": {`bedrock_invocations_total`}}},
	} {
		get := body(t, must(http.Get(srv.URL+tc.path+"?"+tc.form.Encode())))
		post := body(t, must(http.PostForm(srv.URL+tc.path, tc.form)))
		if get != post || !strings.HasPrefix(get, `{"status":"success"`) || strings.Contains(get, `"result":[]`) || get == `{"status":"success","data":[]}` {
			t.Errorf("%s: GET %s\nPOST %s", tc.path, get, post)
		}
	}
}

func must(r *http.Response, err error) *http.Response {
	if err != nil {
		panic(err)
	}
	return r
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLiveSampleFixesARefreshsTime: the dashboard's refresh asks for a
// live sample and evaluates all its queries at its time; they see exactly
// that sample, even once later samples exist; each live sample is
// strictly after the last one, and live samples are liveSpacing apart.
func TestLiveSampleFixesARefreshsTime(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := &clock{t: base}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bedrock_x_total", Help: "x"})
	reg.MustRegister(c)
	s, err := Open(Options{Dir: t.TempDir(), Gatherer: reg, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c.Add(5)
	at := s.LiveSample()
	c.Add(2)
	clk.Set(base.Add(10 * time.Millisecond))
	mustSample(t, s) // a periodic sample after the refresh began
	if got := byModel(t, s, `bedrock_x_total`, at); !maps.Equal(got, map[string]float64{"": 5}) {
		t.Errorf("at the refresh's sample: %v, want 5", got)
	}
	// Live samples are liveSpacing apart: within it, the newest sample.
	if next := s.LiveSample(); !next.Equal(base.Add(10 * time.Millisecond)) {
		t.Errorf("a live sample asked for 10 ms after another is at %s, want the newest sample's time (10ms)", next.Sub(base))
	}
	clk.Set(base.Add(300 * time.Millisecond))
	mustSample(t, s)
	if next := s.LiveSample(); !next.Equal(base.Add(301 * time.Millisecond)) {
		t.Errorf("a live sample in the last sample's millisecond is at %s, want 1 ms after it (301ms)", next.Sub(base))
	}
}
