package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/modelwatch/modelwatch/internal/clientsuite"
	"github.com/modelwatch/modelwatch/internal/cmdtest"
	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

// TestMain removes the binary cmdtest built, once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	cmdtest.Cleanup()
	os.Exit(code)
}

// The models of the first-call test: two that answer, one that throttles.
const (
	novaLite  = "amazon.nova-lite-v1:0"
	throttled = "amazon.titan-text-express-v1"
)

// firstCallConfig is the embedded defaults but for a random port, the data
// directory and one model that always throttles (the simulator's
// throttleRate), the only way to get a throttle on demand.
const firstCallConfig = `listen: 127.0.0.1:0
dataDir: %s
models:
  - id: amazon.titan-text-express-v1
    simulator: {throttleRate: 1}
`

// TestDashboardTellsTheTruthFromTheFirstCall does what a new user does: a
// fresh `modelwatch serve` process on the real clock, a known mix of calls
// from the JavaScript clients most users run, with their default settings
// (tools/clients/traffic/first-calls.mjs: the AWS SDK for JavaScript v3,
// whose standard retryer retries throttles, and openai, also streaming),
// then the dashboard in headless Chromium at once: every tile, the model
// table and a model's page show the exact numbers /metrics holds, and so
// do /api/v1/query by GET and by POST; the charts have points. Then
// `serve` restarts on the same data directory (counters back at zero), a
// few more calls come, and the page shows the totals over both runs.
// Screenshots go to $MODELWATCH_SCREENSHOTS (docs/dashboard-overview.png
// and docs/dashboard-model.png are taken from this test).
func TestDashboardTellsTheTruthFromTheFirstCall(t *testing.T) {
	browser := webuitest.NewBrowser(t) // skips without Chromium (fails under CI)
	node, clients := clientsuite.Node(t)
	console := &webuitest.ConsoleLog{}
	console.Watch(browser)
	bin := cmdtest.Binary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "modelwatch.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, firstCallConfig, filepath.Join(dir, "data")), 0o600); err != nil {
		t.Fatal(err)
	}
	shots := webuitest.ScreenshotDir(t)
	calls := func(base, phase string) firstCalls {
		return runFirstCalls(t, node, clients, base, phase)
	}

	// Run 1.
	srv := cmdtest.Serve(t, bin, []string{"--config", cfg})
	traffic := calls(srv.URL, "first")
	lastCall := time.Now()
	run1 := scrape(t, srv.URL)
	if traffic.ThrottleAttempts != 3 {
		t.Errorf("the AWS SDK's standard retryer made %v attempts at a throttled call, want 3", traffic.ThrottleAttempts)
	}
	want := expectation{
		// The throttled model has had a call: its counters exist, at 0.
		invocations:  map[string]float64{novaLite: 23 + 3 + 1, haiku: 7, throttled: 0},
		clientErrors: map[string]float64{novaLite: 3, haiku: 0, throttled: 0},
		throttles:    map[string]float64{novaLite: 0, haiku: 0, throttled: traffic.ThrottleAttempts},
		inputTokens:  traffic.InputTokens, outputTokens: traffic.OutputTokens,
	}
	want.check(t, "run 1: /metrics", run1)

	page := openDashboard(t, browser, srv.URL)
	t.Logf("overview read %s after the last call finished", time.Since(lastCall).Round(time.Millisecond))
	checkOverview(t, "run 1", page, want, run1)
	webuitest.Screenshot(t, browser, shots, "first-call-overview")
	checkCost(t, "run 1", browser, run1)
	checkModelPage(t, "run 1", browser, novaLite, want, run1)
	webuitest.Screenshot(t, browser, shots, "first-call-model")
	checkQueryAPI(t, "run 1", srv.URL, want)

	// Run 2: a restart (counters at zero), then two more calls of one model.
	if err := srv.Stop(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, srv.Log())
	}
	srv = cmdtest.Serve(t, bin, []string{"--config", cfg})
	traffic = calls(srv.URL, "second")
	run2 := scrape(t, srv.URL)
	// This run's own counters: the models not called again are there, at 0.
	expectation{
		invocations:  map[string]float64{novaLite: 2, haiku: 0, throttled: 0},
		clientErrors: map[string]float64{novaLite: 0, haiku: 0, throttled: 0},
		throttles:    map[string]float64{novaLite: 0, haiku: 0, throttled: 0},
		inputTokens:  traffic.InputTokens, outputTokens: traffic.OutputTokens,
	}.check(t, "run 2: /metrics", run2)
	want.invocations[novaLite] += 2
	want.inputTokens += traffic.InputTokens
	want.outputTokens += traffic.OutputTokens
	both := run1.merge(run2)
	page = openDashboard(t, browser, srv.URL)
	checkOverview(t, "after the restart", page, want, both)
	webuitest.Screenshot(t, browser, shots, "after-restart-overview")
	checkCost(t, "after the restart", browser, both)
	checkModelPage(t, "after the restart", browser, novaLite, want, both)
	checkQueryAPI(t, "after the restart", srv.URL, want)
	if err := srv.Stop(); err != nil {
		t.Errorf("serve exited with %v after SIGTERM:\n%s", err, srv.Log())
	}

	if errs, err := console.Errors(browser); err != nil {
		t.Errorf("reading the console: %v", err)
	} else if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// firstCalls is what tools/clients/traffic/first-calls.mjs reports: the
