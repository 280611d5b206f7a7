package provider

import (
	"context"
	"io"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
)

// Call identifies what a provider is asked to run.
type Call struct {
	// RequestID is the gateway's request ID, for the provider's own logs and
	// for upstreams that accept a client request ID.
	RequestID string
	// ModelID is the catalog model ID (the Bedrock model ID) being served.
	ModelID string
	// UpstreamModel is the provider's own name for the model.
	UpstreamModel string
}

// Provider runs model calls. Implementations must be safe for concurrent use,
// must honour ctx (cancellation and deadline) and must report failures as
// *apierror.Error values with Bedrock exception codes (ThrottlingException for
// a rate limit, ModelTimeoutException for a timeout, ModelErrorException for an
// error the model returned, ServiceUnavailableException when the upstream is
// down) so that every front door can map them faithfully. Other errors are
// reported to callers as InternalServerException.
type Provider interface {
	// Converse answers a chat request. The request has already been
	// validated; the response's Usage carries the true token counts.
	Converse(ctx context.Context, call Call, req *converse.Request) (*converse.Response, error)
	// ConverseStream answers a chat request as a stream of Converse
	// events. Failures known before the first event (the upstream
	// answered with an error status) are returned here, so the gateway can
	// retry or fall back; later ones come from Stream.Next. The stream is
	// bound to ctx: cancelling ctx must stop the upstream work.
	ConverseStream(ctx context.Context, call Call, req *converse.Request) (Stream, error)
	// Embed computes embeddings.
	Embed(ctx context.Context, call Call, req *EmbedRequest) (*EmbedResponse, error)
}

// EmbedRequest asks for one embedding per input. An input is a text, or,
// for multimodal models, a text and images embedded together into one
// vector (Titan Multimodal Embeddings averages its text and image vectors;
// Cohere Embed v4 embeds an interleaved input as a whole).
type EmbedRequest struct {
	// Inputs are the texts to embed, one vector each (at least one). An
	// image-only input has the text "".
	Inputs []string
	// Images is nil for a text-only request; otherwise it has one entry
	// per input (the same length as Inputs): the images of input i, in
	// order, possibly none. Providers that cannot embed images refuse a
	// request with any (RefuseImages).
	Images [][]EmbedImage
	// Dimensions is the requested vector length; 0 means the model default.
	Dimensions int
	// Normalize asks for unit-length vectors.
	Normalize bool
	// InputType is Cohere's purpose of the inputs (EmbedSearchDocument,
	// EmbedSearchQuery, EmbedClassification, EmbedClustering, EmbedImageInput);
	// "" when the caller's API has no such notion.
	InputType string
	// MaxInputTokens is the model's limit on the tokens of one input's
	// text (0: no limit). A longer text is cut as Truncate says.
	MaxInputTokens int
	// Truncate says what becomes of a text over MaxInputTokens:
	// TruncateNone (or "") refuses the request with a ValidationException,
	// TruncateStart drops tokens from the start, TruncateEnd from the end
	// (Cohere v4's LEFT and RIGHT).
	Truncate string
	// EmbeddingTypes are the native encodings the caller asked for (float,
	// int8, uint8, binary, ubinary), for a provider that forwards them.
	// Providers return float vectors; the front door derives the others.
	EmbeddingTypes []string
}

// Embedding input types (Cohere's input_type values).
const (
	EmbedSearchDocument = "search_document"
	EmbedSearchQuery    = "search_query"
	EmbedClassification = "classification"
	EmbedClustering     = "clustering"
	EmbedImageInput     = "image"
)

// Truncation modes of EmbedRequest.Truncate.
const (
	TruncateNone  = "NONE"
	TruncateStart = "START"
	TruncateEnd   = "END"
)

// EmbedImage is one image input, already decoded from its transport
// encoding (base64 or a data URI) and checked to be an image of Format.
type EmbedImage struct {
	// Format is "png", "jpeg", "gif" or "webp".
	Format string
	// Data is the image file's bytes.
	Data []byte
	// Width and Height are the image's size in pixels, from its header.
	Width, Height int
}

// MediaType is the image's MIME type ("image/png", ...).
func (im EmbedImage) MediaType() string { return "image/" + im.Format }

// ImageCount returns the number of images in the request.
func (r *EmbedRequest) ImageCount() int {
	n := 0
	for _, imgs := range r.Images {
		n += len(imgs)
	}
	return n
}

// RefuseImages returns the ValidationException of a provider (named by
// who) that embeds text only, when the request has images; nil otherwise.
func (r *EmbedRequest) RefuseImages(who string) error {
	if r.ImageCount() == 0 {
		return nil
	}
	return apierror.New(apierror.Validation, "The %s provider embeds text only; this request has %d image input(s). Route image embeddings to a multimodal embedding model.", who, r.ImageCount())
}

// EmbedResponse holds one vector per input, in input order.
type EmbedResponse struct {
	// Embeddings are the float vectors, one per input.
	Embeddings [][]float32
	// InputTokens are the text tokens embedded (after any truncation).
	InputTokens int
	// InputImages is the number of images embedded, which Titan
	// Multimodal Embeddings bills apart from the text tokens.
	InputImages int
}

