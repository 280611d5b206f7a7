package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/chromedp/chromedp"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/modelwatch/modelwatch/internal/cmdtest"
	"github.com/modelwatch/modelwatch/internal/webui/webuitest"
)

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
// from unmodified clients with their default settings (the AWS SDK for Go,
// which retries throttles, and openai-go, also streaming), then the
// dashboard in headless
// Chromium at once: every tile, the model table and a model's page show
// the exact numbers /metrics holds, and so do /api/v1/query by GET and by
// POST; the charts have points. Then `serve` restarts on the same data
// directory (counters back at zero), a few more calls come, and the page
// shows the totals over both runs. Screenshots go to
// $MODELWATCH_SCREENSHOTS (docs/dashboard-overview.png and
// docs/dashboard-model.png are taken from this test).
func TestDashboardTellsTheTruthFromTheFirstCall(t *testing.T) {
	browser := webuitest.NewBrowser(t) // skips without Chromium (fails under CI)
	console := &webuitest.ConsoleLog{}
	console.Watch(browser)
	bin := cmdtest.Binary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "modelwatch.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, firstCallConfig, filepath.Join(dir, "data")), 0o600); err != nil {
		t.Fatal(err)
	}
	shots := webuitest.ScreenshotDir(t)
	ctx := context.Background()

	// Run 1.
	srv := startServe(t, bin, cfg)
	traffic := newTraffic(t, srv.url)
	for i := range 23 {
		traffic.converse(ctx, novaLite, fmt.Sprintf("What does modelwatch record, question %d?", i))
	}
	for i := range 7 {
		traffic.chat(ctx, haiku, fmt.Sprintf("Summarise invocation logging in one line, take %d.", i))
	}
	for range 3 {
		traffic.invalid(ctx, novaLite)
	}
	traffic.throttle(ctx, throttled)
	traffic.stream(ctx, novaLite, "Stream me a short answer.")
	lastCall := time.Now()
	run1 := scrape(t, srv.url)
	throttles := traffic.throttleAttempts.Load()
	if throttles != 3 {
		t.Errorf("the SDK's default retryer made %d attempts at a throttled call, want 3", throttles)
	}
	want := expectation{
		// The throttled model has had a call: its counters exist, at 0.
		invocations:  map[string]float64{novaLite: 23 + 3 + 1, haiku: 7, throttled: 0},
		clientErrors: map[string]float64{novaLite: 3, haiku: 0, throttled: 0},
		throttles:    map[string]float64{novaLite: 0, haiku: 0, throttled: float64(throttles)},
		inputTokens:  traffic.inputTokens, outputTokens: traffic.outputTokens,
	}
	want.check(t, "run 1: /metrics", run1)

	page := openDashboard(t, browser, srv.url)
	t.Logf("overview read %s after the last call finished", time.Since(lastCall).Round(time.Millisecond))
	checkOverview(t, "run 1", page, want, run1)
	webuitest.Screenshot(t, browser, shots, "first-call-overview")
	checkCost(t, "run 1", browser, run1)
	checkModelPage(t, "run 1", browser, novaLite, want, run1)
	webuitest.Screenshot(t, browser, shots, "first-call-model")
	checkQueryAPI(t, "run 1", srv.url, want)

	// Run 2: a restart (counters at zero), then two more calls of one model.
	srv.stop(t)
	srv = startServe(t, bin, cfg)
	traffic = newTraffic(t, srv.url)
	for i := range 2 {
		traffic.converse(ctx, novaLite, fmt.Sprintf("After the restart, question %d", i))
	}
	run2 := scrape(t, srv.url)
	// This run's own counters: the models not called again are there, at 0.
	expectation{
		invocations:  map[string]float64{novaLite: 2, haiku: 0, throttled: 0},
		clientErrors: map[string]float64{novaLite: 0, haiku: 0, throttled: 0},
		throttles:    map[string]float64{novaLite: 0, haiku: 0, throttled: 0},
		inputTokens:  traffic.inputTokens, outputTokens: traffic.outputTokens,
	}.check(t, "run 2: /metrics", run2)
	want.invocations[novaLite] += 2
	want.inputTokens += traffic.inputTokens
	want.outputTokens += traffic.outputTokens
	both := run1.merge(run2)
	page = openDashboard(t, browser, srv.url)
	checkOverview(t, "after the restart", page, want, both)
	webuitest.Screenshot(t, browser, shots, "after-restart-overview")
	checkCost(t, "after the restart", browser, both)
	checkModelPage(t, "after the restart", browser, novaLite, want, both)
	checkQueryAPI(t, "after the restart", srv.url, want)

	if errs, err := console.Errors(browser); err != nil {
		t.Errorf("reading the console: %v", err)
	} else if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// serveProcess is a `modelwatch serve` child process.