// tokens the clients' answers reported, and the attempts the AWS SDK made
// at the throttled call.
type firstCalls struct {
	InputTokens, OutputTokens, ThrottleAttempts float64
}

// runFirstCalls makes one phase ("first" or "second") of the known calls
// with the JavaScript clients against base.
func runFirstCalls(t *testing.T, node, clients, base, phase string) firstCalls {
	t.Helper()
	cmd := exec.Command(node, filepath.Join("traffic", "first-calls.mjs"), phase)
	cmd.Dir = clients
	cmd.Env = append(clientsuite.Environ(), "MW_ENDPOINT="+base, "MW_THROTTLED_MODEL="+throttled)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the %s calls: %v\n%s", phase, err, stderr.String())
	}
	var c firstCalls
	if err := json.Unmarshal(out, &c); err != nil || c.InputTokens == 0 {
		t.Fatalf("the %s calls reported %q (%v)", phase, out, err)
	}
	return c
}

// metricsSnapshot is what /metrics served: by metric name, its samples by
// labels ("model_id=...,operation=...").
type metricsSnapshot map[string]map[string]float64

func scrape(t *testing.T, base string) metricsSnapshot {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := metricsSnapshot{}
	for name, mf := range families {
		out[name] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			var kv []string
			for _, l := range m.GetLabel() {
				kv = append(kv, l.GetName()+"="+l.GetValue())
			}
			key := strings.Join(kv, ",")
			switch {
			case m.Counter != nil:
				out[name][key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[name][key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] = mapWith(out[name+"_count"], key, float64(m.GetHistogram().GetSampleCount()))
				out[name+"_sum"] = mapWith(out[name+"_sum"], key, m.GetHistogram().GetSampleSum())
			}
		}
	}
	return out
}

func mapWith(m map[string]float64, k string, v float64) map[string]float64 {
	if m == nil {
		m = map[string]float64{}
	}
	m[k] = v
	return m
}

// byModel sums a metric per model_id, optionally for one model only.
func (s metricsSnapshot) byModel(name string) map[string]float64 {
	out := map[string]float64{}
	for key, v := range s[name] {
		for _, kv := range strings.Split(key, ",") {
			if id, ok := strings.CutPrefix(kv, "model_id="); ok {
				out[id] += v
			}
		}
	}
	return out
}

func (s metricsSnapshot) total(name, model string) float64 {
	sum := 0.0
	for id, v := range s.byModel(name) {
		if model == "" || id == model {
			sum += v
		}
	}
	return sum
}

// extreme is the lowest ("min") or highest latency of the calls behind
// the snapshot's latency extremes, of one model or all ("").
func (s metricsSnapshot) extreme(agg, model string) float64 {
	v := math.NaN()
	for key, x := range s["modelwatch_invocation_latency_"+agg+"_seconds"] {
		if model != "" && !strings.Contains(","+key+",", ",model_id="+model+",") {
			continue
		}
		if math.IsNaN(v) || (agg == "min" && x < v) || (agg == "max" && x > v) {
			v = x
		}
	}
	return v
}

