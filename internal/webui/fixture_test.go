package webui

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelwatch/modelwatch/internal/dashboard"
)

// The fake data APIs the page is tested against: /api/dashboard with a
// dashboard built from internal/dashboard's types, the Prometheus query API
// answering canned data for exactly the fixture's queries (anything else is
// a Prometheus bad_data error, which the page would show inline and the
// test would catch), /api/history and /api/invocations.

const fixtureModel = "anthropic.claude-3-haiku-20240307-v1:0"

// fixtureDashboard is an all-models section and one model section with
// text, value, graph and table widgets, shaped like the default dashboard.
func fixtureDashboard() dashboard.Dashboard {
	m := `{model_id="` + fixtureModel + `"}`
	return dashboard.Dashboard{
		Title:         "modelwatch",
		PeriodSeconds: 300,
		Sections: []dashboard.Section{
			{
				ID: "all", Title: "All models",
				Widgets: []dashboard.Widget{
					{Kind: dashboard.KindText, Width: 24, Height: 2, Text: "# Metrics Across All Models\nEvery model modelwatch serves. See the [README](https://example.com/readme)."},
					{Kind: dashboard.KindValue, Title: "Average latency", Width: 6, Height: 3, Unit: dashboard.UnitSeconds,
						Series: []dashboard.Series{{Label: "Average", PromQL: `sum(rate(bedrock_invocation_latency_seconds_sum[$range])) / sum(rate(bedrock_invocation_latency_seconds_count[$range]))`, Metric: "InvocationLatency", Stat: "Average"}}},
					{Kind: dashboard.KindValue, Title: "p90 latency", Width: 6, Height: 3, Unit: dashboard.UnitSeconds,
						Series: []dashboard.Series{{Label: "p90", PromQL: `histogram_quantile(0.9, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[$range])))`, Metric: "InvocationLatency", Stat: "p90"}}},
					{Kind: dashboard.KindValue, Title: "Cost", Width: 6, Height: 3, Unit: dashboard.UnitUSD,
						Series: []dashboard.Series{{Label: "Cost", PromQL: `sum(increase(modelwatch_cost_dollars_total[$range]))`}}},
					{Kind: dashboard.KindValue, Title: "Server error rate", Width: 6, Height: 3, Unit: dashboard.UnitPercent,
						Series: []dashboard.Series{{Label: "Errors", PromQL: `100 * sum(increase(bedrock_invocation_server_errors_total[$range])) / sum(increase(bedrock_invocations_total[$range]))`}}},
					{Kind: dashboard.KindGraph, Title: "Input and Output Tokens (All Models)", Width: 12, Height: 6, Unit: dashboard.UnitTokens,
						Series: []dashboard.Series{
							{Label: "Input tokens", PromQL: `sum(increase(bedrock_input_tokens_total[$range]))`, Metric: "InputTokenCount", Stat: "Sum"},
							{Label: "Output tokens", PromQL: `sum(increase(bedrock_output_tokens_total[$range]))`, Metric: "OutputTokenCount", Stat: "Sum", Axis: "right"},
						}},
					{Kind: dashboard.KindGraph, Title: "Latency percentiles", Width: 12, Height: 6, Unit: dashboard.UnitSeconds,
						Series: []dashboard.Series{
							{Label: "p50", PromQL: `histogram_quantile(0.5, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[$range])))`},
							{Label: "p99", PromQL: `histogram_quantile(0.99, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[$range])))`},
						}},
					{Kind: dashboard.KindValue, Title: "Invocations", Width: 4, Height: 3, Unit: dashboard.UnitCount,
						Series: []dashboard.Series{{Label: "Invocations", PromQL: `sum(increase(bedrock_invocations_total[$range]))`, Metric: "Invocations", Stat: "Sum"}}},
					{Kind: dashboard.KindValue, Title: "Throttles", Width: 4, Height: 3, Unit: dashboard.UnitCount,
						Series: []dashboard.Series{{Label: "Throttles", PromQL: `sum(increase(bedrock_invocation_throttles_total[$range]))`, Metric: "InvocationThrottles", Stat: "Sum"}}},
					{Kind: dashboard.KindGraph, Title: "Throttles over time", Width: 16, Height: 3, Unit: dashboard.UnitCount,
						Series: []dashboard.Series{{Label: "Throttles", PromQL: `sum by (model_id) (increase(bedrock_invocation_throttles_total[$range]))`}}},
					{Kind: dashboard.KindTable, Title: "Models", Width: 24, Height: 5,
						Series: []dashboard.Series{
							{Label: "Invocations", PromQL: `sum by (model_id) (increase(bedrock_invocations_total[$range]))`, Metric: "Invocations", Stat: "Sum"},
							{Label: "Average latency", PromQL: `sum by (model_id) (rate(bedrock_invocation_latency_seconds_sum[$range])) / sum by (model_id) (rate(bedrock_invocation_latency_seconds_count[$range]))`, Metric: "InvocationLatency", Stat: "Average"},
							{Label: "Input tokens", PromQL: `sum by (model_id) (increase(bedrock_input_tokens_total[$range]))`, Metric: "InputTokenCount", Stat: "Sum"},
							{Label: "Cost", PromQL: `sum by (model_id) (increase(modelwatch_cost_dollars_total[$range]))`},
						}},
				},
			},
			{
				ID: "claude3haiku", Title: "Claude 3 Haiku", ModelID: fixtureModel,
				Widgets: []dashboard.Widget{
					{Kind: dashboard.KindText, Width: 24, Height: 2, Text: "# Claude 3 Haiku"},
					{Kind: dashboard.KindValue, Title: "Invocations", Width: 8, Height: 3, Unit: dashboard.UnitCount,
						Series: []dashboard.Series{{Label: "Invocations", PromQL: `sum(increase(bedrock_invocations_total` + m + `[$range]))`, Metric: "Invocations", Stat: "Sum"}}},
					{Kind: dashboard.KindValue, Title: "Average latency", Width: 8, Height: 3, Unit: dashboard.UnitSeconds,
						Series: []dashboard.Series{{Label: "Average", PromQL: `sum(rate(bedrock_invocation_latency_seconds_sum` + m + `[$range])) / sum(rate(bedrock_invocation_latency_seconds_count` + m + `[$range]))`, Metric: "InvocationLatency", Stat: "Average"}}},
					{Kind: dashboard.KindValue, Title: "Broken", Width: 8, Height: 3, Unit: dashboard.UnitCount,
						Series: []dashboard.Series{{Label: "Broken", PromQL: `broken_metric{`}}},
					{Kind: dashboard.KindGraph, Title: "Token Cost (USD)", Width: 12, Height: 6, Unit: dashboard.UnitUSD,
						LeftAxisLabel: "Input and Output", RightAxisLabel: "Total",
						Series: []dashboard.Series{
							{Label: "Input Token Cost", PromQL: `sum(increase(bedrock_input_tokens_total` + m + `[$range])) * 2.5e-07`},
							// Hidden: the page must not query it (the fake does not know it).
							{Label: "Input tokens", ID: "inputTokens", Hidden: true, PromQL: `hidden_series_must_not_be_queried`, Unit: dashboard.UnitTokens},
							{Label: "Total Cost", PromQL: `sum(increase(modelwatch_cost_dollars_total` + m + `[$range]))`, Axis: "right"},
						}},
					{Kind: dashboard.KindText, Title: "Note", Width: 12, Height: 6, Text: "### Token Cost (USD)\n\n**Unpriced.** The price list has no price for `mistral.mistral-7b-instruct-v0:2`."},
					{Kind: dashboard.KindGraph, Title: "Input and Output Token Counts", Width: 24, Height: 6, Unit: dashboard.UnitTokens,
						Series: []dashboard.Series{
							{Label: "Input tokens", PromQL: `sum(increase(bedrock_input_tokens_total` + m + `[$range]))`, Metric: "InputTokenCount", Stat: "Sum"},
							{Label: "Output tokens", PromQL: `sum(increase(bedrock_output_tokens_total` + m + `[$range]))`, Metric: "OutputTokenCount", Stat: "Sum", Axis: "right"},
						}},
				},
			},
			{
				ID: "cost", Title: "Cost",
				Widgets: []dashboard.Widget{
					{Kind: dashboard.KindValue, Title: "Cost Today", Width: 8, Height: 3, Unit: dashboard.UnitUSD,
						Series: []dashboard.Series{{Label: "Today", PromQL: `sum(increase(modelwatch_cost_dollars_total[$today])) or vector(0)`}}},
					{Kind: dashboard.KindValue, Title: "Cost This Month", Width: 8, Height: 3, Unit: dashboard.UnitUSD,
						Series: []dashboard.Series{{Label: "This month", PromQL: `sum(increase(modelwatch_cost_dollars_total[$month])) or vector(0)`}}},
					{Kind: dashboard.KindValue, Title: "Unpriced Models", Width: 8, Height: 3, Unit: dashboard.UnitCount,
						Series: []dashboard.Series{{Label: "Unpriced", PromQL: `count(max by (model_id) (modelwatch_model_priced) == 0) or vector(0)`}}},
					{Kind: dashboard.KindTable, Title: "Cost per Model Today", Width: 12, Height: 6, GroupBy: "model_id",
						Series: []dashboard.Series{
							{Label: "Cost", PromQL: costPerModel("$today"), Unit: dashboard.UnitUSD},
							{Label: "Input tokens", PromQL: `sum by (model_id) (increase(bedrock_input_tokens_total[$today]))`, Unit: dashboard.UnitTokens},
						}},
					{Kind: dashboard.KindTable, Title: "Cost per Principal Today", Width: 12, Height: 6, GroupBy: "principal",
						Series: []dashboard.Series{{Label: "Cost", PromQL: `sum by (principal) (increase(modelwatch_cost_dollars_total[$today]))`, Unit: dashboard.UnitUSD}}},
				},
			},
		},
	}
}

