// Package responses holds the JSON wire types of OpenAI's Responses API
// (POST /v1/responses): the request, its input and output items, the
// response object and the streaming event payloads. The error body and
// RequestError are package openai's (ErrorResponse, RequestError): the
// Responses API answers errors in chat completions' envelope. It holds
// no translation: package translate turns these into the neutral
// Converse form (responses_converse.go) and back.
//
// Field names follow the OpenAI API reference as implemented by
// github.com/openai/openai-go/v3 (responses/response.go, inputitem.go) and
// what Codex CLI sends (codex-rs ResponsesApiRequest). Decoding is lenient
// by design: members this package does not declare are ignored, because
// the SDKs and Codex send many that a gateway has no use for, and a
// request must not fail for carrying them. Unions — input (a string or
// items), message content and tool output (a string or parts), and
// tool_choice (a mode or an object) — are small types with their own JSON
// methods, the string-or-array ones on package openai's
// MarshalStringOrArray and UnmarshalStringOrArray.
//
// Items are one flat struct (Item) whose Type says which members apply, so
// that an output item sent back as input (the usual way to continue a
// conversation without a server-side store) decodes into the same type.
// Members whose presence matters on the wire even when empty (a function
// call's arguments "", a message's content []) are pointers or slices
// marshalled with omitzero, so that an output item always has the members
// the SDKs expect and an input item says what was actually sent.
package responses
