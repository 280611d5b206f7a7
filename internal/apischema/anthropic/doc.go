// Package anthropic holds the JSON wire types of Anthropic's Messages API:
// POST /v1/messages (request, response, streamed events), POST
// /v1/messages/count_tokens, GET /v1/models, and the error body. They are
// shared by every part of modelwatch that speaks the format (the Messages
// front door, the Anthropic provider, Bedrock's native Claude bodies), so
// the format has one home; translation to and from the neutral Converse
// form lives in package translate.
//
// Field names follow Anthropic's API reference and anthropic-sdk-go. The
// format grows with every model release, so decoding is lenient: members
// this package does not model are kept raw in an Extra map (requests,
// content blocks, tools) and written back on encoding, and content blocks
// of types it does not model are kept whole in Raw. Unions (content as a
// string or blocks, a source as an object or a string) are small types
// with their own JSON methods. Nullable members (stop_reason,
// stop_sequence) are pointers.
package anthropic
