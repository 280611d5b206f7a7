// Package provider defines the interface between the gateway core and the
// model backends ("providers": the built-in simulator, OpenAI-compatible
// servers, Anthropic, Bedrock itself).
//
// Providers speak the provider-neutral forms: converse.Request and
// converse.Response for chat, EmbedRequest and EmbedResponse for embeddings.
// Translation between those forms and each front door's wire format happens
// outside the provider, so a provider is written once and serves every API.
package provider