// costPerModel is the builder's per-model cost query: NaN for unpriced
// models.
func costPerModel(window string) string {
	priced := "max by (model_id) (modelwatch_model_priced)"
	return "sum by (model_id) (increase(modelwatch_cost_dollars_total[" + window + "])) or (" + priced + " == 1) * 0 or (" + priced + " == 0) * NaN"
}

// fixtureValues are the formatted numbers the value widgets must show.
var (
	fixtureOverviewValues = map[string]string{
		"Average latency":   "235 ms",
		"p90 latency":       "1.5 s",
		"Cost":              "$0.0123",
		"Server error rate": "2.5%",
		"Invocations":       "1.23k",
		"Throttles":         "—",
	}
	fixtureModelValues = map[string]string{
		"Invocations":     "1k",
		"Average latency": "88 ms",
	}
)

// cannedSeries is one series of a canned answer: labels and a base value
// (range queries wave around it, so screenshots look like traffic).
type cannedSeries struct {
	labels map[string]string
	value  float64
}

// canned is the answer to one query; window, when set, answers by the
// query's range in seconds (the cost page's today and this month).
type canned struct {
	series []cannedSeries
	window func(seconds float64) []cannedSeries
	err    string
}

func one(v float64) canned {
	return canned{series: []cannedSeries{{labels: map[string]string{}, value: v}}}
}

