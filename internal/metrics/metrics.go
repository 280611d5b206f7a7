package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// Legacy reports whether a catalog model is in its legacy lifecycle state
// (for bedrock_legacy_model_invocations_total).
type Legacy func(modelID string) bool

// Options configure a Recorder.
type Options struct {
	// Legacy tells legacy models apart; nil means none is.
	Legacy Legacy
	// LatencyWindow is the sliding window of the latency minimum and
	// maximum gauges; 0 means DefaultLatencyWindow. It must be longer than
	// the longest gap between two reads of the metrics (the history's
	// sampling interval, a scraper's scrape interval) for every call to be
	// seen by one of them.
	LatencyWindow time.Duration
	// Now is the clock of the latency window; nil means time.Now.
	Now func() time.Time
}

// DefaultLatencyWindow is Options.LatencyWindow's default: twice the
// longest scrape interval in common use (one minute).
const DefaultLatencyWindow = 2 * time.Minute

// Recorder records the metrics of every Invocation. It is safe for
// concurrent use.
type Recorder struct {
	legacy Legacy

	invocations  *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	clientErrors *prometheus.CounterVec
	serverErrors *prometheus.CounterVec
	throttles    *prometheus.CounterVec
	inputTokens  *prometheus.CounterVec
	outputTokens *prometheus.CounterVec
	cacheRead    *prometheus.CounterVec
	cacheWrite   *prometheus.CounterVec
	cacheWrite1h *prometheus.CounterVec
	tiers        *prometheus.CounterVec
	outputImages *prometheus.CounterVec
	ttft         *prometheus.HistogramVec
	legacyCalls  *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	fallbacks    *prometheus.CounterVec

	// OpenTelemetry GenAI semantic-convention instruments, in Prometheus's
	// translation of their names (dots become underscores, units a suffix).
	genaiTokens   *prometheus.HistogramVec
	genaiDuration *prometheus.HistogramVec
	genaiTTFT     *prometheus.HistogramVec
	genaiTPOT     *prometheus.HistogramVec

	// models holds the series of each model and operation seen so far
	// (key → *modelSeries): one lookup per call instead of one per metric,
	// and the place where a model's outcome series are created together.
	models  sync.Map
	extrema *extremaCollector

	// resumable creates a series of a family again after a restart (see
	// Resume).
	resumable Resumable
}

// OpenTelemetry GenAI attribute names, as Prometheus labels.
const (
	labelGenAIOp       = "gen_ai_operation_name"
	labelGenAIProvider = "gen_ai_provider_name"
	labelGenAIModel    = "gen_ai_request_model"
	labelGenAITokType  = "gen_ai_token_type"
	labelErrorType     = "error_type"
)

// tokenBuckets are the OpenTelemetry GenAI semantic conventions' advised
// boundaries for gen_ai.client.token.usage.
var tokenBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}

// Label names.
const (
	labelModel    = "model_id"
	labelOp       = "operation"
	labelProvider = "provider"
	labelResult   = "result"
	labelServed   = "served_model_id"
	labelTier     = "service_tier"
	labelLatency  = "latency"
)

// Names of the latency extrema gauges.
const (
	MetricLatencyMin = "modelwatch_invocation_latency_min_seconds"
	MetricLatencyMax = "modelwatch_invocation_latency_max_seconds"
)

// latencyBuckets span fast embeddings to long generations, in seconds.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160}

