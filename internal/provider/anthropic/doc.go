// Package anthropic is the provider of type "anthropic": it serves
// Converse requests with Anthropic's Messages API (POST {BaseURL}/v1/messages,
// authenticated with x-api-key and versioned with the anthropic-version
// header), so a Bedrock client can talk to Claude through modelwatch
// without an AWS account. It also implements provider.TokenCounter with
// Anthropic's POST /v1/messages/count_tokens.
//
// The Messages wire types are those of package apischema/anthropic, and
// the translation is package translate's (converse_anthropic.go):
// translate.ConverseToMessagesRequest builds the body and the betas,
// translate.MessagesResponseToConverse reads an answer, and a
// translate.MessagesStreamDecoder turns the streamed events into Converse
// events. This package is the transport around them: HTTP, headers and
// betas, reading server-sent events, the latency, the pass-through of the
// caller's own Messages bodies and of the upstream's raw events, and the
// mapping of failures to Bedrock exceptions with Anthropic's request ID.
//
// # Requests
//
// A Converse request maps onto a Messages request almost member for member:
// system text blocks, messages (text, image as base64 with media type
// image/<format>, PDF and plain-text documents, tool use, tool result,
// reasoning as thinking or redacted_thinking), inferenceConfig (max_tokens,
// temperature, top_p, stop_sequences) and toolConfig (tools with
// input_schema, tool_choice auto, any or tool). A cachePoint becomes
// cache_control {"type":"ephemeral"} on the block (or tool) before it, with
// its ttl (5m or 1h) when it has one: both mean "cache the prompt up to
// here". outputConfig becomes output_config: the JSON Schema of
// textFormat (a string in Converse) goes as format {"type":"json_schema",
// "schema":{...}}, the effort as effort; Anthropic's format has no name or
// description, so those are not sent. Converse always carries maxTokens by
// the time it reaches a provider; should it not, 4096 is sent, as
// Anthropic requires max_tokens.
//
// additionalModelRequestFields are the model's native parameters and are
// merged into the body as given (top_k, thinking, metadata, ...), winning
// over a Converse-derived value of the same key; tools listed there are
// appended to the Converse tools (server tools such as computer use are
// enabled this way on Bedrock too); output_config members set there
// override outputConfig's one by one (an effort there keeps the schema);
// anthropic_beta becomes the anthropic-beta header and Bedrock's
// anthropic_version is dropped. The members that carry the conversation
// (model, messages, system, stream) cannot be set there.
//
// Content the Messages API cannot carry faithfully is refused with a
// ValidationException naming the block rather than silently dropped or
// altered: video and audio, S3 sources, Office documents, citations,
// search results and Bedrock system tools. guardContent is sent as the
// plain text it is; Anthropic has no guardrails.
//
// # Responses
//
// Text, tool_use, thinking and redacted_thinking blocks map back to
// Converse; server tool blocks (web search results, ...) have no Converse
// form and are left out. Stop reasons keep their names, except refusal,
// which is content_filtered, and pause_turn and unknown ones, which end the
// turn. Usage is Bedrock's: inputTokens is the uncached input
// (Anthropic's input_tokens), cache reads and writes are reported
// separately, the writes also split by TTL in cacheDetails (from
// cache_creation's ephemeral_1h and ephemeral_5m counts, 1h first as
// Bedrock sorts them, TTLs with no writes left out), and totalTokens adds
// all of them to the output.
//
// # Streaming
//
// ConverseStream reads the server-sent events incrementally and emits
// Converse events in Bedrock's order: messageStart (with the input and
// cache tokens of message_start), a contentBlockStart for tool use only,
// deltas (text, tool input JSON pieces, reasoning text and signature),
// contentBlockStop, messageStop, and a final metadata event with the true
// usage (input from message_start, output from the last message_delta,
// which also updates any input or cache count it repeats). It waits for the
// first event before returning, so an upstream that accepts a request and
// immediately reports overloaded_error still fails where the gateway can
// retry. An error event later in the stream ends it with
// ModelStreamErrorException carrying the status Anthropic documents for the
// error type (529 for overloaded_error, 500 for api_error). Cancelling the
// call's context aborts the upstream request.
//
// # Errors
//
// Error responses are parsed ({"type":"error","error":{"type","message"}})
// and mapped with provider.UpstreamError; failures to reach Anthropic with
// provider.TransportError. Anthropic's request-id and error type go into the
// error's Cause for the server log. The API key never appears in errors.
// Anthropic has no embeddings API, so Embed is a ValidationException.
package anthropic
