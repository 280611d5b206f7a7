// Package metrics turns finished invocations into Bedrock's runtime metric
// set (CloudWatch namespace AWS/Bedrock, dimension ModelId), exposed in
// Prometheus format under the names of the spec: bedrock_invocations_total,
// bedrock_invocation_latency_seconds, bedrock_input_tokens_total and so on,
// labelled by model_id (the catalog model the caller asked for, as Bedrock's
// ModelId dimension) and operation. It also counts every upstream attempt
// (retries and fallbacks included), which Bedrock has no metric for.
//
// The Recorder is an invocation.Observer: it reads the Invocation and never
// the request, and it does no I/O, so it is cheap on the serving goroutine.
// Calls that failed before a model was resolved (bad signature, unknown
// model) have no model and are not counted per model, as on Bedrock.
package metrics