// New registers the metrics with reg.
func New(reg prometheus.Registerer, opts Options) *Recorder {
	byModel := []string{labelModel, labelOp}
	resumable := Resumable{}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(c)
		resumable.Counter(name, c)
		return c
	}
	histogramOf := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
		reg.MustRegister(h)
		resumable.Histogram(name, h)
		return h
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return histogramOf(name, help, buckets, byModel...)
	}
	legacy := opts.Legacy
	if legacy == nil {
		legacy = func(string) bool { return false }
	}
	window := opts.LatencyWindow
	if window <= 0 {
		window = DefaultLatencyWindow
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	r := &Recorder{
		legacy:       legacy,
		invocations:  counter("bedrock_invocations_total", "Requests to Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream (and the OpenAI-compatible operations) that were not throttled (Bedrock's Invocations).", byModel...),
		latency:      histogram("bedrock_invocation_latency_seconds", "Time from the request's arrival to the last byte of the response (Bedrock's InvocationLatency).", latencyBuckets),
		clientErrors: counter("bedrock_invocation_client_errors_total", "Calls that failed with a client error other than throttling (Bedrock's InvocationClientErrors).", byModel...),
		serverErrors: counter("bedrock_invocation_server_errors_total", "Calls that failed with a server error (Bedrock's InvocationServerErrors).", byModel...),
		throttles:    counter("bedrock_invocation_throttles_total", "Calls that were throttled (Bedrock's InvocationThrottles).", byModel...),
		inputTokens:  counter("bedrock_input_tokens_total", "Input tokens, as reported by the model (Bedrock's InputTokenCount).", byModel...),
		outputTokens: counter("bedrock_output_tokens_total", "Output tokens, as reported by the model (Bedrock's OutputTokenCount).", byModel...),
		cacheRead:    counter("bedrock_cache_read_input_tokens_total", "Input tokens read from the prompt cache.", byModel...),
		cacheWrite:   counter("bedrock_cache_write_input_tokens_total", "Input tokens written to the prompt cache, whatever their TTL.", byModel...),
		cacheWrite1h: counter("modelwatch_cache_write_1h_input_tokens_total", "The part of bedrock_cache_write_input_tokens_total written with a one-hour TTL (priced higher than the five-minute one).", byModel...),
		tiers: counter("modelwatch_service_tier_invocations_total",
			"Calls counted in bedrock_invocations_total by the service tier (priority, default, flex, reserved) and latency mode (standard, optimized) that served them; a call that named neither is default and standard, a value outside Bedrock's enums is other.",
			labelModel, labelOp, labelTier, labelLatency),
		outputImages: counter("bedrock_output_images_total", "Images generated (Bedrock's OutputImageCount).", byModel...),
		ttft:         histogram("bedrock_time_to_first_token_seconds", "Time from the request's arrival to the first generated content of a streamed response (Bedrock's TimeToFirstToken).", latencyBuckets),
		legacyCalls:  counter("bedrock_legacy_model_invocations_total", "Calls to models in their legacy lifecycle state (Bedrock's LegacyModelInvocations).", byModel...),
		attempts: counter("modelwatch_upstream_attempts_total",
			"Calls made to upstream providers, retries and fallbacks included, by the catalog model tried, its provider and the result (success or the exception name).",
			labelModel, labelProvider, labelResult),
		fallbacks: counter("modelwatch_fallbacks_total", "Calls answered by a fallback model rather than the model requested.", labelModel, labelServed),
		genaiTokens: histogramOf("gen_ai_client_token_usage", "OpenTelemetry gen_ai.client.token.usage: tokens per call by gen_ai.token.type (input, output).",
			tokenBuckets, labelGenAIOp, labelGenAIProvider, labelGenAIModel, labelGenAITokType),
		genaiDuration: histogramOf("gen_ai_server_request_duration_seconds", "OpenTelemetry gen_ai.server.request.duration.",
			latencyBuckets, labelGenAIOp, labelGenAIProvider, labelGenAIModel, labelErrorType),
		genaiTTFT: histogramOf("gen_ai_server_time_to_first_token_seconds", "OpenTelemetry gen_ai.server.time_to_first_token (streamed calls).",
			latencyBuckets, labelGenAIOp, labelGenAIProvider, labelGenAIModel),
		genaiTPOT: histogramOf("gen_ai_server_time_per_output_token_seconds", "OpenTelemetry gen_ai.server.time_per_output_token: generation time after the first token, per output token after the first (streamed calls).",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}, labelGenAIOp, labelGenAIProvider, labelGenAIModel),
		resumable: resumable,
	}
	r.extrema = newExtremaCollector(&r.models, window, now)
	reg.MustRegister(r.extrema)
	// The outcome series of a model and operation are created together
	// (see series), so resuming any of them resumes them all.
	for _, name := range []string{"bedrock_invocations_total", "bedrock_invocation_latency_seconds", "bedrock_invocation_client_errors_total",
		"bedrock_invocation_server_errors_total", "bedrock_invocation_throttles_total", "bedrock_input_tokens_total", "bedrock_output_tokens_total"} {
		resumable[name] = func(l prometheus.Labels) error {
			if len(l) != 2 || l[labelModel] == "" || l[labelOp] == "" {
				return fmt.Errorf("%s: labels %v are not model_id and operation", name, l)
			}
			r.series(l[labelModel], invocation.Operation(l[labelOp]))
			return nil
		}
	}
	return r
}

