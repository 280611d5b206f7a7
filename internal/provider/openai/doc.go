// Package openai is a provider.Provider that sends model calls to an
// upstream speaking OpenAI's chat completions and embeddings API: OpenAI
// itself, or an OpenAI-compatible server such as vLLM, Ollama, LM Studio or
// llama.cpp.
//
// Converse calls POST {base}/chat/completions with the catalog model's
// UpstreamModel as model; ConverseStream does the same with stream: true and
// stream_options.include_usage, reading the server-sent events as they
// arrive and turning them into Converse stream events in Bedrock's order;
// Embed calls POST {base}/embeddings. The wire types live in package
// apischema/openai, the translation to and from Converse in package
// translate (converse_openai.go).
//
// Decisions:
//
//   - Upstream HTTP failures are mapped with provider.UpstreamError (OpenAI's
//     error body is parsed for its message), network failures with
//     provider.TransportError, and an error event in the middle of a stream
//     ({"error":{...}}, as OpenAI, vLLM and others send it) with
//     provider.StreamError. The API key is only ever sent in the
//     Authorization header; it never appears in errors or logs, and upstream
//     messages that quote it are redacted.
//   - The default HTTP client has connect, TLS and idle timeouts but no
//     overall or response-header timeout: a non-streamed completion only
//     answers once it is complete and a stream lasts as long as the model
//     writes. The per-call context (the catalog model's timeout) bounds
//     every call, and cancelling it aborts the upstream request; closing a
//     stream closes the response body.
//   - Usage: the final metadata event carries the usage of the upstream's
//     usage chunk. An upstream that sends none (older Ollama versions,
//     servers that ignore stream_options) is reported with zero tokens:
//     nothing is estimated.
//   - The output budget is sent as max_completion_tokens to api.openai.com
//     (whose reasoning models refuse max_tokens) and as max_tokens to other
//     servers (Ollama and llama.cpp only read max_tokens);
//     Options.MaxTokensParam overrides this.
//   - A stream that ends after its finish reason but without data: [DONE]
//     is accepted as complete; one that ends before its finish reason is a
//     ModelStreamErrorException. A server that answers a stream request with
//     a plain JSON completion is replayed as a stream.
//   - Structured output (outputConfig.textFormat) is sent as
//     response_format: the schema {"type":"object"}, which is what the
//     OpenAI front door makes of JSON mode, as {"type":"json_object"};
//     any other schema as {"type":"json_schema","json_schema":{name,
//     description, schema, strict: true}}, named by the schema's name or
//     "response" when it has none OpenAI accepts (^[a-zA-Z0-9_-]{1,64}$).
//     Converse has no strict flag and Bedrock always constrains the
//     output, so strict is always true: a schema that OpenAI's strict mode
//     refuses gets OpenAI's error back. outputConfig.effort is not sent.
//     Cache reads (prompt_tokens_details.cached_tokens) come back as
//     cacheReadInputTokens; OpenAI caches on its own, so cache points are
//     not sent.
//   - Converse's additionalModelRequestFields (a JSON object) are added to
//     the upstream request body, for parameters Converse has no field for
//     (seed, reasoning_effort, ...); they cannot replace the members the
//     provider sets.
//   - Ollama's OpenAI-compatible endpoint differs from OpenAI's in ways the
//     decoder absorbs: it repeats delta.role in every chunk, sends a tool
//     call whole in one chunk, omits usage (rather than sending null) on
//     content chunks, names reasoning "reasoning", and sends the usage chunk
//     only when include_usage is set (since v0.5.2).
package openai
