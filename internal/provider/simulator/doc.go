// Package simulator is modelwatch's built-in model backend, the provider of
// type "simulator" that serves the default catalog. With it modelwatch runs
// with no API keys and no network: developers get plausible, deterministic
// model behaviour, and platform teams can exercise every path (latency,
// errors, throttles, load) offline.
//
// # Replies
//
// A reply is derived from the conversation alone (system prompt, messages
// and tool definitions) through a hash that seeds a generator, so the same
// prompt always gets the same reply, in every process. Inference parameters
// do not change the reply: maxTokens and stop sequences only cut it short,
// with stop reasons max_tokens and stop_sequence. In "generate" mode the
// reply is English-like sentences from an embedded vocabulary, of a natural
// length between minReplyTokens and maxReplyTokens; in "echo" mode it is the
// text of the last user message.
//
// When the request offers tools and the last message carries no tool
// result, the reply calls a tool if the tool choice demands it (any, or a
// named tool) or, under auto, if the last user text mentions a tool's name.
// The call's input is generated from the tool's JSON schema. After a tool
// result the reply is text again.
//
// # Tokens
//
// Token counts come from a simple tokenizer (see CountTokens): roughly one
// token per short word, punctuation mark or newline, with long words and
// numbers split into chunks. Replies are built from its pieces, so a text
// reply's output token count is exactly CountTokens of its text (a tool call
// counts its name and its input JSON). Input counts add small per-message
// overheads and size-based estimates for images, videos and documents. The
// numbers are plausible, not those of any real model.
//
// # Latency and failures
//
// A call takes TimeToFirstToken plus TimePerOutputToken per output token,
// and honours its context: a deadline that passes first is reported as
// ModelTimeoutException, and a cancellation as an error that wraps
// context.Canceled. Each call may fail before any waiting, drawn from
// Options.Rand: with probability ThrottleRate as ThrottlingException and
// with probability ErrorRate with the configured ErrorCode, carrying the
// messages Bedrock uses.
//
// Embeddings are deterministic per input text, of the requested or the
// model's default dimension, and take TimeToFirstToken.
package simulator
