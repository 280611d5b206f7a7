package openaiapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// serveEmbeddings serves POST /v1/embeddings through the gateway's
// request loop.
func (h *Handler) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	h.gw.Serve(w, r, &embeddingsDoor{h: h})
}

// embeddingsDoor is the embeddings wire, for one call; it keeps the body
// as the caller sent it, for upstreams that speak the same wire.
type embeddingsDoor struct {
	h    *Handler
	req  *openai.EmbeddingRequest
	body []byte
}

// Describe implements gateway.Door.
func (d *embeddingsDoor) Describe() gateway.DoorInfo {
	return gateway.DoorInfo{API: invocation.APIOpenAI, Operation: invocation.Embeddings,
		RequestIDHeader: headerRequestID, MaxRequestBytes: d.h.opts.MaxRequestBytes, Bodies: d.h.opts.Bodies}
}

// Decode implements gateway.Door. Translated vectors are normalized, as
// OpenAI's are; a passed-through answer's are the upstream's own.
func (d *embeddingsDoor) Decode(_ *http.Request, body []byte, _ *catalog.Model) (*gateway.Request, error) {
	req, err := openai.DecodeEmbeddingRequest(body)
	if err != nil {
		return nil, err
	}
	d.req, d.body = req, body
	er := &provider.EmbedRequest{Inputs: req.Input, Normalize: true}
	if req.Dimensions != nil {
		er.Dimensions = *req.Dimensions
	}
	return &gateway.Request{Model: req.Model, Embed: er, Metadata: requestMetadata(nil, req.User)}, nil
}

// Pass implements gateway.Passer: a provider that speaks the embeddings
// API (the OpenAI provider) gets the caller's body untranslated, and its
// answer goes back as it came: the upstream's vectors in the encoding
// asked for, never parsed nor re-encoded here.
func (d *embeddingsDoor) Pass(ctx context.Context, t gateway.Target, _ *gateway.Exchange) (*provider.Passed, bool, error) {
	ei, ok := t.Provider.(provider.EmbeddingsInvoker)
	if !ok {
		return nil, false, nil
	}
	resp, err := ei.Embeddings(ctx, t.Call, &provider.EmbeddingsRequest{Body: d.body, Model: d.req.Model, Inputs: len(d.req.Input)})
	return resp, true, err
}

// PassStream implements gateway.Passer; embeddings do not stream.
func (d *embeddingsDoor) PassStream(context.Context, gateway.Target, *gateway.Exchange) (provider.RawStream, bool, error) {
	return nil, false, nil
}

// EncodeEmbed implements gateway.EmbedEncoder: float arrays, or base64
// when the request asks for encoding_format base64 (the SDK default).
func (d *embeddingsDoor) EncodeEmbed(x *gateway.Exchange, resp *provider.EmbedResponse) ([]byte, error) {
	out := openai.EmbeddingResponse{
		Object: openai.ObjectList,
		Data:   make([]openai.Embedding, len(resp.Embeddings)),
		Model:  x.Model.ID,
		Usage:  openai.EmbeddingUsage{PromptTokens: resp.InputTokens, TotalTokens: resp.InputTokens},
	}
	b64 := d.req.EncodingFormat == openai.EncodingBase64
	for i, v := range resp.Embeddings {
		out.Data[i] = openai.Embedding{Object: openai.ObjectEmbedding, Index: i, Embedding: openai.Vector{Values: v, Base64: b64}}
	}
	return json.Marshal(out)
}

// Encode implements gateway.Door; an embedding call has no chat answer.
func (d *embeddingsDoor) Encode(*gateway.Exchange, *converse.Response) ([]byte, error) {
	return nil, errors.New("openaiapi: embeddings have no chat answer")
}

// Stream implements gateway.Door; embeddings do not stream.
func (d *embeddingsDoor) Stream(*gateway.Exchange, http.Header) gateway.StreamEncoder { return nil }

// Error implements gateway.Door.
func (d *embeddingsDoor) Error(err error, _ http.Header) (*apierror.Error, int, []byte) {
	var unknown *gateway.UnknownModelError
	var pe *gateway.PolicyError
	switch {
	case errors.As(err, &unknown):
		err = modelNotFound(unknown.Model)
	case errors.As(err, &pe):
		err = openai.NewRequestError("model", "The model `%s` does not produce embeddings: use an embedding model.", pe.Model)
	default:
		err = d.h.bodyError(err)
	}
	return errorReply(err)
}

// SendsRetryAfter implements gateway.RetryAfterer: the API's clients read
// Retry-After on a 429.
func (d *embeddingsDoor) SendsRetryAfter() bool { return true }