// merge is two runs' snapshots together: counters added, extremes kept.
func (s metricsSnapshot) merge(o metricsSnapshot) metricsSnapshot {
	out := metricsSnapshot{}
	for _, src := range []metricsSnapshot{s, o} {
		for name, series := range src {
			if out[name] == nil {
				out[name] = map[string]float64{}
			}
			for k, v := range series {
				prev, seen := out[name][k]
				switch {
				case !seen:
					out[name][k] = v
				case strings.HasSuffix(name, "_min_seconds"):
					out[name][k] = math.Min(prev, v)
				case strings.HasSuffix(name, "_max_seconds"):
					out[name][k] = math.Max(prev, v)
				default:
					out[name][k] = prev + v
				}
			}
		}
	}
	return out
}

// expectation is the known traffic, per model.
type expectation struct {
	invocations, clientErrors, throttles map[string]float64
	inputTokens, outputTokens            float64
}

func sum(m map[string]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}

// check compares /metrics with the known traffic, exactly.
func (e expectation) check(t *testing.T, what string, s metricsSnapshot) {
	t.Helper()
	for name, want := range map[string]map[string]float64{
		"bedrock_invocations_total":              e.invocations,
		"bedrock_invocation_client_errors_total": e.clientErrors,
		"bedrock_invocation_server_errors_total": zeros(e.clientErrors),
		"bedrock_invocation_throttles_total":     e.throttles,
	} {
		if got := s.byModel(name); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %s = %v, want %v", what, name, got, want)
		}
	}
	if in, out := s.total("bedrock_input_tokens_total", ""), s.total("bedrock_output_tokens_total", ""); in != e.inputTokens || out != e.outputTokens {
		t.Errorf("%s: tokens %v in and %v out, the clients saw %v and %v", what, in, out, e.inputTokens, e.outputTokens)
	}
	if n := len(s["bedrock_time_to_first_token_seconds_count"]); n != 1 {
		t.Errorf("%s: %d time-to-first-token series, want 1 (the streamed chat completion): %v", what, n, s["bedrock_time_to_first_token_seconds_count"])
	}
}

func zeros(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range m {
		out[k] = 0
	}
	return out
}

func openDashboard(t *testing.T, ctx context.Context, base string) webuitest.PageState {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	if err := webuitest.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return webuitest.ReadPage(t, ctx)
}

// near is equality for sums of floats that PromQL may add in another order.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// checkTiles compares value widgets' unrounded numbers: exact, or close.
func checkTiles(t *testing.T, what string, p webuitest.PageState, exact map[string]float64, close map[string]float64) {
	t.Helper()
	for title, want := range exact {
		if got, ok := p.Numbers[title]; !ok || got != want {
			t.Errorf("%s: %q holds %v (shown %q), want exactly %v", what, title, got, p.Values[title], want)
		}
	}
	for title, want := range close {
		if got, ok := p.Numbers[title]; !ok || !near(got, want) {
			t.Errorf("%s: %q holds %v (shown %q), want %v", what, title, got, p.Values[title], want)
		}
	}
}

