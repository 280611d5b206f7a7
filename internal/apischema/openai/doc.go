// Package openai holds the JSON wire types of OpenAI's chat completions,
// embeddings and models APIs, and the translation between them and the
// neutral Converse types (package converse) that every modelwatch provider
// speaks.
//
// It serves two directions. The OpenAI-compatible front door (package
// openaiapi) decodes a ChatRequest, turns it into a converse.Request with
// ChatRequest.ToConverse, and renders the provider's answer with
// FromConverseResponse or, for a stream, a StreamEncoder. The
// OpenAI-compatible provider (package provider/openai) goes the other way:
// FromConverse builds the upstream request, ChatCompletion.ToConverse reads
// its answer and a StreamDecoder turns its SSE chunks back into Converse
// stream events in Bedrock's order.
//
// Field names follow the OpenAI API reference
// (https://platform.openai.com/docs/api-reference/chat) as implemented by
// github.com/openai/openai-go/v3. Unions (message content, stop,
// tool_choice, embedding input and vectors) are small types with their own
// JSON methods.
//
// Decisions:
//
//   - System and developer messages become Converse system blocks, wherever
//     they appear in the conversation (Converse has one system prompt).
//   - Consecutive messages of the same role are merged, as Converse requires
//     alternating roles; tool messages become toolResult blocks of a user
//     message, so an assistant's tool calls followed by their results and a
//     new user question become one user turn.
//   - Blank text is dropped rather than sent: OpenAI accepts an empty
//     assistant content next to tool calls, Converse rejects blank text
//     blocks.
//   - Images must be inline data: URLs. A remote http(s) image URL cannot
//     become Converse image bytes without the gateway fetching arbitrary
//     URLs, so it is refused with a clear invalid_request_error.
//   - temperature is limited to 0..1, Converse's (and Bedrock models')
//     range, rather than silently rescaled from OpenAI's 0..2.
//   - tool_choice "none" removes the tools from the request (Converse has
//     no "none"), unless the conversation already contains tool calls, in
//     which case Converse requires the tool configuration and the choice is
//     left to the model.
//   - Token accounting: OpenAI's prompt_tokens includes cached tokens
//     (prompt_tokens_details.cached_tokens is a part of it), whereas
//     Converse's inputTokens excludes cache reads and writes. prompt_tokens is
//     therefore inputTokens + cacheReadInputTokens + cacheWriteInputTokens,
//     and the reverse subtracts them.
//   - Stop reasons: end_turn and stop_sequence → stop, max_tokens and
//     model_context_window_exceeded → length, tool_use → tool_calls,
//     content_filtered and guardrail_intervened → content_filter; the
//     reverse maps stop → end_turn (OpenAI does not say whether a stop
//     sequence matched).
//   - response_format: json_schema becomes outputConfig.textFormat with
//     the schema (compacted, as a string), name and description; a
//     json_schema without a schema asks for any JSON object; json_object
//     becomes the schema {"type":"object"}; text becomes nothing. strict
//     has no Converse member and is not carried. Going upstream, the
//     schema {"type":"object"} becomes json_object again and any other a
//     strict json_schema named after the schema (or "response" when its
//     name is not one OpenAI accepts).
//   - Reasoning is carried as reasoning_content (the name DeepSeek and vLLM
//     use); Ollama's reasoning field is read too.
//   - Tool call arguments that are not a JSON object in an upstream answer
//     are kept as a JSON string, as converse.Assembler does for a cut-off
//     stream, so nothing the model said is lost.
package openai
