package webui

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/modelwatch/modelwatch/internal/dashboard"
	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

// newFixtureServer serves the dashboard with the fake data APIs.
func newFixtureServer(t *testing.T, f *fakeAPI) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	h := Handler(Options{Title: "modelwatch"})
	mux.Handle("GET /{$}", h)
	mux.Handle("GET /ui/", h)
	f.register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserDashboard drives the page in headless Chromium against the
// fixture: numbers, charts, the model page, cost, invocations, no console
// errors; screenshots go to $MODELWATCH_SCREENSHOTS.
func TestBrowserDashboard(t *testing.T) {
	f := newFakeAPI()
	f.apiKey = "test-key-1"
	srv := newFixtureServer(t, f)
	checkDashboard(t, dashboardChecks{
		BaseURL:      srv.URL,
		APIKey:       f.apiKey,
		Values:       fixtureOverviewValues,
		MinCharts:    2,
		ModelSection: "claude3haiku",
		ModelValues:  fixtureModelValues,
		WidgetErrors: map[string]string{"Broken": "parse error"},
		CostTexts: []string{
			"$0.42", "$0.0031", "unpriced", "mistral.mistral-7b-instruct-v0:2",
			"alice", "$0.40", "bob", "$0.0231", "4.1k tokens",
		},
		Invocations:           true,
		ExpectedNetworkErrors: []string{"broken_metric"},
	})
}