func checkOverview(t *testing.T, what string, p webuitest.PageState, e expectation, s metricsSnapshot) {
	t.Helper()
	const all = " (All Models)"
	checkTiles(t, what+", overview", p, map[string]float64{
		"Invocations" + all:        sum(e.invocations),
		"Client Errors" + all:      sum(e.clientErrors),
		"Server Errors" + all:      0,
		"Throttling Errors" + all:  sum(e.throttles),
		"Legacy invocations" + all: 0,
		"Output Image Count" + all: 0,
		"Min Latency" + all:        s.extreme("min", ""),
		"Max Latency" + all:        s.extreme("max", ""),
	}, map[string]float64{
		"Average Latency" + all: s.total("bedrock_invocation_latency_seconds_sum", "") / s.total("bedrock_invocation_latency_seconds_count", ""),
	})
	if got, want := p.Values["Invocations"+all], strconv.Itoa(int(sum(e.invocations))); got != want {
		t.Errorf("%s: Invocations shows %q, want %q", what, got, want)
	}
	// The model table: one row per model, its counts exact.
	table := p.Tables["Models"]
	if len(table) == 0 {
		t.Fatalf("%s: no model table (page: %s)", what, p.Text)
	}
	col := map[string]int{}
	for i, h := range table[0] {
		col[h] = i
	}
	rows := map[string][]string{}
	for _, r := range table[1:] {
		rows[r[0]] = r
	}
	for _, m := range []string{novaLite, haiku, throttled} {
		r, ok := rows[m]
		if !ok {
			t.Errorf("%s: the model table has no row for %s: %v", what, m, table)
			continue
		}
		for name, want := range map[string]float64{"Invocations": e.invocations[m], "Errors": e.clientErrors[m], "Throttles": e.throttles[m]} {
			if got := r[col[name]]; got != strconv.Itoa(int(want)) {
				t.Errorf("%s: model table %s %s = %q, want %v", what, m, name, got, want)
			}
		}
	}
	if len(rows) != len(e.invocations) {
		t.Errorf("%s: model table %v, want a row for each of the %d models called", what, table, len(e.invocations))
	}
	for _, chart := range []string{"Input and Output Tokens" + all, "Latency Percentiles" + all, "Error Rate" + all} {
		if p.ChartPoints[chart] == 0 {
			t.Errorf("%s: chart %q has no points (%v)", what, chart, p.ChartPoints)
		}
	}
	webuitest.CheckWidgetErrors(t, what, p.Errors, nil)
}

// checkCost opens the cost page: the period's total equals the cost
// counters.
func checkCost(t *testing.T, what string, ctx context.Context, s metricsSnapshot) {
	t.Helper()
	if err := webuitest.GoTo(ctx, "#/cost"); err != nil {
		t.Fatal(err)
	}
	cost := webuitest.ReadPage(t, ctx)
	checkTiles(t, what+", cost", cost, nil, map[string]float64{"Cost in Period": s.total("modelwatch_cost_dollars_total", "")})
	webuitest.CheckWidgetErrors(t, what+", cost", cost.Errors, nil)
}

func checkModelPage(t *testing.T, what string, ctx context.Context, model string, e expectation, s metricsSnapshot) {
	t.Helper()
	section := "model-" + strings.NewReplacer(".", "-", ":", "-").Replace(model)
	if err := webuitest.GoTo(ctx, "#/model/"+section); err != nil {
		t.Fatal(err)
	}
	p := webuitest.ReadPage(t, ctx)
	if p.Title == "Not found" {
		t.Fatalf("%s: no page for %s", what, model)
	}
	checkTiles(t, what+", "+model, p, map[string]float64{
		"Invocations":           e.invocations[model],
		"Client Errors":         e.clientErrors[model],
		"Server Errors":         0,
		"Throttled invocations": e.throttles[model],
		"Min Latency":           s.extreme("min", model),
		"Max Latency":           s.extreme("max", model),
	}, map[string]float64{
		"Average Latency": s.total("bedrock_invocation_latency_seconds_sum", model) / s.total("bedrock_invocation_latency_seconds_count", model),
	})
	if p.ChartPoints["Input and Output Token Counts"] == 0 {
		t.Errorf("%s: the token chart of %s has no points (%v)", what, model, p.ChartPoints)
	}
	webuitest.CheckWidgetErrors(t, what+", "+model, p.Errors, nil)
}

// checkQueryAPI asks /api/v1/query what the tiles ask, by GET and by a
// form POST (as curl --data-urlencode sends it), without a time.
func checkQueryAPI(t *testing.T, what, base string, e expectation) {
	t.Helper()
	for q, want := range map[string]float64{
		`sum(increase(bedrock_invocations_total[6h]))`:              sum(e.invocations),
		`sum(increase(bedrock_invocation_client_errors_total[6h]))`: sum(e.clientErrors),
		`sum(increase(bedrock_invocation_throttles_total[6h]))`:     sum(e.throttles),
		`sum(increase(bedrock_input_tokens_total[6h]))`:             e.inputTokens,
		`sum(increase(bedrock_output_tokens_total[6h]))`:            e.outputTokens,
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if got, _ := promQueryAt(t, base, method, url.Values{"query": {q}}); got != want {
				t.Errorf("%s: %s %s = %v, want exactly %v", what, method, q, got, want)
			}
		}
	}
}
