// Package family holds the native InvokeModel body formats of the Bedrock
// model families, their validation, and their translation to and from
// modelwatch's neutral forms (converse.Request/Response for chat,
// provider.EmbedRequest/EmbedResponse for embeddings).
//
// Sources, per family (one file each):
//
//   - anthropic.go: Anthropic Claude Messages API as Bedrock accepts it (Bedrock
//     user guide, "Anthropic Claude Messages API"; Anthropic API reference for
//     the model's own error wording; @anthropic-ai/sdk and
//     @anthropic-ai/bedrock-sdk 1.x for what the official SDK sends). The
//     accepted anthropic_version values are in anthropic_version.go, the
//     mapping between Converse's and Bedrock's native tool-use IDs in
//     anthropic_toolid.go.
//   - titantext.go: Amazon Titan Text (Bedrock user guide, "Amazon Titan Text
//     models").
//   - titanembed.go: Amazon Titan Text Embeddings G1 and V2 (Bedrock user guide,
//     "Amazon Titan Embeddings Text").
//   - nova.go: Amazon Nova understanding models (Amazon Nova user guide,
//     "Invoke API" request/response schema).
//   - llama.go: Meta Llama (Bedrock user guide, "Meta Llama models"; Meta's
//     Llama 3 prompt format for the chat template).
//   - mistral.go: Mistral AI text completion (Bedrock user guide, "Mistral AI
//     text completion"; Mistral's [INST] instruction format).
//
// Bedrock checks each native body against a JSON schema with the everit Java
// library before the model sees it; schema.go reproduces that check and its
// "Malformed input request: ..." messages, and each family declares its schema
// as data. Checks the model makes itself (Anthropic's role rules, for
// example) follow in the family's file, in the model's own wording.
//
// Streaming (InvokeModelWithResponseStream): every chat codec is also a
// StreamCodec, whose StreamEncoder turns the neutral ConverseStream events
// into the family's native chunks (anthropic_stream.go, titantext_stream.go,
// nova_stream.go, llama_stream.go, mistral_stream.go; shared helpers in
// stream.go). Each encoder's comment shows the real chunk sequence and its
// sources. Decisions: the text-carrying chunks are built by appending (one
// allocation per token, encoding/json's exact string escaping); what a
// chunk needs from later events is held back, never guessed (Anthropic's
// message_delta waits for the metadata event's output tokens, Titan holds
// one text delta so that its last chunk carries the totals); an input count
// unknown at the start moves to the final chunk; and the metadata event
// always yields the last chunk, to which the caller adds
// "amazon-bedrock-invocationMetrics". An encoder never panics on a stream
// cut short or out of order; a nil or empty event, or one after metadata,
// is an InternalServerException.
package family