// Stream is a chat response in progress. It is used by one goroutine.
type Stream interface {
	// Next returns the next event. After the final metadata event it
	// returns io.EOF itself (compared with ==, as io.Reader's is: an
	// error that merely wraps io.EOF, such as a stream cut short, is a
	// failure). Any other error ends the stream: an *apierror.Error
	// with a Bedrock exception code (ModelStreamErrorException for an
	// upstream that failed mid-stream), or the context's error.
	Next() (*converse.StreamEvent, error)
	// Close releases the stream (and the upstream connection) early; it is
	// safe to call after Next returned an error, and more than once.
	Close() error
}

// Buffered is implemented by streams that can tell whether their next
// event is already in hand (decoded, or complete in the read buffer), so
// that Next would return without waiting for the upstream. The gateway
// then gathers the bytes of events that arrived together and writes them
// with one write and one flush, instead of one per event.
type Buffered interface {
	Buffered() bool
}

// EventStream adapts a complete list of events to Stream, for providers
// whose upstream cannot stream: the whole answer arrives, then is replayed.
type EventStream struct {
	Events []converse.StreamEvent
	next   int
}

// Next returns the next event, then io.EOF.
func (s *EventStream) Next() (*converse.StreamEvent, error) {
	if s.next >= len(s.Events) {
		return nil, io.EOF
	}
	s.next++
	return &s.Events[s.next-1], nil
}

// Close does nothing.
func (s *EventStream) Close() error { return nil }

// Buffered implements Buffered: every event is in hand.
func (s *EventStream) Buffered() bool { return s.next < len(s.Events) }

// NativeInvoker is implemented by providers that accept Bedrock's native
// InvokeModel bodies unchanged (the Bedrock provider). When the requested
// model's family is the target model's family, the front door passes the
// caller's body through untouched instead of translating it to Converse
// and back, so nothing is lost and nothing is re-encoded.
type NativeInvoker interface {
	// InvokeModel sends body as an InvokeModel request and returns the
	// response body as the upstream sent it.
	InvokeModel(ctx context.Context, call Call, req *NativeRequest) (*NativeResponse, error)
	// InvokeModelWithResponseStream sends body as an
	// InvokeModelWithResponseStream request. Failures before the first
	// chunk are returned here.
	InvokeModelWithResponseStream(ctx context.Context, call Call, req *NativeRequest) (NativeStream, error)
}

// NativeRequest is an InvokeModel request in the model's native format.
type NativeRequest struct {
	Body []byte
	// ContentType and Accept are the caller's headers (default
	// application/json).
	ContentType, Accept string
	// Headers are further X-Amzn-Bedrock-* request headers to forward
	// (trace, guardrail, performance config, service tier), canonical keys.
	Headers map[string]string
}

// NativeResponse is an upstream InvokeModel response.
type NativeResponse struct {
	Body        []byte
	ContentType string
	// Usage comes from the upstream's X-Amzn-Bedrock-*-Token-Count
	// headers.
	InputTokens, OutputTokens                   int
	CacheReadInputTokens, CacheWriteInputTokens int
	// ServiceTier and PerformanceLatency are the upstream's
	// X-Amzn-Bedrock-Service-Tier and -PerformanceConfig-Latency response
	// headers: the tier and latency mode that served the call, which can
	// differ from the ones asked for; "" when the upstream sent none.
	ServiceTier, PerformanceLatency string
}

// NativeStream is an upstream InvokeModelWithResponseStream response.
type NativeStream interface {
	// Next returns the next chunk: the decoded bytes of one chunk event (a
	// native JSON object, the last one carrying
	// amazon-bedrock-invocationMetrics), then io.EOF. Errors are
	// *apierror.Error values named after the stream's exception events.
	Next() ([]byte, error)
	// ContentType is the upstream's X-Amzn-Bedrock-Content-Type.
	ContentType() string
	// Close releases the upstream connection.
	Close() error
}

// TierReporter is implemented by native streams whose upstream named, in
// its initial response headers, the service tier and latency mode serving
// the call ("" for one it did not name).
type TierReporter interface {
	ServedTier() (tier, latency string)
}

// Collect reads a stream to its end and returns its events; the error is
// the one that ended the stream early (nil when it ended with io.EOF).
func Collect(st Stream) ([]converse.StreamEvent, error) {
	var evs []converse.StreamEvent
	for {
		ev, err := st.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, *ev)
	}
}

// TokenCounter is implemented by providers that can count a request's input
// tokens without running it (Bedrock's CountTokens, Anthropic's
// count_tokens, the simulator's own tokenizer). The count is the number of
// input tokens a Converse call with the same request would be billed for,
// cache reads and writes included.
type TokenCounter interface {
	CountTokens(ctx context.Context, call Call, req *converse.Request) (int, error)
}

// TierCarrier is implemented by providers that pass a request's
// serviceTier and performanceConfig on to the model (Bedrock, the
// simulator). A call served by any other provider runs on its upstream's
// own default, whatever was asked, and is recorded and priced so.
type TierCarrier interface {
	CarriesServiceTier()
}
