package bedrockapi

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/apischema/converse"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/gateway"
)

// converse serves Converse and returns the response body.
func (h *Handler) converse(ctx context.Context, call *gateway.Call, model *catalog.Model, body []byte) ([]byte, error) {
	req, err := converse.Decode(body)
	if err != nil {
		return nil, err
	}
	call.SetRequestMetadata(req.RequestMetadata)
	if err := checkModelSupports(model, req); err != nil {
		return nil, err
	}
	resp, err := call.Converse(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.Metrics.LatencyMs = time.Since(call.Start()).Milliseconds()
	return json.Marshal(resp)
}

// checkModelSupports applies the checks Bedrock makes once it knows the
// model, and sets the model's default output budget when the request has
// none (the provider always receives an explicit maxTokens).
func checkModelSupports(m *catalog.Model, req *converse.Request) error {
	if m.Embedding() {
		return apierror.New(apierror.Validation, "This action doesn't support the model that you provided. Try again with a supported text or chat model.")
	}
	if req.InferenceConfig == nil {
		req.InferenceConfig = &converse.InferenceConfig{}
	}
	ic := req.InferenceConfig
	if ic.MaxTokens == nil {
		n := m.DefaultMaxTokens
		ic.MaxTokens = &n
	} else if *ic.MaxTokens > m.MaxOutputTokens {
		return apierror.New(apierror.Validation, "The maximum tokens you requested exceeds the model limit of %d. Try again with a maximum tokens value that is lower than %d.", m.MaxOutputTokens, m.MaxOutputTokens)
	}
	if len(req.System) > 0 && !m.SystemPrompt {
		return apierror.New(apierror.Validation, "This model doesn't support system messages. Try again without a system message.")
	}
	usesTools := req.ToolConfig != nil
	usesImages := false
	for _, msg := range req.Messages {
		for _, b := range msg.Content {
			usesTools = usesTools || b.ToolUse != nil || b.ToolResult != nil
			usesImages = usesImages || b.Image != nil
		}
	}
	if usesTools && !m.Tools {
		return apierror.New(apierror.Validation, "This model doesn't support tool use.")
	}
	if usesImages && !slices.Contains(m.InputModalities, "IMAGE") {
		return apierror.New(apierror.Validation, "This model doesn't support the image content block that you provided. Try again with a supported content block.")
	}
	return nil
}
