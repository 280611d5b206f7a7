package openaiapi

import (
	"encoding/json"
	"net/http"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/openai"
	"github.com/modelwatch/modelwatch/internal/invocation"
	"github.com/modelwatch/modelwatch/internal/provider"
)

// serveEmbeddings serves POST /v1/embeddings.
func (h *Handler) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req *openai.EmbeddingRequest
	call, release, err := h.begin(w, r, invocation.Embeddings, func(body []byte) (string, error) {
		var err error
		req, err = openai.DecodeEmbeddingRequest(body)
		if err != nil {
			return "", err
		}
		return req.Model, nil
	})
	defer release()
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	call.SetRequestMetadata(requestMetadata(nil, req.User))
	model, err := resolve(call, req.Model)
	if err == nil && !model.Embedding() {
		err = openai.NewRequestError("model", "The model `%s` does not produce embeddings: use an embedding model.", model.ID)
	}
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	er := &provider.EmbedRequest{Inputs: req.Input, Normalize: true}
	if req.Dimensions != nil {
		er.Dimensions = *req.Dimensions
	}
	resp, err := call.Embed(ctx, er)
	if err == nil && len(resp.Embeddings) != len(req.Input) {
		err = &apierror.Error{Code: apierror.ModelError, OriginalStatusCode: 200, ResourceName: model.ID,
			Message: "The model returned a different number of embeddings than inputs."}
	}
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	out := openai.EmbeddingResponse{
		Object: openai.ObjectList,
		Data:   make([]openai.Embedding, len(resp.Embeddings)),
		Model:  model.ID,
		Usage:  openai.EmbeddingUsage{PromptTokens: resp.InputTokens, TotalTokens: resp.InputTokens},
	}
	b64 := req.EncodingFormat == openai.EncodingBase64
	for i, v := range resp.Embeddings {
		out.Data[i] = openai.Embedding{Object: openai.ObjectEmbedding, Index: i, Embedding: openai.Vector{Values: v, Base64: b64}}
	}
	body, err := json.Marshal(out)
	if err != nil {
		h.fail(ctx, w, call, err)
		return
	}
	h.succeed(ctx, w, call, body)
}