func byModel(vals map[string]float64) canned {
	var out []cannedSeries
	for id, v := range vals {
		out = append(out, cannedSeries{labels: map[string]string{"model_id": id}, value: v})
	}
	return canned{series: out}
}

// fixtureCost: two priced models (claude, nova); mistral has no price, so
// its cost is NaN and the page must call it "unpriced".
var fixtureCost = struct{ day, month map[string]float64 }{
	day:   map[string]float64{fixtureModel: 0.42, "amazon.nova-lite-v1:0": 0.0031, "mistral.mistral-7b-instruct-v0:2": math.NaN()},
	month: map[string]float64{fixtureModel: 12.5, "amazon.nova-lite-v1:0": 0.25, "mistral.mistral-7b-instruct-v0:2": math.NaN()},
}

// fixtureQueries answers the fixture dashboard's queries, keyed by the
// query with its range written back as $range.
func fixtureQueries() map[string]canned {
	m := `{model_id="` + fixtureModel + `"}`
	perWindow := func(day, month map[string]float64, label string) canned {
		return canned{window: func(s float64) []cannedSeries {
			vals := month
			if s <= 86400 {
				vals = day
			}
			var out []cannedSeries
			for k, v := range vals {
				labels := map[string]string{}
				if label != "" {
					labels[label] = k
				}
				out = append(out, cannedSeries{labels: labels, value: v})
			}
			return out
		}}
	}
	return map[string]canned{
		`sum(rate(bedrock_invocation_latency_seconds_sum[$range])) / sum(rate(bedrock_invocation_latency_seconds_count[$range]))`: one(0.2345),
		`histogram_quantile(0.9, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[$range])))`:                          one(1.5),
		`histogram_quantile(0.5, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[$range])))`:                          one(0.21),
		`histogram_quantile(0.99, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[$range])))`:                         one(2.4),
		`sum(increase(modelwatch_cost_dollars_total[$range]))`:                                                                    one(0.01234),
		`100 * sum(increase(bedrock_invocation_server_errors_total[$range])) / sum(increase(bedrock_invocations_total[$range]))`:  one(2.5),
		`sum(increase(bedrock_input_tokens_total[$range]))`:                                                                       one(5200),
		`sum(increase(bedrock_output_tokens_total[$range]))`:                                                                      one(830),
		`sum(increase(bedrock_invocations_total[$range]))`:                                                                        one(1234),
		`sum(increase(bedrock_invocation_throttles_total[$range]))`:                                                               {},
		`sum by (model_id) (increase(bedrock_invocation_throttles_total[$range]))`:                                                {},
		`sum by (model_id) (increase(bedrock_invocations_total[$range]))`: byModel(map[string]float64{
			fixtureModel: 1000, "amazon.nova-lite-v1:0": 234, "mistral.mistral-7b-instruct-v0:2": 12}),
		`sum by (model_id) (rate(bedrock_invocation_latency_seconds_sum[$range])) / sum by (model_id) (rate(bedrock_invocation_latency_seconds_count[$range]))`: byModel(map[string]float64{
			fixtureModel: 0.0875, "amazon.nova-lite-v1:0": 0.9, "mistral.mistral-7b-instruct-v0:2": 1.2}),
		`sum by (model_id) (increase(modelwatch_cost_dollars_total[$range]))`: perWindow(fixtureCost.day, fixtureCost.month, "model_id"),
		key(costPerModel("$today")): perWindow(fixtureCost.day, fixtureCost.month, "model_id"),
		`sum(increase(modelwatch_cost_dollars_total[$range])) or vector(0)`: perWindow(
			map[string]float64{"": 0.4231}, map[string]float64{"": 12.75}, ""),
		`count(max by (model_id) (modelwatch_model_priced) == 0) or vector(0)`: one(1),
		`sum by (model_id) (increase(bedrock_input_tokens_total[$range]))`: byModel(map[string]float64{
			fixtureModel: 4100, "amazon.nova-lite-v1:0": 1100}),
		`sum(increase(bedrock_input_tokens_total` + m + `[$range])) * 2.5e-07`: one(0.001),
		`sum(increase(modelwatch_cost_dollars_total` + m + `[$range]))`:        one(0.0012),
		`sum by (principal) (increase(modelwatch_cost_dollars_total[$range]))`: perWindow(
			map[string]float64{"alice": 0.4, "bob": 0.0231}, map[string]float64{"alice": 10, "bob": 2.75}, "principal"),
		`sum(increase(bedrock_invocations_total` + m + `[$range]))`:                                                                                 one(1000),
		`sum(rate(bedrock_invocation_latency_seconds_sum` + m + `[$range])) / sum(rate(bedrock_invocation_latency_seconds_count` + m + `[$range]))`: one(0.0875),
		`sum(increase(bedrock_input_tokens_total` + m + `[$range]))`:                                                                                one(4100),
		`sum(increase(bedrock_output_tokens_total` + m + `[$range]))`:                                                                               one(650),
		`broken_metric{`: {err: `1:15: parse error: unexpected end of input inside braces`},
	}
}

