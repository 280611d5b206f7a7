package provider

import (
	"context"

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
	// Embed computes embeddings.
	Embed(ctx context.Context, call Call, req *EmbedRequest) (*EmbedResponse, error)
}

// EmbedRequest asks for one embedding per input text.
type EmbedRequest struct {
	// Inputs are the texts to embed (at least one).
	Inputs []string
	// Dimensions is the requested vector length; 0 means the model default.
	Dimensions int
	// Normalize asks for unit-length vectors.
	Normalize bool
}

// EmbedResponse holds one vector per input, in input order.
type EmbedResponse struct {
	Embeddings  [][]float32
	InputTokens int
}
