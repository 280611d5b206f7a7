package anthropicapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/anthropic"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/gateway"
	"github.com/modelwatch/modelwatch/internal/provider"
	"github.com/modelwatch/modelwatch/internal/translate"
)

// countTokens serves POST /v1/messages/count_tokens. As with Bedrock's
// CountTokens, a count is not a model invocation: no Invocation record,
// no metrics, no cost. The caller needs bedrock:CountTokens on the
// model's ARN; the model's provider counts (provider.TokenCounter).
func (h *Handler) countTokens(w http.ResponseWriter, r *http.Request) {
	reqID := requestID(uuid.NewString())
	w.Header().Set(headerRequestID, reqID)
	body, id, release, err := h.gw.ControlHeld(w, r, h.opts.Bodies, h.opts.MaxRequestBytes, "", "")
	defer release()
	if err == nil {
		var n int
		n, err = h.count(r, id, reqID, body)
		if err == nil {
			out, _ := json.Marshal(anthropic.CountTokensResponse{InputTokens: n})
			gateway.WriteJSON(w, http.StatusOK, out)
			return
		}
	}
	if r.Context().Err() != nil {
		return // the caller went away
	}
	e, status, out := h.errorReply(err, reqID)
	if e.Cause != nil {
		h.opts.Logger.Warn("count tokens failed", "request_id", reqID, "error_code", e.Code, "cause", e.Cause)
	}
	gateway.WriteJSON(w, status, out)
}

// count decodes the body, resolves and authorizes the model, applies the
// model policy and asks the provider for the count.
func (h *Handler) count(r *http.Request, id auth.Identity, reqID string, body []byte) (int, error) {
	ctx := r.Context()
	req, err := translate.DecodeCountTokensRequest(body)
	if err != nil {
		return 0, err
	}
	cat := h.gw.Catalog()
	name, ok := h.names.resolve(cat, req.Model)
	if !ok {
		return 0, notFound(req.Model)
	}
	res, err := cat.Resolve(name)
	if err != nil {
		return 0, notFound(req.Model)
	}
	if err := h.gw.Authorize(r, id, auth.ActionCountTokens, cat.ModelARN(res)); err != nil {
		return 0, err
	}
	model := res.Model
	tc, counts := h.gw.Provider(model.Provider).(provider.TokenCounter)
	if !counts || model.Embedding() {
		return 0, invalid("model: %s does not support token counting", req.Model)
	}
	creq, err := translate.MessagesToConverse(req)
	if err != nil {
		return 0, err
	}
	if err := gateway.CheckChat(model, creq, false); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, model.Timeout)
	defer cancel()
	n, err := tc.CountTokens(ctx, provider.Call{RequestID: reqID, ModelID: model.ID, UpstreamModel: model.UpstreamModel}, creq)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, &apierror.Error{Code: apierror.InternalServer, Message: "Internal server error",
			Cause: fmt.Errorf("provider %s counted %d tokens for %s", model.Provider, n, model.ID)}
	}
	return n, nil
}