// key writes a query's placeholders as the fake sees them after
// normalizeQuery.
func key(q string) string {
	return strings.NewReplacer("$today", "$range", "$month", "$range").Replace(q)
}

// rangeRE finds PromQL ranges such as [5m] or [37412s].
var rangeRE = regexp.MustCompile(`\[(\d+)([smhd])\]`)

func normalizeQuery(q string) (string, float64) {
	var seconds float64
	norm := rangeRE.ReplaceAllStringFunc(q, func(s string) string {
		m := rangeRE.FindStringSubmatch(s)
		n, _ := strconv.ParseFloat(m[1], 64)
		seconds = n * map[string]float64{"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
		return "[$range]"
	})
	return norm, seconds
}

// fakeAPI serves the fixture's data APIs.
type fakeAPI struct {
	mu      sync.Mutex // guards queries and ranges
	queries map[string]canned
	// ranges are the query_range requests received, in order.
	ranges   []rangeRequest
	logging  atomic.Bool
	requests atomic.Int64
	// apiKey, when set, is the bearer key every data API requires.
	apiKey string
	// firstSample is the time of the history's first sample, as
	// /api/history reports it (zero: the history is empty); the fixture's
	// history is a month old unless a test makes it younger.
	firstSample time.Time
	// historyStatus, when set, is the HTTP status /api/history answers
	// with instead (an older server without it: 404).
	historyStatus int
	// sampleTimes are the live samples /api/history took (as the page
	// sends them back: unix seconds); an instant query must be evaluated
	// at one of them.
	sampleTimes map[float64]bool
	// governance, when set, is what /api/governance answers instead of
	// fixtureGovernance() (guarded by mu); auditDenied makes /api/audit
	// answer 403 AccessDenied.
	governance  map[string]any
	auditDenied atomic.Bool
}

// setGovernance changes /api/governance's answer.
func (f *fakeAPI) setGovernance(g map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.governance = g
}

// fixtureInterval is the fake history's resolution: the page's default.
const fixtureInterval = 15

// rangeRequest is one query_range request the fake received.
type rangeRequest struct {
	query            string
	start, end, step float64
}

func newFakeAPI() *fakeAPI {
	f := &fakeAPI{queries: fixtureQueries(), firstSample: time.Now().Add(-30 * 24 * time.Hour)}
	f.logging.Store(true)
	return f
}

// setQuery changes the canned answer of a query (as written in
// fixtureQueries).
func (f *fakeAPI) setQuery(q string, c canned) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries[q] = c
}

