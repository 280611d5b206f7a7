// Package openaiapi serves modelwatch's OpenAI-compatible API: POST
// /v1/chat/completions (JSON, or server-sent events with stream: true),
// POST /v1/responses (the Responses API, plain or streamed as its event
// sequence), POST /v1/embeddings, GET /v1/models and GET /v1/models/{id},
// so that OpenAI SDKs, Codex CLI and other tools can call every catalog
// model through the same gateway, authentication and invocation records as
// Bedrock clients. The server also mounts it under /openai/v1, Bedrock's own
// OpenAI-compatible path.
//
// Each operation is a gateway.Door (chat.go, responses.go, embeddings.go):
// it decodes its body into the neutral form, encodes answers and streams
// and words errors; the gateway runs the call. Each request is recorded as
// one Invocation with API "openai" and operation ChatCompletions,
// Responses or Embeddings. The model field resolves through the catalog exactly like a
// Bedrock model ID (model IDs, aliases, inference profiles, ARNs). Clients
// authenticate with Authorization: Bearer <api key> (a principal's
// apiKeys); SigV4-signed requests work too.
//
// Decisions:
//
//   - The model travels in the body: the gateway call begins when the
//     request arrives, its headers are authenticated before the body is
//     read (unauthenticated clients cannot make the server read large
//     bodies), and the model identifier is set on the call once the body is
//     parsed. Every request, however early it fails, is one Invocation.
//   - Errors use OpenAI's body {"error":{"message","type","param","code"}}:
//     ValidationException → 400 invalid_request_error; authentication
//     failures → 401 authentication_error (code invalid_api_key for an
//     unknown key); an unknown model or ResourceNotFoundException → 404
//     with code model_not_found; throttling → 429 rate_limit_exceeded; a
//     model timeout → 504; ServiceUnavailableException → 503; model errors
//     → 502; anything else → 500 server_error. Messages are the gateway's
//     caller-facing messages, never Go error strings. The Invocation records
//     the status actually sent.
//   - A stream sends data: {chunk} frames, flushed one by one, and ends with
//     data: [DONE]. The call is finished (and so recorded by durable
//     observers) before the final frames — the finish reason, the usage
//     chunk and [DONE] — are written, so a client never sees the end of a
//     response the log does not have. A failure after the stream started is
//     sent as a data: {"error":{...}} frame, which OpenAI's SDKs raise as an
//     error, and ends the stream without [DONE]. A client that goes away
//     cancels the gateway stream and is recorded as ClientClosedRequest.
//   - The completion ID is "chatcmpl-" plus the request ID without dashes,
//     and x-request-id carries the request ID, so a response can be matched
//     with its Invocation. The model field of responses is the resolved
//     catalog model ID.
//   - response_format is structured output through Converse's
//     outputConfig (package translate, openai_converse.go, translates it):
//     {"type":"json_schema","json_schema":{...}} keeps its name,
//     description and schema, {"type":"json_object"} becomes the schema
//     {"type":"object"}, {"type":"text"} asks for nothing. It is checked
//     with OpenAI's messages, param paths and codes (for example
//     "Missing required parameter: 'response_format.json_schema'.", param
//     response_format.json_schema, code missing_required_parameter) before
//     the model is resolved. strict: false is served as strict: Converse
//     has no flag for it and Bedrock always constrains the output.
//   - Usage: prompt_tokens count every input token, cached ones included,
//     and prompt_tokens_details.cached_tokens the cache reads (with
//     cache_write_tokens for cache writes), in the response and in the
//     stream's usage chunk alike.
//   - Embeddings are requested normalized to unit length, as OpenAI's are;
//     encoding_format base64 returns little-endian float32 bytes.
//   - The user and metadata parameters become the Invocation's request
//     metadata (user under the key "user"). metadata is held to OpenAI's
//     own limits (at most 16 pairs, keys of 1 to 64 characters, values of
//     at most 512), which OpenAI clients expect, not to Bedrock's
//     requestMetadata character set: OpenAI restricts no characters, and
//     the record stores them JSON-escaped. A record of an OpenAI call can
//     therefore hold metadata that a Bedrock call would have been refused.
//   - Bodies are charged to the server's body budget
//     (limits.maxBodyBytesInFlight) as they arrive, until the call is
//     answered; a call whose body would pass it gets 503 server_error,
//     code service_unavailable.
package openaiapi
