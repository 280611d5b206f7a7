package invocation

import "time"

// Operation names the API operation of a call. Bedrock operations use
// Bedrock's names, because they appear verbatim in invocation logs.
type Operation string

// Operations served by modelwatch.
const (
	InvokeModel                   Operation = "InvokeModel"
	InvokeModelWithResponseStream Operation = "InvokeModelWithResponseStream"
	Converse                      Operation = "Converse"
	ConverseStream                Operation = "ConverseStream"
	// StartAsyncInvoke is recorded once per asynchronous job, when it ends.
	StartAsyncInvoke Operation = "StartAsyncInvoke"
	// ChatCompletions and Embeddings are the OpenAI-compatible API's
	// operations (Bedrock has no names for them).
	ChatCompletions Operation = "ChatCompletions"
	Embeddings      Operation = "Embeddings"
	// ImageGenerations is the OpenAI-compatible images API
	// (POST /v1/images/generations).
	ImageGenerations Operation = "ImageGenerations"
	// Messages is the Anthropic Messages API's one model operation.
	Messages Operation = "Messages"
	// Responses is OpenAI's Responses API (POST /v1/responses).
	Responses Operation = "Responses"
)

// Streaming reports whether the operation returns its output as a stream.
func (o Operation) Streaming() bool {
	return o == InvokeModelWithResponseStream || o == ConverseStream
}

// API identifies the front door a call came through.
type API string

// Front doors.
const (
	APIBedrock   API = "bedrock"
	APIOpenAI    API = "openai"
	APIAnthropic API = "anthropic"
)

// Auth methods recorded in Invocation.AuthMethod.
const (
	AuthSigV4     = "sigv4"
	AuthBearer    = "bearer"
	AuthAnonymous = "anonymous"
)

// Body is a request or response body exactly as it crossed the wire.
type Body struct {
	// ContentType is the MIME type of Data.
	ContentType string
	// Data is the raw bytes. Observers must not modify it.
	Data []byte
}

// Usage is the token and image accounting of a call, as reported by the
// model (the provider), never estimated by the front door.
type Usage struct {
	InputTokens           int
	OutputTokens          int
	CacheReadInputTokens  int
	CacheWriteInputTokens int
	// CacheWrite1hInputTokens is the part of CacheWriteInputTokens written
	// with a one-hour TTL, which is priced higher than the five-minute one.
	CacheWrite1hInputTokens int
	// OutputImages is the number of images the model returned (Bedrock's
	// OutputImageCount).
	OutputImages int
	// ImageWidth and ImageHeight are the size of each generated image and
	// ImageQuality its quality ("standard", "premium", or "" for models
	// without the setting): per-image prices depend on them.
	ImageWidth, ImageHeight int
	ImageQuality            string
	// OutputVideoSeconds is the length of the video an asynchronous
	// invocation produced (Nova Reel), priced per second.
	OutputVideoSeconds int
	// InputImages is the number of images an embedding call embedded
	// (Titan Multimodal Embeddings bills each input image apart from the
	// text tokens).
	InputImages int
}

// CacheWrite5mInputTokens is the part of CacheWriteInputTokens written with
// the default five-minute TTL.
func (u Usage) CacheWrite5mInputTokens() int {
	return u.CacheWriteInputTokens - u.CacheWrite1hInputTokens
}

// Total returns input plus output tokens (cache tokens are part of neither).
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Service tiers of Invocation.ServiceTier and latency modes of
// Invocation.PerformanceLatency, as Bedrock names them (the service model's
// ServiceTierType and PerformanceConfigLatency enums).
const (
	TierPriority = "priority"
	TierDefault  = "default"
	TierFlex     = "flex"
	TierReserved = "reserved"

	LatencyStandard  = "standard"
	LatencyOptimized = "optimized"
)

// ServiceTiers and LatencyModes list the enums in the service model's
// order, the order Bedrock's validation messages name them in.
var (
	ServiceTiers = []string{TierPriority, TierDefault, TierFlex, TierReserved}
	LatencyModes = []string{LatencyStandard, LatencyOptimized}
)

// Outcome classifies a finished call the way Bedrock's metrics do.
type Outcome int

// Outcomes.
const (
	Success Outcome = iota
	ClientError
	ServerError
	Throttled
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case ClientError:
		return "client_error"
	case ServerError:
		return "server_error"
	case Throttled:
		return "throttled"
	}
	return "unknown"
}