type serveProcess struct {
	cmd  *exec.Cmd
	url  string
	done chan error
	log  strings.Builder
	mu   sync.Mutex
}

var servingURL = regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)

// startServe runs `modelwatch serve --config cfg` and waits until it serves.
func startServe(t *testing.T, bin, cfg string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, "serve", "--config", cfg), done: make(chan error, 1)}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(t) })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := servingURL.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		p.done <- p.cmd.Wait()
	}()
	select {
	case p.url = <-found:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("serve exited before serving (%v):\n%s", err, p.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not serve within 30 s:\n%s", p.logText())
	}
	return p
}

func (p *serveProcess) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends SIGTERM, as a user's Ctrl-C or a service manager does, and
// waits for the process to exit (once).
func (p *serveProcess) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM:\n%s", err, p.logText())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("serve did not stop within 30 s of SIGTERM:\n%s", p.logText())
	}
}

// traffic makes calls with unmodified clients and adds up the tokens their
// answers report.
type traffic struct {
	t                         *testing.T
	bedrock                   *bedrockruntime.Client
	openai                    oai.Client
	inputTokens, outputTokens float64
	throttleAttempts          atomic.Int64
}

// countingTransport counts the requests sent for the throttled model.
type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, throttled) {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func newTraffic(t *testing.T, base string) *traffic {
	tr := &traffic{t: t}
	// The SDK as a user configures it: region, credentials, endpoint; its
	// default retryer and transport (wrapped only to count requests).
	tr.bedrock = bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(base),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   &http.Client{Transport: countingTransport{&tr.throttleAttempts}},
	})
	tr.openai = oai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("unused-on-loopback"))
	return tr
}

func (tr *traffic) converse(ctx context.Context, model, question string) {
	tr.t.Helper()
	out, err := tr.bedrock.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text(question)}}}})
	if err != nil {
		tr.t.Fatalf("Converse %s: %v", model, err)
	}
	tr.inputTokens += float64(*out.Usage.InputTokens)
	tr.outputTokens += float64(*out.Usage.OutputTokens)
}

func (tr *traffic) chat(ctx context.Context, model, question string) {
	tr.t.Helper()
	out, err := tr.openai.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{Model: model,
		Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(question)}})
	if err != nil {
		tr.t.Fatalf("chat completion %s: %v", model, err)
	}
	tr.inputTokens += float64(out.Usage.PromptTokens)
	tr.outputTokens += float64(out.Usage.CompletionTokens)
}

// invalid sends a conversation that does not start with a user message:
// a ValidationException, a client error of the model.
func (tr *traffic) invalid(ctx context.Context, model string) {
	tr.t.Helper()
	_, err := tr.bedrock.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model),
		Messages: []types.Message{{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{text("I speak first.")}}}})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		tr.t.Fatalf("an invalid conversation: %v, want a ValidationException", err)
	}
}

func (tr *traffic) throttle(ctx context.Context, model string) {
	tr.t.Helper()
	_, err := tr.bedrock.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(model),
		Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("Am I throttled?")}}}})
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") {
		tr.t.Fatalf("a call of %s: %v, want a ThrottlingException", model, err)
	}
}

