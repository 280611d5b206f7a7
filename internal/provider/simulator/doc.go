// Package simulator is modelwatch's built-in model backend, the provider of
// type "simulator" that serves the default catalog. With it modelwatch runs
// with no API keys and no network: developers get plausible, deterministic
// model behaviour, and platform teams can exercise every path (latency,
// errors, throttles, load) offline.
//
// # Replies
//
// A reply is derived from the conversation alone (system prompt, messages,
// tool definitions and output schema) through a hash that seeds a
// generator, so the same
// prompt always gets the same reply, in every process. Inference parameters
// do not change the reply: maxTokens and stop sequences only cut it short,
// with stop reasons max_tokens and stop_sequence. In "generate" mode the
// reply is English-like sentences from an embedded vocabulary, of a natural
// length between minReplyTokens and maxReplyTokens; in "echo" mode it is the
// text of the last user message.
//
// # Tools
//
// Tool choice keeps Converse's promises. With toolChoice any or a named
// tool (OpenAI's "required" and named functions arrive as these) the reply
// is a tool call with no text before it, every time, also after tool
// results; under any it is the tool that best fits the question, one not
// yet called in the turn when there is one. Under auto (or no toolChoice)
// the question's words are scored against each tool's name (3 points a
// word), parameter names (2) and description (1), stop words aside; from 3
// points the best tool is called (a tool named outright always wins), and
// small talk gets text. Once tool results are in, auto answers in text
// unless the question plainly needs a further tool: one not yet called in
// the turn that matches words no called tool matched. So under auto each
// tool is called at most once per turn and a client's tool loop always
// ends; and no call repeats the previous call's tool and input when the
// schema allows another input. Auto calls say what they are about to do
// half of the time. Tool use IDs are "tooluse_" and 22 letters and digits,
// as Bedrock's.
//
// # Structured output and generated JSON
//
// Tool input and structured output (outputConfig.textFormat with a JSON
// schema, when no tool is called) are generated from the schema and
// validate against it: required properties (all properties when none are
// required) in schema order, types and nullable types, enum and const,
// nested objects and arrays with minItems/maxItems, uniqueItems and
// tuples, string formats (date-time, date, time, email, uri, uuid,
// hostname, ipv4, ipv6, duration, ...), pattern, length limits, minimum,
// maximum, exclusive bounds and multipleOf, additionalProperties false or
// a schema, patternProperties, min/maxProperties, dependentRequired,
// allOf, anyOf, oneOf (exactly one alternative matches), not, if/then/else
// and local $ref with $defs or definitions. Where a choice is made, each
// candidate is checked with the package's own validator. Structured output
// is JSON in echo mode too, streams in pieces like text, and counts its
// output tokens from the JSON.
//
// # Prompt caching
//
// Each Simulator keeps a prompt cache (bounded, least recently used
// first), keyed by model and the hash of the prompt prefix up to each
// cachePoint, in Converse's order: tools, system, messages. A checkpoint
// counts when it adds at least the model's minimum since the previous one
// (ModelSettings.MinCacheTokens, by default 1,024 for Claude 3.7 Sonnet,
// Sonnet 4.x and Opus 4/4.1, 2,048 for Claude 3.5 Haiku, 4,096 for Haiku
// 4.5 and Opus 4.5/4.6, 1,000 for Nova, whose tool cache points are
// ignored, and 1,024 for model IDs of no known family). A call reads the
// longest cached prefix (cacheReadInputTokens) and writes the checkpoints
// after it (cacheWriteInputTokens, with cacheDetails per TTL); inputTokens
// is the rest, and totalTokens counts input, output, cache reads and
// writes, as Bedrock's does. Entries live 5 minutes (ttl "1h": an hour)
// from their last read, on Options.Now's clock. Models without prompt
// caching (Claude 3, Claude 3.5 Sonnet, Titan, Llama, Mistral, ...; or
// MinCacheTokens -1) refuse cache points with Bedrock's
// AccessDeniedException. CountTokens (provider.TokenCounter) gives
// input + cacheRead + cacheWrite of the same request, cache or not.
//
// # Reasoning
//
// A model whose catalog entry says reasoning "always", or "on-request"
// when the request switches it on, answers with a reasoningContent block
// before the answer, which is the answer it gives without reasoning. The
// switch and the block follow the family (by model ID): Claude's
// additionalModelRequestFields.thinking (enabled with budget_tokens, or
// adaptive) gives reasoning text of 1/16 to 1/8 of the budget (64 to 256
// tokens adaptive) with a signature; Nova 2's reasoningConfig
// (maxReasoningEffort low, medium, high: 200-600, 800-1,600 and
// 2,000-3,200 tokens) gives the text "[REDACTED]", its tokens counted as
// if written; gpt-oss's reasoning_effort (low 20-60, medium 60-180, high
// 180-480 tokens, medium when unset on a model that always reasons) gives
// text without a signature. Claude and Nova 2 also take reasoning_effort
// when their own switch is absent (the OpenAI front door's way to ask).
// Reasoning tokens are output tokens, maxTokens covers reasoning and
// answer, and a stream sends the reasoning as reasoningContent text deltas,
// Claude's signature as one delta at the end of the block, and the answer
// at the next index.
//
// Claude's signature is an HMAC-SHA256 of the text under a fixed key, so
// it survives restarts and replicas; reasoning blocks sent back in a
// conversation must carry it, or the call fails with Bedrock's
// ValidationException ("messages.N.content.M: Invalid signature in
// thinking block", or "...thinking.signature: Field required"). Redacted
// reasoning is accepted back unchecked. Bedrock's rules apply in its
// words: a budget of at least 1,024 tokens below maxTokens, temperature 1
// and top_p from 0.95 or unset, no top_k and no forced tool use with
// thinking; temperature and top_p not both on Sonnet 4.5 and Haiku 4.5;
// only Bedrock's beta flags in anthropic_beta; with Nova 2's high effort
// no maxTokens (other than the catalog default, which the gateway fills
// in), temperature, topP or topK. Thinking on a Claude model that does not
// reason is refused as an extra input.
//
// # Service tiers
//
// performanceConfig and serviceTier are echoed in the response and the
// stream's metadata event when the request sets them. Latency-optimized
// inference scales the simulated latency by 0.75, the priority tier by
// 0.8 and the flex tier by 1.25.
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
// Embeddings are deterministic per input, of the requested or the
// model's default dimension, and take TimeToFirstToken; images embed from
// their pixels, so similar pictures get close vectors (embed.go).
package simulator
