package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelwatch/modelwatch/internal/invocation"
)

// Legacy reports whether a catalog model is in its legacy lifecycle state
// (for bedrock_legacy_model_invocations_total).
type Legacy func(modelID string) bool

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

// latencyBuckets span fast embeddings to long generations, in seconds.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160}

// New registers the metrics with reg. legacy may be nil.
func New(reg prometheus.Registerer, legacy Legacy) *Recorder {
	byModel := []string{labelModel, labelOp}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, byModel)
		reg.MustRegister(h)
		return h
	}
	if legacy == nil {
		legacy = func(string) bool { return false }
	}
	return &Recorder{
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
		genaiTokens: genai(reg, "gen_ai_client_token_usage", "OpenTelemetry gen_ai.client.token.usage: tokens per call by gen_ai.token.type (input, output).",
			tokenBuckets, labelGenAIOp, labelGenAIProvider, labelGenAIModel, labelGenAITokType),
		genaiDuration: genai(reg, "gen_ai_server_request_duration_seconds", "OpenTelemetry gen_ai.server.request.duration.",
			latencyBuckets, labelGenAIOp, labelGenAIProvider, labelGenAIModel, labelErrorType),
		genaiTTFT: genai(reg, "gen_ai_server_time_to_first_token_seconds", "OpenTelemetry gen_ai.server.time_to_first_token (streamed calls).",
			latencyBuckets, labelGenAIOp, labelGenAIProvider, labelGenAIModel),
		genaiTPOT: genai(reg, "gen_ai_server_time_per_output_token_seconds", "OpenTelemetry gen_ai.server.time_per_output_token: generation time after the first token, per output token after the first (streamed calls).",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}, labelGenAIOp, labelGenAIProvider, labelGenAIModel),
	}
}

func genai(reg prometheus.Registerer, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	reg.MustRegister(h)
	return h
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
	if model == "" {
		return
	}
	op := string(inv.Operation)
	if inv.ServedModelID != "" && inv.ServedModelID != model && inv.ErrorCode == "" {
		r.fallbacks.WithLabelValues(model, inv.ServedModelID).Inc()
	}
	switch inv.Outcome() {
	case invocation.Throttled:
		r.throttles.WithLabelValues(model, op).Inc()
		return
	case invocation.ClientError:
		r.clientErrors.WithLabelValues(model, op).Inc()
	case invocation.ServerError:
		r.serverErrors.WithLabelValues(model, op).Inc()
	}
	r.invocations.WithLabelValues(model, op).Inc()
	r.tiers.WithLabelValues(model, op, bounded(inv.ServiceTier, invocation.TierDefault, invocation.ServiceTiers),
		bounded(inv.PerformanceLatency, invocation.LatencyStandard, invocation.LatencyModes)).Inc()
	r.latency.WithLabelValues(model, op).Observe(inv.Latency().Seconds())
	if r.legacy(model) {
		r.legacyCalls.WithLabelValues(model, op).Inc()
	}
	u := inv.Usage
	add := func(c *prometheus.CounterVec, n int) {
		if n > 0 {
			c.WithLabelValues(model, op).Add(float64(n))
		}
	}
	add(r.inputTokens, u.InputTokens)
	add(r.outputTokens, u.OutputTokens)
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