// stream is a streamed chat completion with usage in its last chunk. (The
// Go SDK's ConverseStream reader now and then closes its own connection
// under load — see sdkClosedItsConnection — which would make the test's
// counts depend on a client fault; openai-go reads SSE with plain
// net/http.)
func (tr *traffic) stream(ctx context.Context, model, question string) {
	tr.t.Helper()
	st := tr.openai.Chat.Completions.NewStreaming(ctx, oai.ChatCompletionNewParams{Model: model,
		Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage(question)},
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}})
	defer st.Close()
	chunks := 0
	for st.Next() {
		chunks++
		if u := st.Current().Usage; u.TotalTokens > 0 {
			tr.inputTokens += float64(u.PromptTokens)
			tr.outputTokens += float64(u.CompletionTokens)
		}
	}
	if err := st.Err(); err != nil || chunks < 2 {
		tr.t.Fatalf("streamed chat completion %s: %d chunks, %v", model, chunks, err)
	}
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

// rawValuesJS reads each value tile's number as the page holds it (the
// tile's title attribute is the unrounded value).
const rawValuesJS = `(() => {
  const out = {};
  for (const w of document.querySelectorAll('#main .widget[data-kind="value"]')) {
    const v = w.querySelector('.value');
    if (v && v.getAttribute('title') !== null) out[w.dataset.title] = v.getAttribute('title');
  }
  return out;
})()`

// dashboardPage is what one page shows: the checks' state and the tiles'
// unrounded numbers.
type dashboardPage struct {
	webuitest.PageState
	raw map[string]float64
}

func readDashboard(t *testing.T, ctx context.Context) dashboardPage {
	t.Helper()
	p := dashboardPage{PageState: webuitest.ReadPage(t, ctx), raw: map[string]float64{}}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](rawValuesJS))
	if err != nil {
		t.Fatal(err)
	}
	for title, v := range raw {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("tile %q holds %q", title, v)
		}
		p.raw[title] = f
	}
	return p
}

func openDashboard(t *testing.T, ctx context.Context, base string) dashboardPage {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	if err := webuitest.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return readDashboard(t, ctx)
}

// near is equality for sums of floats that PromQL may add in another order.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func checkTiles(t *testing.T, what string, p dashboardPage, exact map[string]float64, close map[string]float64) {
	t.Helper()
	for title, want := range exact {
		if got, ok := p.raw[title]; !ok || got != want {
			t.Errorf("%s: %q holds %v (shown %q), want exactly %v", what, title, got, p.Values[title], want)
		}
	}
	for title, want := range close {
		if got, ok := p.raw[title]; !ok || !near(got, want) {
			t.Errorf("%s: %q holds %v (shown %q), want %v", what, title, got, p.Values[title], want)
		}
	}
}

func checkOverview(t *testing.T, what string, p dashboardPage, e expectation, s metricsSnapshot) {
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
	cost := readDashboard(t, ctx)
	checkTiles(t, what+", cost", cost, nil, map[string]float64{"Cost in Period": s.total("modelwatch_cost_dollars_total", "")})
	webuitest.CheckWidgetErrors(t, what+", cost", cost.Errors, nil)
}

func checkModelPage(t *testing.T, what string, ctx context.Context, model string, e expectation, s metricsSnapshot) {
	t.Helper()
	section := "model-" + strings.NewReplacer(".", "-", ":", "-").Replace(model)
	if err := webuitest.GoTo(ctx, "#/model/"+section); err != nil {
		t.Fatal(err)
	}
	p := readDashboard(t, ctx)
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
		form := url.Values{"query": {q}}
		get, err := http.Get(base + "/api/v1/query?" + form.Encode())
		if err != nil {
			t.Fatal(err)
		}
		post, err := http.PostForm(base+"/api/v1/query", form)
		if err != nil {
			t.Fatal(err)
		}
		for method, resp := range map[string]*http.Response{"GET": get, "POST": post} {
			got := instantValue(t, resp)
			if got != want {
				t.Errorf("%s: %s %s = %v, want exactly %v", what, method, q, got, want)
			}
		}
	}
}

func instantValue(t *testing.T, resp *http.Response) float64 {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Status string
		Data   struct{ Result []struct{ Value [2]any } }
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Status != "success" || len(body.Data.Result) != 1 {
		t.Fatalf("query answer %s (%v)", b, err)
	}
	f, err := strconv.ParseFloat(fmt.Sprint(body.Data.Result[0].Value[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