// rangeRequests returns the query_range requests received so far.
func (f *fakeAPI) rangeRequests() []rangeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rangeRequest(nil), f.ranges...)
}

// history answers /api/history: the first and last sample (unix seconds,
// null when the history is empty) and the interval.
func (f *fakeAPI) history(w http.ResponseWriter, r *http.Request) {
	if f.historyStatus != 0 {
		writeJSON(w, f.historyStatus, map[string]string{"error": "no such API"})
		return
	}
	unix := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	at := unix(time.Now())
	f.mu.Lock()
	if f.sampleTimes == nil {
		f.sampleTimes = map[float64]bool{}
	}
	f.sampleTimes[at] = true
	f.mu.Unlock()
	body := map[string]any{"sampleTime": at, "firstSample": nil, "lastSample": nil, "intervalSeconds": fixtureInterval}
	if !f.firstSample.IsZero() {
		now := time.Now()
		body["firstSample"] = unix(f.firstSample)
		// The last scheduled sample: a whole interval after the first.
		n := now.Sub(f.firstSample) / (fixtureInterval * time.Second)
		body["lastSample"] = unix(f.firstSample.Add(n * fixtureInterval * time.Second))
	}
	writeJSON(w, http.StatusOK, body)
}

func (f *fakeAPI) register(outer *http.ServeMux) {
	mux := http.NewServeMux()
	outer.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.apiKey != "" && r.Header.Get("Authorization") != "Bearer "+f.apiKey {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "authentication required: send Authorization: Bearer <api key>"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /api/dashboard", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, fixtureDashboard())
	})
	mux.HandleFunc("/api/v1/query", f.prom(false))
	mux.HandleFunc("/api/v1/query_range", f.prom(true))
	mux.HandleFunc("GET /api/history", f.history)
	mux.HandleFunc("GET /api/invocations", func(w http.ResponseWriter, r *http.Request) {
		if !f.logging.Load() {
			writeJSON(w, http.StatusOK, map[string]any{"logging": false, "invocations": []any{}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"logging": true, "invocations": fixtureInvocations()})
	})
	mux.HandleFunc("GET /api/governance", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		g := f.governance
		f.mu.Unlock()
		if g == nil {
			g = fixtureGovernance()
		}
		writeJSON(w, http.StatusOK, g)
	})
	mux.HandleFunc("GET /api/audit", func(w http.ResponseWriter, r *http.Request) {
		if f.auditDenied.Load() {
			writeJSON(w, http.StatusForbidden, map[string]string{"__type": "AccessDeniedException",
				"message": "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: cloudtrail:LookupEvents"})
			return
		}
		if r.URL.Query().Get("limit") != "50" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "the page must ask for limit=50"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": fixtureAudit()})
	})
	mux.HandleFunc("GET /api/invocations/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, rec := range fixtureInvocations() {
			if rec["requestId"] == r.PathValue("id") {
				writeJSON(w, http.StatusOK, rec)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no recent invocation record with that request ID"})
	})
}

