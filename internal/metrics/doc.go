// Package metrics turns finished invocations into Bedrock's runtime metric
// set (CloudWatch namespace AWS/Bedrock, dimension ModelId), exposed in
// Prometheus format under the names of the spec: bedrock_invocations_total,
// bedrock_invocation_latency_seconds, bedrock_input_tokens_total and so on,
// labelled by model_id (the catalog model the caller asked for, as Bedrock's
// ModelId dimension) and operation. It also counts every upstream attempt
// (retries and fallbacks included), which Bedrock has no metric for.
//
// The Recorder is an invocation.Observer: it reads the Invocation and never
// the request, and it does no I/O, so it is cheap on the serving goroutine:
// the series a call touches are looked up once per model and operation
// (not once per metric).
//
// No absent series for known outcomes: the first call of a model and
// operation creates all of its outcome series together — invocations,
// client errors, server errors, throttles, input and output tokens, the
// latency histogram, and for streaming operations the time-to-first-token
// histogram — at 0 where nothing happened, so rate() alerts and dashboards
// see 0, not nothing. Resume (and Resumable, which the cost recorder uses
// too) creates again, after a restart, the series the previous run had
// written (package history explains why).
//
// Latency extremes: a histogram keeps no exact minimum or maximum, so
// modelwatch_invocation_latency_min_seconds and _max_seconds are gauges of
// the lowest and highest latency among the calls of a sliding window
// (Options.LatencyWindow, two minutes by default, in 24 slots), absent
// while no call finished in it. Every call is in the window of every read
// within the window after it, so min_over_time and max_over_time over a
// range are the exact extremes of the range's calls as long as reads
// (history samples, scrapes) are closer together than the window; at the
// range's start they may also see calls of up to one window before it.
// Calls that failed before a model was resolved (bad signature, unknown
// model) have no model and are not counted per model, as on Bedrock.
//
// Prompt-cache tokens are counted for every call whose provider reports
// them, whichever front door and path it took (Converse, ConverseStream,
// InvokeModel translated or passed through, its stream, the OpenAI API):
// bedrock_cache_read_input_tokens_total, bedrock_cache_write_input_tokens_total
// (all TTLs) and modelwatch_cache_write_1h_input_tokens_total (the
// one-hour part). Service tiers are not a label of the Bedrock-named
// metrics, which keep Bedrock's ModelId-and-operation shape (CloudWatch
// shows tiers as separate "model-id+priority" series instead);
// modelwatch_service_tier_invocations_total counts calls by tier and
// latency mode, two labels held to Bedrock's enums (plus "other"), so the
// series stay bounded at a few per model.
package metrics
