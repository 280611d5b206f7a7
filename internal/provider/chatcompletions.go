package provider

import "context"

// ChatCompletionsInvoker is implemented by providers whose upstream speaks
// OpenAI's chat completions API (the OpenAI provider, for any
// OpenAI-compatible server). The chat completions front door passes the
// caller's body to them untranslated: nothing the caller sent is lost in a
// round trip through Converse, nothing the upstream answered is dropped
// (its id, system_fingerprint, usage details, logprobs), and neither body
// is decoded further than the record needs.
type ChatCompletionsInvoker interface {
	// ChatCompletions sends a chat completions body and returns the
	// upstream's answer as it came, with its neutral reading for the
	// record (usage and stop reason).
	ChatCompletions(ctx context.Context, call Call, req *ChatCompletionsRequest) (*Passed, error)
	// ChatCompletionsStream sends a chat completions body with stream
	// true. Failures before the first event are returned here, so the
	// gateway can retry or fall back.
	ChatCompletionsStream(ctx context.Context, call Call, req *ChatCompletionsRequest) (RawStream, error)
}

// ChatCompletionsRequest is a chat completions call as the caller sent it.
type ChatCompletionsRequest struct {
	// Body is the caller's JSON body. Only what must change for the
	// upstream is rewritten in place (the model member when the upstream
	// names the model differently, the output budget's parameter name for
	// servers that take max_tokens only, stream_options.include_usage on
	// a stream); every other byte goes as sent.
	Body []byte
	// Model is the model the body names (the front door has decoded it).
	Model string
	// IncludeUsage reports whether the caller asked for the usage chunk
	// of a stream (stream_options.include_usage). The gateway needs the
	// usage either way: when the caller did not ask, the provider asks
	// the upstream and leaves the usage chunk out of what it relays.
	IncludeUsage bool
	// MaxCompletionTokens reports whether the body sets
	// max_completion_tokens and not max_tokens: a server that takes
	// max_tokens only gets it under that name.
	MaxCompletionTokens bool
	// MaxTokens is the output budget the model policy gives a body that
	// sets none (max_tokens and max_completion_tokens both absent): the
	// provider adds it under the name its server takes, as it does for a
	// translated request, so that every upstream call is bounded. Zero
	// adds none.
	MaxTokens int
}

// EmbeddingsInvoker is implemented by providers whose upstream speaks
// OpenAI's embeddings API (the OpenAI provider). The embeddings front door
// passes the caller's body to them untranslated and their answer back as
// it came: the vectors are neither parsed nor re-encoded (a float array of
// 1,536 numbers per input is most of such a call's cost when translated),
// and they are the upstream's own, in the encoding the caller asked for.
type EmbeddingsInvoker interface {
	// Embeddings sends an embeddings body and returns the upstream's
	// answer as it came, with its input token count for the record.
	Embeddings(ctx context.Context, call Call, req *EmbeddingsRequest) (*Passed, error)
}

// EmbeddingsRequest is an embeddings call as the caller sent it.
type EmbeddingsRequest struct {
	// Body is the caller's JSON body; its model member is set in place to
	// the upstream's name when the two differ, every other byte as sent.
	Body []byte
	// Model is the model the body names (the front door has decoded it).
	Model string
	// Inputs is how many inputs the body holds: an answer with another
	// number of embeddings is refused, as a translated one is.
	Inputs int
}