// modelKey identifies the series of one model and operation.
type modelKey struct{ model, op string }

// modelSeries are the series every call of one model and operation
// touches. They are created together on the first call (or resumed after a
// restart), so that a model that has had a call has all of its outcome
// counters — invocations, client and server errors, throttles, tokens —
// and its latency histogram, at 0 where nothing happened: a rate() alert
// or a dashboard sees 0, not an absent series. Streaming operations also
// get their time-to-first-token histogram.
type modelSeries struct {
	invocations, clientErrors, serverErrors, throttles prometheus.Counter
	inputTokens, outputTokens                          prometheus.Counter
	latency                                            prometheus.Observer
	// extremes are the latency minimum and maximum of the recent calls.
	extremes extremes
}

// streaming reports whether op always streams its answer.
func streaming(op invocation.Operation) bool {
	return op == invocation.ConverseStream || op == invocation.InvokeModelWithResponseStream
}

// series returns the series of model and op, creating them on first use.
func (r *Recorder) series(model string, op invocation.Operation) *modelSeries {
	k := modelKey{model, string(op)}
	if v, ok := r.models.Load(k); ok {
		return v.(*modelSeries)
	}
	m := &modelSeries{
		invocations:  r.invocations.WithLabelValues(k.model, k.op),
		clientErrors: r.clientErrors.WithLabelValues(k.model, k.op),
		serverErrors: r.serverErrors.WithLabelValues(k.model, k.op),
		throttles:    r.throttles.WithLabelValues(k.model, k.op),
		inputTokens:  r.inputTokens.WithLabelValues(k.model, k.op),
		outputTokens: r.outputTokens.WithLabelValues(k.model, k.op),
		latency:      r.latency.WithLabelValues(k.model, k.op),
	}
	if streaming(op) {
		r.ttft.WithLabelValues(k.model, k.op)
	}
	v, _ := r.models.LoadOrStore(k, m)
	return v.(*modelSeries)
}

// Resume creates again, at zero, a series that the previous run of the
// server had written (see Resumable.Resume); it reports whether the series
// is one of the Recorder's. The outcome series of a model and operation
// come back together, as on a first call.
func (r *Recorder) Resume(series map[string]string) bool {
	return r.resumable.Resume(series)
}

// Resumable maps the names of metric families to functions that create
// one of their series, so that a restarted server can create again the
// series its previous run had written. A counter that its new run has not
// touched yet then goes on in the metric history (reset to zero, as
// PromQL expects of a restarted target) instead of ending there, and
// increase() over a range that covers both runs counts each run's calls
// exactly, where an ended series would be extrapolated past its last
// sample.
type Resumable map[string]func(prometheus.Labels) error

// Counter makes the series of the counter family name resumable.
func (f Resumable) Counter(name string, v *prometheus.CounterVec) {
	f[name] = func(l prometheus.Labels) error { _, err := v.GetMetricWith(l); return err }
}

// Histogram makes the series of the histogram family name resumable.
func (f Resumable) Histogram(name string, v *prometheus.HistogramVec) {
	f[name] = func(l prometheus.Labels) error { _, err := v.GetMetricWith(l); return err }
}

// Resume creates the series named by series, as the metric history holds
// it: its labels with the metric name under "__name__" (a histogram's
// series named <family>_count; its _bucket and _sum series are skipped,
// they come with it). It reports whether the series belongs to one of the
// families and was created.
func (f Resumable) Resume(series map[string]string) bool {
	name := series["__name__"]
	create, ok := f[name]
	if !ok {
		base, found := strings.CutSuffix(name, "_count")
		if create, ok = f[base]; !found || !ok {
			return false
		}
	}
	l := prometheus.Labels{}
	for k, v := range series {
		if k != "__name__" {
			l[k] = v
		}
	}
	return create(l) == nil
}

// genaiOperation is gen_ai.operation.name for an operation.
func genaiOperation(op invocation.Operation) string {
	if op == invocation.Embeddings {
		return "embeddings"
	}
	return "chat"
}