// Invocation is the complete record of one model call: who made it, what was
// asked and answered, how long it took and how it ended. Every runtime call
// produces exactly one, whether it succeeded or failed, including calls
// refused before they reached a model (bad signature, unknown model, invalid
// body); in those cases the fields that could not be determined are empty.
type Invocation struct {
	// RequestID is the UUID returned to the caller in x-amzn-RequestId.
	RequestID string
	// API is the front door the call came through.
	API API
	// Operation is the API operation.
	Operation Operation
	// Streamed is set when the response was (or was to be) streamed:
	// ConverseStream, InvokeModelWithResponseStream, or an OpenAI chat
	// completion with stream: true.
	Streamed bool

	// ModelID is the model identifier exactly as the caller passed it (after
	// URL decoding): a bare model ID, an inference profile ID or an ARN.
	ModelID string
	// CatalogModelID is the catalog entry the call resolved to (the base
	// model ID). It is empty if the model could not be resolved. Metrics are
	// labelled with it.
	CatalogModelID string
	// InferenceProfileID is set when the call named a cross-region inference
	// profile; InferenceRegion is the region the profile routed it to.
	InferenceProfileID string
	InferenceRegion    string
	// Provider is the name of the configured provider that answered (or
	// was tried last), and UpstreamModel the model name it was asked for.
	Provider      string
	UpstreamModel string
	// ServedModelID is the catalog model that answered: CatalogModelID, or
	// one of its fallbacks.
	ServedModelID string
	// Attempts lists every upstream call made for this invocation, in
	// order: retries and fallbacks included. Empty when the call failed
	// before reaching a provider.
	Attempts []Attempt
	// OutputModality is the catalog model's output modality (TEXT, IMAGE or
	// EMBEDDING): what kind of data the output body carries.
	OutputModality string

	// PrincipalName and PrincipalARN identify the authenticated caller;
	// AuthMethod is one of AuthSigV4, AuthBearer or AuthAnonymous. All three
	// are empty when authentication failed.
	PrincipalName string
	PrincipalARN  string
	AuthMethod    string
	// AccessKeyID is the access key a SigV4 request was signed with. Never a
	// secret.
	AccessKeyID string
	// SourceIP and UserAgent describe the client connection.
	SourceIP  string
	UserAgent string
	// RequestMetadata is Converse's requestMetadata or InvokeModel's
	// X-Amzn-Bedrock-Request-Metadata header.
	RequestMetadata map[string]string

	// Input is the request body as received; Output the response body as
	// sent (for a streamed call, the assembled output).
	Input  Body
	Output Body
	// Usage is the token accounting reported by the model.
	Usage Usage
	// ServiceTier is the processing tier that served the call (priority,
	// default, flex, reserved): as the provider's response reports it, else
	// as the call asked for it (Converse's serviceTier, InvokeModel's
	// X-Amzn-Bedrock-Service-Tier header); "" when neither names one, which
	// Bedrock serves and bills as default. PerformanceLatency is the
	// latency mode (standard, optimized), likewise.
	ServiceTier        string
	PerformanceLatency string
	// StopReason is the model's stop reason in Converse's vocabulary
	// (end_turn, max_tokens, stop_sequence, tool_use, ...), when known.
	StopReason string

	// Start is when the request arrived; FirstByte when the first byte of
	// the response (the first token of a stream) was produced; End when the
	// response was complete.
	Start     time.Time
	FirstByte time.Time
	End       time.Time

	// Status is the HTTP status returned to the caller.
	Status int
	// ErrorCode is the exception name on failure (see package apierror) and
	// empty on success; ErrorMessage is the message sent with it.
	ErrorCode    string
	ErrorMessage string
}

// Attempt is one call to an upstream provider.
type Attempt struct {
	// ModelID is the catalog model tried (the requested one or a fallback);
	// Provider and UpstreamModel say where it was sent.
	ModelID       string
	Provider      string
	UpstreamModel string
	// Start is when the attempt began; Duration how long it took until it
	// answered or failed (for a stream, until its first event).
	Start    time.Time
	Duration time.Duration
	// ErrorCode is the exception of a failed attempt, empty on success.
	ErrorCode string
}

// Latency is the time from the request's arrival to the response's end
// (Bedrock's InvocationLatency).
func (inv *Invocation) Latency() time.Duration { return inv.End.Sub(inv.Start) }

// TimeToFirstByte is the time from the request's arrival to the first byte
// of the response, or zero when no response body was produced.
func (inv *Invocation) TimeToFirstByte() time.Duration {
	if inv.FirstByte.IsZero() {
		return 0
	}
	return inv.FirstByte.Sub(inv.Start)
}

// Outcome classifies the call: throttles (429) are counted apart from other
// client errors, as Bedrock's InvocationThrottles metric does.
func (inv *Invocation) Outcome() Outcome {
	switch {
	case inv.Status == 429:
		return Throttled
	case inv.Status >= 500:
		return ServerError
	case inv.Status >= 400:
		return ClientError
	}
	return Success
}

// Observer receives every finished Invocation.
//
// Observe is called once per call on the serving goroutine after the
// response has been produced and before its last byte is released to the
// client, so that a durable observer has the record before the caller sees
// success. Implementations must therefore return quickly and never block on
// I/O or a slow destination: they copy what they need into their own queue or
// spool. The Invocation and the byte slices it references must not be
// modified; they may be retained.
type Observer interface {
	Observe(inv *Invocation)
}

// ObserverFunc adapts a function to the Observer interface.
type ObserverFunc func(inv *Invocation)

// Observe calls f(inv).
func (f ObserverFunc) Observe(inv *Invocation) { f(inv) }

// Committer is implemented by observers that must hold a call's record
// durably before the call may be reported as a success: the invocation log
// when its policy is to refuse calls it cannot record. The gateway calls
// Commit instead of Observe, before the other observers. An error means the
// record could not be kept; the gateway then fails the call with that error
// (an *apierror.Error) rather than report unrecorded success. Errors for
// calls that failed anyway are ignored.
type Committer interface {
	Commit(inv *Invocation) error
}