func promError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "errorType": "bad_data", "error": msg})
}

// prom answers /api/v1/query and /api/v1/query_range like Prometheus,
// checking the parameters the page sends: an instant query must come at
// the time of a live sample /api/history took (or, when that answers an
// error, without a time: the server then answers at its present), a chart
// must ask for at most 300 points.
func (f *fakeAPI) prom(ranged bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if err := r.ParseForm(); err != nil {
			promError(w, err.Error())
			return
		}
		q := r.Form.Get("query")
		norm, window := normalizeQuery(q)
		f.mu.Lock()
		c, ok := f.queries[norm]
		f.mu.Unlock()
		if !ok {
			promError(w, fmt.Sprintf("fake Prometheus: unknown query %q", q))
			return
		}
		if c.err != "" {
			promError(w, c.err)
			return
		}
		series := c.series
		if c.window != nil {
			series = c.window(window)
		}
		num := func(name string) (float64, bool) {
			v, err := strconv.ParseFloat(r.Form.Get(name), 64)
			return v, err == nil && !math.IsNaN(v)
		}
		if !ranged {
			// With /api/history, the query is evaluated at the live sample
			// it took for the refresh; without, at the server's present.
			t := float64(time.Now().UnixMilli()) / 1000
			if f.historyStatus == 0 {
				at, err := strconv.ParseFloat(r.Form.Get("time"), 64)
				f.mu.Lock()
				known := err == nil && f.sampleTimes[at]
				f.mu.Unlock()
				if !known {
					promError(w, fmt.Sprintf("fake Prometheus: instant query sent with time=%q, not the time of a live sample /api/history took", r.Form.Get("time")))
					return
				}
				t = at
			} else if r.Form.Has("time") {
				promError(w, fmt.Sprintf("fake Prometheus: instant query sent with time=%s though /api/history took no sample; the dashboard must leave it out", r.Form.Get("time")))
				return
			}
			result := []any{}
			for _, s := range series {
				result = append(result, map[string]any{"metric": s.labels, "value": []any{t, strconv.FormatFloat(s.value, 'g', -1, 64)}})
			}
			writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
			return
		}
		start, ok1 := num("start")
		end, ok2 := num("end")
		step, ok3 := num("step")
		if !ok1 || !ok2 || !ok3 || step <= 0 || end < start {
			promError(w, "invalid start, end or step")
			return
		}
		f.mu.Lock()
		f.ranges = append(f.ranges, rangeRequest{query: q, start: start, end: end, step: step})
		f.mu.Unlock()
		if n := math.Floor((end-start)/step) + 1; n > 300 {
			promError(w, fmt.Sprintf("fake Prometheus: %v points asked for, more than the dashboard's 300", n))
			return
		}
		result := []any{}
		// Each query gets its own phase, so lines of a chart differ.
		phase := float64(len(q) % 7)
		for i, s := range series {
			var values []any
			for k, t := 0, start; t <= end; k, t = k+1, t+step {
				v := s.value * (1 + 0.35*math.Sin(float64(k)/9+phase+float64(i)))
				values = append(values, []any{t, strconv.FormatFloat(v, 'f', 4, 64)})
			}
			result = append(result, map[string]any{"metric": s.labels, "values": values})
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": result}})
	}
}