// genaiProvider is gen_ai.provider.name: the configured provider that
// answered (name it openai, anthropic or aws.bedrock in the configuration
// to match the conventions' well-known values).
func genaiProvider(inv *invocation.Invocation) string {
	if inv.Provider == "" {
		return "unknown"
	}
	return inv.Provider
}

// Observe implements invocation.Observer.
func (r *Recorder) Observe(inv *invocation.Invocation) {
	for i := range inv.Attempts {
		a := &inv.Attempts[i]
		result := a.ErrorCode
		if result == "" {
			result = "success"
		}
		r.attempts.WithLabelValues(a.ModelID, a.Provider, result).Inc()
	}
	model := inv.CatalogModelID
	// Bedrock's runtime metrics do not cover asynchronous invocations.
	if model == "" || inv.Operation == invocation.StartAsyncInvoke {
		return
	}
	op := string(inv.Operation)
	if inv.ServedModelID != "" && inv.ServedModelID != model && inv.ErrorCode == "" {
		r.fallbacks.WithLabelValues(model, inv.ServedModelID).Inc()
	}
	ms := r.series(model, inv.Operation)
	switch inv.Outcome() {
	case invocation.Throttled:
		ms.throttles.Inc()
		return
	case invocation.ClientError:
		ms.clientErrors.Inc()
	case invocation.ServerError:
		ms.serverErrors.Inc()
	}
	ms.invocations.Inc()
	r.tiers.WithLabelValues(model, op, bounded(inv.ServiceTier, invocation.TierDefault, invocation.ServiceTiers),
		bounded(inv.PerformanceLatency, invocation.LatencyStandard, invocation.LatencyModes)).Inc()
	latency := inv.Latency().Seconds()
	ms.latency.Observe(latency)
	ms.extremes.observe(latency, r.extrema.slot(r.extrema.now()))
	if r.legacy(model) {
		r.legacyCalls.WithLabelValues(model, op).Inc()
	}
	u := inv.Usage
	add := func(c *prometheus.CounterVec, n int) {
		if n > 0 {
			c.WithLabelValues(model, op).Add(float64(n))
		}
	}
	if u.InputTokens > 0 {
		ms.inputTokens.Add(float64(u.InputTokens))
	}
	if u.OutputTokens > 0 {
		ms.outputTokens.Add(float64(u.OutputTokens))
	}
	add(r.cacheRead, u.CacheReadInputTokens)
	add(r.cacheWrite, u.CacheWriteInputTokens)
	add(r.cacheWrite1h, u.CacheWrite1hInputTokens)
	add(r.outputImages, u.OutputImages)
	if inv.Streamed && !inv.FirstByte.IsZero() {
		r.ttft.WithLabelValues(model, op).Observe(inv.TimeToFirstByte().Seconds())
	}
	r.observeGenAI(inv, model)
}

// bounded keeps a label to Bedrock's enum: "" is the default value, and
// anything outside the enum (a provider reporting a tier newer than this
// code) is "other", so the label set stays small whatever upstreams say.
func bounded(v, empty string, enum []string) string {
	switch {
	case v == "":
		return empty
	case slices.Contains(enum, v):
		return v
	}
	return "other"
}

// observeGenAI records the OpenTelemetry GenAI instruments.
func (r *Recorder) observeGenAI(inv *invocation.Invocation, model string) {
	gop, prov := genaiOperation(inv.Operation), genaiProvider(inv)
	r.genaiDuration.WithLabelValues(gop, prov, model, inv.ErrorCode).Observe(inv.Latency().Seconds())
	if inv.ErrorCode != "" {
		return
	}
	u := inv.Usage
	r.genaiTokens.WithLabelValues(gop, prov, model, "input").Observe(float64(u.InputTokens))
	if gop == "chat" {
		r.genaiTokens.WithLabelValues(gop, prov, model, "output").Observe(float64(u.OutputTokens))
	}
	if inv.Streamed && !inv.FirstByte.IsZero() {
		r.genaiTTFT.WithLabelValues(gop, prov, model).Observe(inv.TimeToFirstByte().Seconds())
		if u.OutputTokens > 1 {
			r.genaiTPOT.WithLabelValues(gop, prov, model).Observe(inv.End.Sub(inv.FirstByte).Seconds() / float64(u.OutputTokens-1))
		}
	}
}