// TestBrowserAPIKey: without a key the data APIs answer 401 and the page
// says so inline; a key entered in the dialog is used from then on, and the
// refresh button reloads the data.
func TestBrowserAPIKey(t *testing.T) {
	f := newFakeAPI()
	f.apiKey = "test-key-2"
	srv := newFixtureServer(t, f)
	ctx := newBrowser(t)
	console := &webuitest.ConsoleLog{Expected: []string{"/api/"}} // the 401s are the point
	console.Watch(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/#/cost")); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if s := readPage(t, ctx); !strings.Contains(s.Text, "API key required") {
		t.Fatalf("without a key the page does not ask for one:\n%s", s.Text)
	}
	enter := `document.getElementById('main').dataset.state = 'navigating';
	  document.getElementById('key-button').click();
	  document.getElementById('key-input').value = ` + "`" + f.apiKey + "`" + `;
	  document.getElementById('key-form').requestSubmit(); true`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](enter)); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	s := readPage(t, ctx)
	webuitest.CheckWidgetErrors(t, "cost page with a key", s.Errors, nil)
	if s.Values["Cost Today"] != "$0.42" {
		t.Errorf("with the key, Cost Today shows %q, want $0.42", s.Values["Cost Today"])
	}
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('modelwatch.apiKey') + '|' + (localStorage.getItem('modelwatch.apiKey') || '')`))
	if err != nil || stored != f.apiKey+"|" {
		t.Errorf("key stored as %q (err %v), want it in session storage only", stored, err)
	}

	before := f.requests.Load()
	refresh := `document.getElementById('main').dataset.state = 'navigating';
	  document.getElementById('refresh-now').click(); true`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](refresh)); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if after := f.requests.Load(); after <= before {
		t.Errorf("refresh made no queries (%d before, %d after)", before, after)
	}
	if errs, err := console.Errors(ctx); err != nil || len(errs) > 0 {
		t.Errorf("console errors (%v):\n%s", err, strings.Join(errs, "\n"))
	}
}

// TestBrowserLoggingOff: with invocation logging off the invocations page
// says how to turn it on.
func TestBrowserLoggingOff(t *testing.T) {
	f := newFakeAPI()
	f.logging.Store(false)
	srv := newFixtureServer(t, f)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/#/invocations")); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	s := readPage(t, ctx)
	for _, want := range []string{"Invocation logging is off", "put-model-invocation-logging-configuration", srv.URL} {
		if !strings.Contains(s.Text, want) {
			t.Errorf("invocations page with logging off does not show %q:\n%s", want, s.Text)
		}
	}
}

// TestBrowserLive: a fresh browser refreshes every 10 seconds by default,
// says when the data was updated, and shows new numbers without a click;
// another choice is remembered.
func TestBrowserLive(t *testing.T) {
	f := newFakeAPI()
	srv := newFixtureServer(t, f)
	ctx := newBrowser(t)
	console := &webuitest.ConsoleLog{}
	console.Watch(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	s := readPage(t, ctx)
	if s.AutoRefresh != "10s" {
		t.Errorf("a fresh browser's auto-refresh is %q, want 10s", s.AutoRefresh)
	}
	if !regexp.MustCompile(`^Updated \d{1,2}:\d{2}:\d{2}`).MatchString(s.Updated) {
		t.Errorf("the top bar says %q, want \"Updated <time>\"", s.Updated)
	}
	if live, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('updated').getAttribute('aria-live') || ''`)); err != nil || live != "polite" {
		t.Errorf("the updated note's aria-live is %q (err %v), want polite", live, err)
	}
	if got := s.Values["Invocations"]; got != "1.23k" {
		t.Fatalf("Invocations shows %q before the change, want 1.23k", got)
	}

	// New traffic: the page's own timer must pick it up, with no click.
	f.setQuery(`sum(increase(bedrock_invocations_total[$range]))`, one(2345))
	changed := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 25*time.Second)
	defer cancel()
	_, err := chromedp.Run(pctx, chromedp.Poll[bool](`[...document.querySelectorAll('#main .widget[data-kind="value"]')]
	  .some((w) => w.dataset.title === 'Invocations' && w.querySelector('.value-number')?.textContent === '2.35k')`,
		chromedp.WithPollingTimeout(0)))
	if err != nil {
		t.Fatalf("the Invocations tile did not update by itself within 25 s of the data changing (%v): %q", err, readPage(t, ctx).Values["Invocations"])
	}
	t.Logf("the tile updated %v after the data changed", time.Since(changed).Round(100*time.Millisecond))

	// Another choice is kept for the next visit.
	choose := `(() => { const r = document.getElementById('refresh'); r.value = '30s'; r.dispatchEvent(new Event('change')); return localStorage.getItem('modelwatch.refresh'); })()`
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](choose)); err != nil || got != "30s" {
		t.Errorf("choosing 30 s stored %q (err %v)", got, err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if s := readPage(t, ctx); s.AutoRefresh != "30s" {
		t.Errorf("after a reload the auto-refresh is %q, want the chosen 30s", s.AutoRefresh)
	}
	if errs, err := console.Errors(ctx); err != nil || len(errs) > 0 {
		t.Errorf("console errors (%v):\n%s", err, strings.Join(errs, "\n"))
	}
}

// TestBrowserFreshHistory: a server whose history began two and a half
// minutes ago gets charts of those minutes, a point every 15 seconds (the
// resolution), ending at the refresh's live sample — not a mostly empty
// six-hour axis.
func TestBrowserFreshHistory(t *testing.T) {
	f := newFakeAPI()
	f.firstSample = time.Now().Add(-150 * time.Second)
	first := float64(f.firstSample.UnixMilli()) / 1000
	srv := newFixtureServer(t, f)
	ctx := newBrowser(t)
	console := &webuitest.ConsoleLog{}
	console.Watch(ctx)
	before := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	reqs := f.rangeRequests()
	if len(reqs) == 0 {
		t.Fatal("no range queries")
	}
	for _, r := range reqs {
		if r.step != fixtureInterval {
			t.Errorf("%s: step %v, want %d (the resolution)", r.query, r.step, fixtureInterval)
		}
		f.mu.Lock()
		live := f.sampleTimes[r.end]
		f.mu.Unlock()
		if !live || r.end < float64(before.UnixMilli())/1000 || r.end > float64(after.UnixMilli())/1000 {
			t.Errorf("%s: end %v, want the time of the refresh's live sample (from /api/history), in [%v, %v]", r.query, r.end, before, after)
		}
		if k := (r.end - r.start) / r.step; k != math.Trunc(k) {
			t.Errorf("%s: [%v, %v] is not a whole number of %v s steps", r.query, r.start, r.end, r.step)
		}
		if r.start > first || r.start+r.step <= first {
			t.Errorf("%s: starts at %v, want the grid point just before the first sample %v", r.query, r.start, first)
		}
		// The rate window stays four samples wide.
		if strings.Contains(r.query, "[") && !strings.Contains(r.query, "[1m]") {
			t.Errorf("%s: want a [1m] rate window (4 × 15 s)", r.query)
		}
	}
	s := readPage(t, ctx)
	screenshot(t, ctx, screenshotDir(t), "fresh-history")
	r := reqs[len(reqs)-1]
	perLine := int((r.end-r.start)/r.step) + 1
	if got := s.ChartPoints["Latency percentiles"]; got != 2*perLine {
		t.Errorf("Latency percentiles drew %d points, want %d (two lines of %d)", got, 2*perLine, perLine)
	}
	webuitest.CheckCharts(t, "fresh history", s, 2)
	webuitest.CheckWidgetErrors(t, "fresh history", s.Errors, nil)
	if want := "Last 6 hours · since the history began 2 minutes ago · points every 15 seconds"; !strings.Contains(s.Text, want) {
		t.Errorf("the page does not say %q:\n%s", want, s.Text)
	}
	if rows := s.Tables["Models"]; len(rows) != 4 || !reflect.DeepEqual(rows[0], []string{"Model", "Invocations", "Average latency", "Input tokens", "Cost"}) ||
		!reflect.DeepEqual(rows[1][:2], []string{fixtureModel, "1k"}) {
		t.Errorf("the Models table reads %q", rows)
	}

	// "Refresh now" loads again, on a grid that still ends at now.
	n := len(reqs)
	if err := webuitest.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if again := f.rangeRequests(); len(again) <= n {
		t.Errorf("Refresh now made no range queries")
	} else if r := again[len(again)-1]; r.step != fixtureInterval || r.start > first {
		t.Errorf("after a refresh the chart asks for [%v, %v] step %v", r.start, r.end, r.step)
	}
	if errs, err := console.Errors(ctx); err != nil || len(errs) > 0 {
		t.Errorf("console errors (%v):\n%s", err, strings.Join(errs, "\n"))
	}
}

// TestBrowserHistoryUnavailable: without /api/history (an older server)
// the charts draw the selected range.
func TestBrowserHistoryUnavailable(t *testing.T) {
	f := newFakeAPI()
	f.historyStatus = http.StatusNotFound
	srv := newFixtureServer(t, f)
	ctx := newBrowser(t)
	console := &webuitest.ConsoleLog{Expected: []string{"/api/history"}}
	console.Watch(ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := f.rangeRequests()
	if len(reqs) == 0 {
		t.Fatal("no range queries")
	}
	for _, r := range reqs {
		if r.step != 120 || r.end-r.start != 6*3600 {
			t.Errorf("%s: [%v, %v] step %v, want the last 6 hours, a point every 2 minutes", r.query, r.start, r.end, r.step)
		}
	}
	s := readPage(t, ctx)
	webuitest.CheckCharts(t, "no history API", s, 2)
	webuitest.CheckWidgetErrors(t, "no history API", s.Errors, nil)
	if want := "Last 6 hours · points every 2 minutes"; !strings.Contains(s.Text, want) {
		t.Errorf("the page does not say %q:\n%s", want, s.Text)
	}
	if errs, err := console.Errors(ctx); err != nil || len(errs) > 0 {
		t.Errorf("console errors (%v):\n%s", err, strings.Join(errs, "\n"))
	}
}

// TestBrowserFormat checks format.js's pure helpers in the browser that runs
// them.
func TestBrowserFormat(t *testing.T) {
	srv := newFixtureServer(t, newFakeAPI())
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	type call struct {
		fn   string
		args []any
		want any
	}
	cases := []call{
		{"formatValue", []any{0.2345, "seconds"}, "235 ms"},
		{"formatValue", []any{0.0042, "seconds"}, "4.2 ms"},
		{"formatValue", []any{1.5, "seconds"}, "1.5 s"},
		{"formatValue", []any{150, "seconds"}, "2.5 min"},
		{"formatValue", []any{0, "seconds"}, "0 ms"},
		{"formatValue", []any{999, "count"}, "999"},
		{"formatValue", []any{1234, "count"}, "1.23k"},
		{"formatValue", []any{1000, "count"}, "1k"},
		{"formatValue", []any{2500000, "tokens"}, "2.5M tokens"},
		{"formatValue", []any{0.5, "count"}, "0.5"},
		{"formatValue", []any{12.5, "usd"}, "$12.50"},
		{"formatValue", []any{1234.5, "usd"}, "$1,234.50"},
		{"formatValue", []any{0.42, "usd"}, "$0.42"},
		{"formatValue", []any{0.01234, "usd"}, "$0.0123"},
		{"formatValue", []any{0.00001, "usd"}, "<$0.0001"},
		{"formatValue", []any{0, "usd"}, "$0.00"},
		{"formatValue", []any{2.5, "percent"}, "2.5%"},
		{"formatValue", []any{100, "percent"}, "100%"},
		{"formatValue", []any{nil, "count"}, "—"},
		{"formatTicks", []any{[]any{0, 0.05, 0.1}, "usd"}, []any{"$0.00", "$0.05", "$0.10"}},
		{"formatTicks", []any{[]any{0, 2000, 4000}, "usd"}, []any{"$0", "$2,000", "$4,000"}},
		{"formatTicks", []any{[]any{0, 0.0005, 0.001}, "usd"}, []any{"$0.0000", "$0.0005", "$0.0010"}},
		{"formatTicks", []any{[]any{0, 0.25, 0.5}, "seconds"}, []any{"0 ms", "250 ms", "500 ms"}},
		{"formatTicks", []any{[]any{0, 2000, 4000}, "tokens"}, []any{"0", "2k", "4k"}},
		// Steps: round, at most 300 points, never finer than the history.
		{"pickStep", []any{3600, 60}, 60.0},
		{"pickStep", []any{6 * 3600, 60}, 120.0},
		{"pickStep", []any{24 * 3600, 60}, 300.0},
		{"pickStep", []any{7 * 86400, 60}, 3600.0},
		{"pickStep", []any{15 * 86400, 60}, 7200.0},
		{"pickStep", []any{3600, 300}, 300.0},
		{"pickStep", []any{120, 15}, 15.0},
		{"pickStep", []any{3600, 15}, 15.0},
		{"pickStep", []any{6 * 3600, 15}, 120.0},
		{"pickStep", []any{299, 1}, 1.0},
		{"pickStep", []any{300, 1}, 2.0},
		{"pickStep", []any{900, 1}, 5.0},
		{"pickStep", []any{1800, 5}, 10.0},
		{"pickStep", []any{3000, 1}, 15.0},
		{"pickStep", []any{5000, 1}, 30.0},
		{"pickStep", []any{120, 20}, 30.0},
		{"pickStep", []any{10, 15}, 15.0},
		{"rateWindow", []any{60, 60}, 240.0},
		{"rateWindow", []any{300, 60}, 300.0},
		{"rateWindow", []any{3600, 60}, 3600.0},
		{"rateWindow", []any{15, 15}, 60.0},
		{"rateWindow", []any{120, 15}, 120.0},
		{"rateWindow", []any{1, 1}, 4.0},
		// Chart windows end at now; a history younger than the range
		// starts them at its first sample, on the step's grid.
		{"chartWindow", []any{1_000_000, 6 * 3600, 15, nil}, map[string]any{
			"start": 1_000_000.0 - 6*3600, "end": 1_000_000.0, "step": 120.0, "window": 120.0, "span": 6 * 3600.0, "clamped": false, "since": nil}},
		{"chartWindow", []any{1_000_000, 6 * 3600, 15, 900_000}, map[string]any{
			"start": 1_000_000.0 - 6*3600, "end": 1_000_000.0, "step": 120.0, "window": 120.0, "span": 6 * 3600.0, "clamped": false, "since": nil}},
		{"chartWindow", []any{1_000_000, 6 * 3600, 15, 1_000_000 - 150}, map[string]any{
			"start": 1_000_000.0 - 150, "end": 1_000_000.0, "step": 15.0, "window": 60.0, "span": 150.0, "clamped": true, "since": 150.0}},
		{"chartWindow", []any{1_000_000, 6 * 3600, 15, 1_000_000 - 142.5}, map[string]any{
			"start": 1_000_000.0 - 150, "end": 1_000_000.0, "step": 15.0, "window": 60.0, "span": 150.0, "clamped": true, "since": 142.5}},
		// A refresh's sample time keeps its milliseconds: the last point is
		// evaluated exactly at the sample.
		{"chartWindow", []any{1_000_000.5, 3600, 60, 1_000_000 - 7}, map[string]any{
			"start": 1_000_000.5 - 60, "end": 1_000_000.5, "step": 60.0, "window": 240.0, "span": 60.0, "clamped": true, "since": 7.5}},
		{"chartWindow", []any{1_000_000, 24 * 3600, 15, 1_000_000 - 5*3600 - 17}, map[string]any{
			"start": 1_000_000.0 - 5*3600 - 120, "end": 1_000_000.0, "step": 120.0, "window": 120.0, "span": 5*3600 + 120.0, "clamped": true, "since": 5*3600 + 17.0}},
		{"humanAge", []any{150}, "2 minutes"},
		{"humanAge", []any{59.9}, "59 seconds"},
		{"humanAge", []any{3600}, "1 hour"},
		{"humanAge", []any{2*86400 + 5}, "2 days"},
		{"humanAge", []any{0}, "0 seconds"},
		{"substituteRange", []any{"rate(x[$range]) / rate(y[$range])", 300}, "rate(x[5m]) / rate(y[5m])"},
		{"substituteRange", []any{"increase(x[$range])", 37412}, "increase(x[37412s])"},
		{"substituteRange", []any{"increase(x[$range])", 86400}, "increase(x[1d])"},
		{"markdown", []any{"# Title\nSome **bold** and a [link](https://example.com)."},
			`<h2>Title</h2><p>Some <strong>bold</strong> and a <a href="https://example.com" target="_blank" rel="noopener noreferrer">link</a>.</p>`},
		{"markdown", []any{"<script>alert(1)</script> [x](javascript:evil)"},
			`<p>&lt;script&gt;alert(1)&lt;/script&gt; x</p>`},
		{"markdown", []any{"- one\n- two"}, `<ul><li>one</li><li>two</li></ul>`},
		{"seriesLabel", []any{"p90", map[string]any{"model_id": "m1"}}, "p90 · m1"},
		{"seriesUnit", []any{map[string]any{"metric": "InvocationLatency", "promql": "x"}, "count"}, "seconds"},
		{"seriesUnit", []any{map[string]any{"promql": "sum(increase(modelwatch_cost_dollars_total[1h]))"}, ""}, "usd"},
		// Governance: budgets, quotas, alarms, the audit trail.
		{"formatAmount", []any{12.34, "USD"}, "$12.34"},
		{"formatAmount", []any{100, "USD"}, "$100.00"},
		{"formatAmount", []any{0, "USD"}, "$0.00"},
		{"formatAmount", []any{nil, "USD"}, "—"},
		{"formatAmount", []any{1250000, "tokens"}, "1,250,000 tokens"},
		{"formatAmount", []any{42, ""}, "42"},
		{"percentOf", []any{12.34, 100}, 12.34},
		{"percentOf", []any{1250000, 1000000}, 125.0},
		{"percentOf", []any{5, 0}, nil},
		{"percentOf", []any{5, nil}, nil},
		{"barLevel", []any{12.34}, "ok"},
		{"barLevel", []any{80}, "warn"},
		{"barLevel", []any{125}, "over"},
		{"barLevel", []any{nil}, "none"},
		{"thresholdText", []any{map[string]any{"type": "ACTUAL", "comparison": "GREATER_THAN", "threshold": 80, "thresholdType": "PERCENTAGE"}, 100, "USD"}, "Actual > 80% ($80.00)"},
		{"thresholdText", []any{map[string]any{"type": "FORECASTED", "comparison": "GREATER_THAN", "threshold": 35, "thresholdType": "ABSOLUTE_VALUE"}, 100, "USD"}, "Forecasted > $35.00"},
		{"thresholdText", []any{map[string]any{"type": "ACTUAL", "comparison": "GREATER_THAN", "threshold": 90, "thresholdType": "PERCENTAGE"}, 1000000, "tokens"}, "Actual > 90% (900,000 tokens)"},
		{"periodText", []any{"2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"}, "Dec 1 – Dec 31, 2026"},
		{"periodText", []any{"2026-12-15T00:00:00Z", "2027-01-15T00:00:00Z"}, "Dec 15, 2026 – Jan 14, 2027"},
		{"periodText", []any{"2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"}, "Dec 7, 2026"},
		{"periodText", []any{nil, "2026-12-08T00:00:00Z"}, "—"},
		{"stateBadge", []any{"ALARM"}, map[string]any{"label": "Alarm", "cls": "err"}},
		{"stateBadge", []any{"INSUFFICIENT_DATA"}, map[string]any{"label": "Insufficient data", "cls": "nodata"}},
		{"stateBadge", []any{"OK"}, map[string]any{"label": "OK", "cls": "ok"}},
		{"alarmCondition", []any{map[string]any{"comparison": "GreaterThanThreshold", "threshold": 10, "periodSeconds": 60, "evaluationPeriods": 3, "datapointsToAlarm": 2}},
			"> 10 for 2 of 3 datapoints of 1 minute"},
		{"alarmCondition", []any{map[string]any{"comparison": "LessThanLowerOrGreaterThanUpperThreshold", "threshold": nil, "anomalyBand": 2, "periodSeconds": 300, "evaluationPeriods": 1, "datapointsToAlarm": 1}},
			"outside the band (2 standard deviations) for 1 of 1 datapoint of 5 minutes"},
		{"alarmCondition", []any{map[string]any{"comparison": "LessThanOrEqualToThreshold", "threshold": 1500, "periodSeconds": 3600, "evaluationPeriods": 2}},
			"≤ 1.5k for 2 of 2 datapoints of 1 hour"},
		{"isAnomalyAlarm", []any{map[string]any{"comparison": "GreaterThanUpperThreshold", "threshold": nil, "anomalyBand": 3}}, true},
		{"isAnomalyAlarm", []any{map[string]any{"comparison": "GreaterThanThreshold", "threshold": 10, "anomalyBand": nil}}, false},
		{"auditPrincipal", []any{map[string]any{"userIdentity": map[string]any{"arn": "arn:aws:iam::1:user/alice", "userName": "alice"}}}, "alice"},
		{"auditPrincipal", []any{map[string]any{"userIdentity": map[string]any{"arn": "arn:aws:sts::1:assumed-role/ops/carol"}}}, "carol"},
		{"auditPrincipal", []any{map[string]any{}}, "—"},
		{"auditOutcome", []any{map[string]any{"errorCode": "AccessDenied"}}, "AccessDenied"},
		{"auditOutcome", []any{map[string]any{}}, "OK"},
		{"isAccessDenied", []any{map[string]any{"errorCode": "AccessDenied"}}, true},
		{"isAccessDenied", []any{map[string]any{"errorCode": "AccessDeniedException"}}, true},
		{"isAccessDenied", []any{map[string]any{"errorCode": "ThrottlingException"}}, false},
		{"isAccessDenied", []any{map[string]any{}}, false},
		{"notPermittedText", []any{"budgets"}, "Your principal may not read budgets (budgets:ViewBudget)"},
		{"notPermittedText", []any{"quotas"}, "Your principal may not read quotas (servicequotas:GetServiceQuota)"},
		{"notPermittedText", []any{"audit"}, "Your principal may not read the audit trail (cloudtrail:LookupEvents)"},
	}
	// $today and $month count from the viewer's midnight and first of the
	// month: 1:02:03 on 15 February is 3723 s into the day, 14 days more
	// into the month.
	const feb15 = `new Date(2026, 1, 15, 1, 2, 3).getTime() / 1000`
	cases = append(cases,
		call{"expandQuery", []any{"a[$today] b[$month] c[$range]", 300, js(feb15)}, "a[3723s] b[1213323s] c[5m]"},
		call{"expandQuery", []any{"a[$today]", 300, js(`new Date(2026, 1, 1, 0, 0, 0).getTime() / 1000`)}, "a[1s]"},
	)
	for _, c := range cases {
		args := argList(c.args)
		expr := `import('/ui/format.js').then((m) => m.` + c.fn + `(` + args + `))`
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		got, err := chromedp.Run(tctx, chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Errorf("%s(%s): %v", c.fn, args, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s(%s) = %#v, want %#v", c.fn, args, got, c.want)
		}
	}
}

// anyQueryAPI answers every PromQL query with plausible data shaped by the
// query (a series per model_id or principal when it groups by one; NaN
// cost for the unpriced model), so the real default dashboard can be drawn
// without canning each of its queries.
func anyQueryAPI(d *dashboard.Dashboard) http.Handler {
	models := []string{fixtureModel, "amazon.nova-lite-v1:0", "mistral.mistral-7b-instruct-v0:2"}
	byRE := regexp.MustCompile(`by \(([^)]*)\)`)
	answer := func(q string) []cannedSeries {
		base := 120.0
		switch {
		case strings.Contains(q, "cost_dollars"):
			base = 0.37
		case strings.Contains(q, "_seconds"):
			base = 0.42
		case strings.HasPrefix(q, "100 *"):
			base = 1.8
		case strings.Contains(q, "tokens"):
			base = 5300
		case strings.HasPrefix(q, "count("):
			return []cannedSeries{{labels: map[string]string{}, value: 1}}
		}
		label := ""
		if m := byRE.FindStringSubmatch(q); m != nil {
			for _, l := range strings.Split(m[1], ",") {
				if l = strings.TrimSpace(l); l == "model_id" || l == "principal" {
					label = l
				}
			}
		}
		switch label {
		case "model_id":
			var out []cannedSeries
			for i, id := range models {
				v := base / float64(i+1)
				if strings.Contains(q, "cost_dollars") && strings.HasPrefix(id, "mistral.") {
					v = math.NaN()
				}
				out = append(out, cannedSeries{labels: map[string]string{"model_id": id}, value: v})
			}
			return out
		case "principal":
			return []cannedSeries{
				{labels: map[string]string{"principal": "alice"}, value: base},
				{labels: map[string]string{"principal": "anonymous"}, value: base / 7},
			}
		}
		return []cannedSeries{{labels: map[string]string{}, value: base}}
	}
	f := &fakeAPI{queries: map[string]canned{}, firstSample: time.Now().Add(-30 * 24 * time.Hour)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/dashboard", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, d) })
	mux.HandleFunc("GET /api/history", f.history)
	mux.HandleFunc("GET /api/invocations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"logging": true, "invocations": fixtureInvocations()})
	})
	for _, ranged := range []bool{false, true} {
		path := "/api/v1/query"
		if ranged {
			path += "_range"
		}
		inner := f.prom(ranged)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			q := r.FormValue("query")
			norm, _ := normalizeQuery(q)
			f.mu.Lock()
			f.queries[norm] = canned{series: answer(q)}
			f.mu.Unlock()
			inner(w, r)
		})
	}
	return mux
}

// TestBrowserDefaultDashboard draws every page of the dashboard that
// internal/dashboard builds by default: every widget must render (no
// inline errors, charts drawn, no console errors) and fit 1280 pixels.
func TestBrowserDefaultDashboard(t *testing.T) {
	d, err := dashboard.Build(dashboard.Spec{}, []dashboard.ModelInfo{
		{ID: fixtureModel, Name: "Claude 3 Haiku", Priced: true, InputPrice: 2.5e-7, OutputPrice: 1.25e-6},
		{ID: "mistral.mistral-7b-instruct-v0:2", Name: "Mistral 7B Instruct"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h := Handler(Options{})
	mux.Handle("GET /{$}", h)
	mux.Handle("GET /ui/", h)
	mux.Handle("/api/", anyQueryAPI(d))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := newBrowser(t)
	console := &webuitest.ConsoleLog{}
	console.Watch(ctx)
	dir := screenshotDir(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if err := waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Sections {
		hash := "#/model/" + s.ID
		if s.ID == "cost" {
			hash = "#/cost"
		}
		if err := goTo(ctx, hash); err != nil {
			t.Fatalf("%s: %v", hash, err)
		}
		page := readPage(t, ctx)
		screenshot(t, ctx, dir, "default-"+s.ID)
		webuitest.CheckWidgetErrors(t, hash, page.Errors, nil)
		webuitest.CheckFits(t, hash, page)
		graphs := 0
		for _, w := range s.Widgets {
			if w.Kind == dashboard.KindGraph {
				graphs++
			}
		}
		webuitest.CheckCharts(t, hash, page, graphs)
		if len(page.Empty) > 0 {
			t.Errorf("%s: graphs without data: %v", hash, page.Empty)
		}
		if s.ID == "cost" && !strings.Contains(page.Text, "unpriced") {
			t.Errorf("cost page: the unpriced model is not shown as unpriced:\n%s", page.Text)
		}
	}
	if errs, err := console.Errors(ctx); err != nil {
		t.Errorf("reading the console: %v", err)
	} else if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// js is a JavaScript expression among the arguments of a format.js call.
type js string

// argList renders call arguments as JavaScript: js verbatim, the rest as
// JSON.
func argList(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if e, ok := a.(js); ok {
			parts[i] = string(e)
			continue
		}
		b, _ := json.Marshal(a)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}