// fixtureInvocations are two ModelInvocationLog records, newest first.
func fixtureInvocations() []map[string]any {
	return []map[string]any{
		{
			"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": time.Now().Add(-42 * time.Second).UTC().Format(time.RFC3339),
			"accountId": "123456789012", "identity": map[string]any{"arn": "arn:aws:iam::123456789012:user/alice"},
			"region": "us-east-1", "requestId": "req-0002-ok", "operation": "Converse", "modelId": fixtureModel,
			"upstream": map[string]any{"provider": "bedrock", "model": fixtureModel, "servedModelId": fixtureModel, "attempts": 1},
			"input": map[string]any{"inputContentType": "application/json", "inputTokenCount": 1234,
				"inputBodyJson": map[string]any{"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": "What is invocation logging?"}}}}}},
			"output": map[string]any{"outputContentType": "application/json", "outputTokenCount": 56,
				"outputBodyJson": map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": []any{map[string]any{"text": "A record of every call."}}}}, "stopReason": "end_turn"}},
		},
		{
			"schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": time.Now().Add(-3 * time.Minute).UTC().Format(time.RFC3339),
			"accountId": "123456789012", "identity": map[string]any{"arn": "arn:aws:iam::123456789012:user/bob"},
			"region": "us-east-1", "requestId": "req-0001-throttled", "operation": "InvokeModel", "modelId": "amazon.nova-lite-v1:0",
			"errorCode": "ThrottlingException",
			"upstream":  map[string]any{"provider": "bedrock", "model": "amazon.nova-lite-v1:0", "servedModelId": "amazon.nova-lite-v1:0", "attempts": 3},
			"input":     map[string]any{"inputTokenCount": 0},
			"output":    map[string]any{"outputTokenCount": 0},
		},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fixtureGovernance is /api/governance for a caller allowed everything:
// two budgets (money with a forecast, unpriced calls and a notification
// in alarm; tokens over their limit without a forecast yet), two quota
// rows, three alarms (a threshold alarm in alarm that rolled a model
// back, an anomaly detection alarm with its band, one without data) and
// one principal whose policy holds markup that must be shown as text.
func fixtureGovernance() map[string]any {
	now := time.Now().UTC().Truncate(time.Minute)
	iso := func(t time.Time) string { return t.Format(time.RFC3339) }
	points := func(n int, v func(k int) float64, band bool) []any {
		var out []any
		for k := range n {
			p := map[string]any{"t": iso(now.Add(time.Duration(k-n+1) * time.Minute)), "v": v(k), "lower": nil, "upper": nil}
			if band {
				p["lower"], p["upper"] = 0.15, 0.45
			}
			out = append(out, p)
		}
		return out
	}
	return map[string]any{
		"budgets": []any{
			map[string]any{
				"name": "team-a-monthly", "type": "COST", "unit": "USD", "limit": 100, "actual": 12.34, "held": 0.5,
				"forecast": 40.1, "unpricedCalls": 3, "periodStart": "2026-12-01T00:00:00Z", "periodEnd": "2027-01-01T00:00:00Z", "hardLimit": true,
				"notifications": []any{
					map[string]any{"type": "ACTUAL", "comparison": "GREATER_THAN", "threshold": 80, "thresholdType": "PERCENTAGE", "state": "OK", "firedAt": nil},
					map[string]any{"type": "FORECASTED", "comparison": "GREATER_THAN", "threshold": 35, "thresholdType": "ABSOLUTE_VALUE", "state": "ALARM", "firedAt": iso(now.Add(-20 * time.Minute))},
				},
			},
			map[string]any{
				"name": "tokens-daily", "type": "USAGE", "unit": "tokens", "limit": 1000000, "actual": 1250000, "held": 4096,
				"forecast": nil, "unpricedCalls": 0, "periodStart": "2026-12-07T00:00:00Z", "periodEnd": "2026-12-08T00:00:00Z", "hardLimit": false,
				"notifications": []any{},
			},
		},
		"quotas": []any{
			map[string]any{"rule": "per-principal-tpm", "model": "anthropic.claude-*", "principal": "alice", "profile": "",
				"requestsPerMinute": 60, "tokensPerMinute": 100000, "tokensPerDay": 0,
				"requestsUsed": 12, "tokensUsed": 34000, "tokensReserved": 4096, "tokensToday": 50000},
			map[string]any{"rule": "nova-daily", "model": "amazon.nova-lite-v1:0", "principal": "", "profile": "batch",
				"requestsPerMinute": 0, "tokensPerMinute": 0, "tokensPerDay": 2000000,
				"requestsUsed": 3, "tokensUsed": 900, "tokensReserved": 0, "tokensToday": 1900000},
		},
		"alarms": []any{
			map[string]any{
				"name": "haiku-throttles", "description": "Throttles of Claude 3 Haiku <img src=x onerror=alert(1)>", "state": "ALARM",
				"stateReason": "Threshold Crossed: 2 out of the last 3 datapoints [12.0, 14.0] were greater than the threshold (10.0).",
				"stateTime":   iso(now.Add(-4 * time.Minute)), "comparison": "GreaterThanThreshold", "threshold": 10, "anomalyBand": nil,
				"periodSeconds": 60, "evaluationPeriods": 3, "datapointsToAlarm": 2, "treatMissingData": "missing",
				"query":      "sum(increase(bedrock_invocation_throttles_total[60s]))",
				"datapoints": points(12, func(k int) float64 { return float64(2 + k) }, false),
				"history": []any{
					map[string]any{"time": iso(now.Add(-4 * time.Minute)), "oldState": "OK", "newState": "ALARM", "reason": "Threshold Crossed: 2 of 3 datapoints > 10"},
					map[string]any{"time": iso(now.Add(-50 * time.Minute)), "oldState": "INSUFFICIENT_DATA", "newState": "OK", "reason": "Threshold not crossed"},
				},
				"rollback": fixtureModel, "rolledBack": true,
			},
			map[string]any{
				"name": "latency-anomaly", "description": "p90 latency outside its usual band", "state": "OK",
				"stateReason": "Thresholds not crossed", "stateTime": iso(now.Add(-2 * time.Hour)),
				"comparison": "LessThanLowerOrGreaterThanUpperThreshold", "threshold": nil, "anomalyBand": 2,
				"periodSeconds": 300, "evaluationPeriods": 1, "datapointsToAlarm": 1, "treatMissingData": "notBreaching",
				"query":      "histogram_quantile(0.9, sum by (le) (rate(bedrock_invocation_latency_seconds_bucket[5m])))",
				"datapoints": points(8, func(k int) float64 { return 0.3 + 0.01*float64(k%3) }, true),
				"history":    []any{},
			},
			map[string]any{
				"name": "nova-errors", "description": "", "state": "INSUFFICIENT_DATA",
				"stateReason": "Unchecked: Initial alarm creation", "stateTime": iso(now.Add(-time.Minute)),
				"comparison": "GreaterThanOrEqualToThreshold", "threshold": 1, "anomalyBand": nil,
				"periodSeconds": 60, "evaluationPeriods": 1, "datapointsToAlarm": 1, "treatMissingData": "missing",
				"query": "sum(increase(bedrock_invocation_server_errors_total[60s]))", "datapoints": []any{}, "history": []any{},
			},
		},
		"policies": []any{
			map[string]any{
				"principal": "alice", "arn": "arn:aws:iam::123456789012:user/alice", "tags": map[string]string{"team": "a", "cost-center": "42"},
				"groups": []string{"analysts"},
				"policies": []any{
					map[string]any{"id": "InvokeHaiku", "type": "user", "document": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Sid": "<script>alert('x')</script>", "Effect": "Allow", "Action": []string{"bedrock:InvokeModel", "bedrock:Converse"},
							"Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-*",
						}},
					}},
					map[string]any{"id": "ReadDashboards", "type": "group", "document": map[string]any{
						"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "cloudwatch:Get*", "Resource": "*"}},
					}},
				},
			},
			map[string]any{"principal": "bob", "arn": "arn:aws:iam::123456789012:user/bob", "policies": []any{}},
		},
	}
}

