// Package openai holds the JSON wire types of OpenAI's chat completions,
// embeddings and models APIs, and the error body. They are shared by every
// part of modelwatch that speaks the format (the OpenAI-compatible front
// door, package openaiapi, and the OpenAI-compatible provider, package
// provider/openai), so the format has one home. It holds no translation:
// package translate turns these into the neutral Converse form and back
// (openai_converse.go for the front door's direction, converse_openai.go
// for the provider's).
//
// Field names follow the OpenAI API reference
// (https://platform.openai.com/docs/api-reference/chat) as implemented by
// github.com/openai/openai-go/v3. Unions (message content, stop,
// tool_choice, embedding input and vectors) are small types with their own
// JSON methods; MarshalStringOrArray and UnmarshalStringOrArray serve the
// string-or-array ones here and in package responses. RequestError and the
// error body serve the Responses API (package responses) as well, which
// answers in the same error envelope.
//
// Decisions:
//
//   - Decoding and checking a request body that is only about the wire
//     stays here: DecodeChatRequest (required members, n,
//     stream_options, metadata, response_format through
//     ResponseFormat.Validate) and DecodeEmbeddingRequest build no
//     Converse value, and the union types already refuse bad values while
//     decoding. What needs the conversation as a whole (messages, tools,
//     sampling ranges Converse imposes) is checked by
//     translate.ChatToConverse. Refusals are *RequestError values: a
//     ValidationException naming the parameter in OpenAI's terms, with
//     OpenAI's wording and, where OpenAI has one, its error code.
//   - Members modelwatch does not support are not declared and are ignored
//     when decoding (frequency_penalty, presence_penalty, seed, ...).
//   - Upstream error bodies are read leniently (ParseUpstreamError):
//     OpenAI's object, vLLM's numeric code, and the bare-string and
//     message-only forms some local servers send.
package openai
