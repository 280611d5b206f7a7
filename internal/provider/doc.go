// Package provider defines the interface between the gateway core and the
// model backends ("providers": the built-in simulator, OpenAI-compatible
// servers, Anthropic, Bedrock itself).
//
// Providers speak the provider-neutral forms: converse.Request and
// converse.Response for chat, converse.StreamEvent for streamed chat (in
// Bedrock's ConverseStream order, the true usage in the final metadata
// event), EmbedRequest and EmbedResponse for embeddings. Translation between
// those forms and each front door's wire format happens outside the
// provider, so a provider is written once and serves every API.
//
// A provider that can take Bedrock's native InvokeModel bodies as they are
// (the Bedrock provider) also implements NativeInvoker, and one whose
// upstream speaks Anthropic's Messages API (the Anthropic provider)
// MessagesInvoker, and one whose upstream speaks OpenAI's chat completions
// (the OpenAI provider) ChatCompletionsInvoker, so those bodies pass
// through without being translated and re-encoded; the gateway decides per
// target (gateway.Passer). A stream that can tell whether its next event
// is already in hand implements Buffered, so that the gateway writes what
// one upstream read produced with one write and one flush.
//
// Each provider package owns its configuration (config.go: Config, Validate,
// Provision); package providers registers the types in one place.
// settings.go holds the checks their settings share.
//
// Failures are *apierror.Error values with Bedrock's exception names;
// UpstreamError, TransportError and StreamError give every upstream adapter
// the same mapping of HTTP statuses, network failures and mid-stream errors.
// A failure before the first stream event is returned by ConverseStream
// itself, so that the gateway can still retry it or fall back.
package provider