// fixtureAudit are three CloudTrail records, newest first: a refused call
// (AccessDenied), a budget change and a read.
func fixtureAudit() []map[string]any {
	now := time.Now().UTC()
	iso := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	return []map[string]any{
		{"eventTime": iso(30 * time.Second), "eventName": "UpdateBudget", "eventSource": "budgets.amazonaws.com",
			"userIdentity":    map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob", "userName": "bob"},
			"sourceIPAddress": "10.0.0.7", "errorCode": "AccessDenied", "errorMessage": "User: bob is not authorized to perform: budgets:ModifyBudget",
			"readOnly": false, "requestID": "req-a3", "eventID": "ev-3"},
		{"eventTime": iso(5 * time.Minute), "eventName": "CreateBudget", "eventSource": "budgets.amazonaws.com",
			"userIdentity":    map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "userName": "alice"},
			"sourceIPAddress": "127.0.0.1", "readOnly": false, "requestID": "req-a2", "eventID": "ev-2"},
		{"eventTime": iso(9 * time.Minute), "eventName": "DescribeAlarms", "eventSource": "monitoring.amazonaws.com",
			"userIdentity":    map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/ops/carol"},
			"sourceIPAddress": "192.0.2.10", "readOnly": true, "requestID": "req-a1", "eventID": "ev-1"},
	}
}
