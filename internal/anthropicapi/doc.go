// Package anthropicapi is the Anthropic Messages API front door, on the
// same port as the others: POST /v1/messages (plain and streamed as
// Anthropic's server-sent events), POST /v1/messages/count_tokens, and
// GET /v1/models in Anthropic's shape (the server routes a models request
// here when it carries anthropic-version). Claude Code and the Anthropic
// SDKs run through it unmodified.
//
// It only describes the wire: a chat call is a gateway.Door (messages.go)
// that decodes a Messages body into the neutral form (package translate),
// encodes answers and streams, and words errors in Anthropic's shape
// ({"type":"error","error":{"type":…,"message":…},"request_id":…}); the
// gateway runs the call. Keys come as x-api-key or Authorization: Bearer,
// mapped to the same principals as every other door.
//
// Model names: the catalog's IDs (Bedrock's, "anthropic.claude-…-v1:0"),
// aliases and inference profiles resolve as anywhere; Anthropic's own
// names ("claude-3-5-haiku-20241022", undated "claude-3-5-haiku") resolve
// to the catalog's Claude model of that name (the newest dated one for an
// undated name), so Claude Code's defaults work. Responses echo the name
// the caller used.
package anthropicapi
